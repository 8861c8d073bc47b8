//! `lxc`: LXC's `lxc-start -F` (foreground) of a generated config on the run's rootfs,
//! the probe as the container's init.
//!
//! Not `lxc-execute`: it runs LXC's own `init.lxc` as PID 1 and the command as its child,
//! so the payload would be PID 2; with `lxc.init.cmd` the probe is PID 1, as in every
//! other container subject. Config (`lxc.container.conf(5)`), written per launch (phase
//! `config`): `lxc.uts.name = isobench`, `lxc.rootfs.path = dir:ROOTFS`,
//! `lxc.net.0.type = empty` (a network namespace with `lo` only), `lxc.mount.auto =
//! proc:mixed`, no ttys or console, `lxc.apparmor.profile = unconfined` (LXC's generated
//! profile needs apparmor_parser and a kernel with AppArmor; the other subjects run
//! unconfined too), `lxc.init.cmd = /isobench-probe MODE`, and the cgroups under a
//! per-run parent: `lxc.cgroup.dir.container = RUN-lxc/ID`, `lxc.cgroup.dir.monitor =
//! RUN-lxc/ID.monitor`, `lxc.cgroup.dir.monitor.pivot = RUN-lxc/pivot` (without the
//! last, LXC leaves an `lxc.pivot` cgroup in every hierarchy of the host). LXC passes
//! only stdio, so the probe prints its `ISOBENCH-READY` line on `lxc-start`'s stdout.
//!
//! Timer: `t0` before the config is written; `ready` = the marker line read; `total` =
//! `lxc-start` reaped (it waits for the container and removes its cgroups).
//! Footprint: `payload_*` = lxc-start's descendants (the container's init), `runtime_*`
//! = lxc-start (the monitor), `cgroup_memory` = the container cgroup's usage.
//!
//! Cleanup: the per-run parent cgroup of every hierarchy is `Resource::Cgroup` (removal
//! kills what is in it, children first), LXC's lock directory for the run's lxcpath
//! (`/run/lxc/lock/<lxcpath>`) is `Resource::Dir`, both registered in `prepare` before
//! they exist. A killed `lxc-start` takes its payload with it (LXC sets the parent-death
//! signal) but leaves the container's cgroups: teardown removes them.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cgroup::mounts::{cgroup_memory_of, cgroup_mounts};
use crate::cleanup::{Guard, Resource};
use crate::measure::{LineWaiter, MarkerError};
use crate::probe::ProbeMode;
use crate::subject::child::{log_tail, status_text, wait_any_pid, wait_pid_deadline};
use crate::sys;
use crate::workdir::Env;

/// The marker the probe prints on stdout when it has no ready fd.
const READY_LINE: &str = "ISOBENCH-READY";

/// Where LXC keeps its locks, under the lxcpath's own path.
const LOCK_ROOT: &str = "/run/lxc/lock";

/// How long teardown waits for a killed lxc-start and payload to be gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// How long `wait_exit` reads the rest of the payload's stdout after lxc-start exited.
const OUTPUT_PATIENCE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum LxcError {
    #[error("writing the LXC config {path}: {source}")]
    Config {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("removing the LXC cgroup {path}: {source}")]
    RemoveCgroup {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Default)]
pub struct Lxc {
    binary: Option<PathBuf>,
    version: Option<String>,
    prep: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    rootfs: PathBuf,
    /// `-P`: LXC's container directory (nothing is created in it with `-f`).
    lxcpath: PathBuf,
    configs: PathBuf,
    /// `RUN-lxc`: the per-run parent cgroup's name in every hierarchy.
    cgroup_parent: String,
    prefix: String,
    next: u64,
    _guards: Vec<Guard>,
}

impl Lxc {
    fn binary(&self) -> Option<PathBuf> {
        self.binary
            .clone()
            .or_else(|| crate::subprocess::which("lxc-start"))
    }
}

/// The config of container `id` running the probe in `mode` (see the module doc).
pub fn config_text(rootfs: &Path, cgroup_parent: &str, id: &str, mode: &ProbeMode) -> String {
    let mut init = vec![crate::subject::rootfs::PROBE_IN_ROOTFS.to_string()];
    init.extend(mode.args());
    format!(
        "lxc.uts.name = isobench\n\
         lxc.rootfs.path = dir:{}\n\
         lxc.net.0.type = empty\n\
         lxc.mount.auto = proc:mixed\n\
         lxc.apparmor.profile = unconfined\n\
         lxc.tty.max = 0\n\
         lxc.pty.max = 0\n\
         lxc.console.path = none\n\
         lxc.environment = PATH=/bin\n\
         lxc.init.cmd = {}\n\
         lxc.cgroup.dir.container = {cgroup_parent}/{id}\n\
         lxc.cgroup.dir.monitor = {cgroup_parent}/{id}.monitor\n\
         lxc.cgroup.dir.monitor.pivot = {cgroup_parent}/pivot\n",
        rootfs.display(),
        init.join(" "),
    )
}

/// LXC mirrors an lxcpath under its lock root: the work directory's mirror is ours.
fn lock_mirror(workdir: &Path) -> PathBuf {
    Path::new(LOCK_ROOT).join(workdir.strip_prefix("/").unwrap_or(workdir))
}

impl Subject for Lxc {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Lxc
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        crate::subject::child::require_root_launcher(
            env,
            self.binary().is_some(),
            "lxc-start",
            "lxc",
            "lxc-start of a privileged container needs root (unprivileged LXC needs idmaps, not configured)",
        )
    }

    /// The generated rootfs directory, bind-mounted as the container's `/` (`lxc.rootfs.path = dir:`).
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        Some(super::WorkloadStorage::new(
            super::WorkloadDir::InSubject(super::rootfs::WORKLOAD_DIR),
            "bind",
        ))
    }

    fn describe(&self) -> Description {
        let version = self.version.clone().or_else(|| {
            crate::subprocess::version_line("lxc-start", &["--version"])
                .map(|l| crate::subprocess::extract_version(&l))
        });
        Description {
            name: "lxc".into(),
            class: "container",
            phrase: "an LXC container".into(),
            version,
            method: "lxc-start -F -f CONFIG of a generated config on the isobench rootfs (lxc.init.cmd = the probe, lxc.net.0.type = empty, cgroups under a per-run parent); ready = ISOBENCH-READY line on lxc-start's stdout; total = lxc-start reaped".into(),
        }
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        if self.prep.is_some() {
            return Ok(());
        }
        let binary = self.binary().ok_or_else(|| {
            SubjectError::Unsupported(Unavailable::new(
                "lxc-start is not installed",
                "apt-get install lxc",
            ))
        })?;
        self.version = crate::subprocess::version_line(&binary.to_string_lossy(), &["--version"])
            .map(|l| crate::subprocess::extract_version(&l));
        self.binary = Some(binary);
        let rootfs = crate::subject::rootfs::get(env)?;
        let run_name = env
            .workdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("isobench-{}", std::process::id()));
        let cgroup_parent = format!("{run_name}-lxc");
        let mut guards = Vec::new();
        for mp in cgroup_mounts() {
            guards.push(env.cleanup.register(Resource::Cgroup {
                path: mp.join(&cgroup_parent),
            })?);
        }
        guards.push(env.cleanup.register(Resource::Dir {
            path: lock_mirror(&env.workdir),
        })?);
        self.prep = Some(Prepared {
            rootfs,
            lxcpath: env.subdir("lxc")?,
            configs: env.subdir("lxc-configs")?,
            cgroup_parent,
            prefix: format!("{run_name}-lxc"),
            next: 0,
            _guards: guards,
        });
        Ok(())
    }

    fn launch(
        &mut self,
        _env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        let binary = self
            .binary
            .as_ref()
            .map(|b| b.to_string_lossy().into_owned())
            .ok_or(SubjectError::NotPrepared { subject: "lxc" })?;
        let prep = self
            .prep
            .as_mut()
            .ok_or(SubjectError::NotPrepared { subject: "lxc" })?;
        prep.next += 1;
        let id = format!("{}-{}", prep.prefix, prep.next);
        let t_config = Instant::now();
        let config = prep.configs.join(format!("{id}.conf"));
        fs::write(
            &config,
            config_text(&prep.rootfs, &prep.cgroup_parent, &id, mode),
        )
        .map_err(|source| {
            SubjectError::from(LxcError::Config {
                path: config.clone(),
                source,
            })
        })?;
        let config_time = t_config.elapsed();
        let log = prep.configs.join(format!("{id}.log"));
        let argv: Vec<String> = vec![
            binary.clone(),
            "-n".into(),
            id.clone(),
            "-P".into(),
            prep.lxcpath.to_string_lossy().into_owned(),
            "-f".into(),
            config.to_string_lossy().into_owned(),
            "-F".into(),
        ];
        let (out_rd, out_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let null = File::open("/dev/null").map_err(|e| SubjectError::io("open /dev/null", e))?;
        let log_f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| SubjectError::file("open", &log, e))?;
        let envp = vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
        let pid = sys::spawn::spawn_mapped(
            &binary,
            &argv,
            &envp,
            &[
                (null.as_raw_fd(), 0),
                (out_wr.as_raw_fd(), 1),
                (log_f.as_raw_fd(), 2),
            ],
        )
        .map_err(|source| SubjectError::Spawn {
            command: argv.join(" "),
            source,
        })?;
        drop(out_wr);
        Ok(Box::new(LxcInstance {
            pid,
            reaped: false,
            exited: false,
            out: LineWaiter::new(File::from(out_rd)),
            log,
            cgroups: cgroup_mounts()
                .into_iter()
                .flat_map(|mp| {
                    let parent = mp.join(&prep.cgroup_parent);
                    [parent.join(&id), parent.join(format!("{id}.monitor"))]
                })
                .collect(),
            phases: vec![("config".into(), config_time)],
            torn_down: false,
        }))
    }

    fn finish(&mut self, env: &Env) -> Result<(), SubjectError> {
        // Dropping the guards removes the per-run parent cgroups and the lock mirror.
        self.prep = None;
        // LXC made the mirror's parents too (`/run/lxc/lock/var/tmp`): removed when
        // empty, left to whoever else uses them otherwise.
        let mut dir = lock_mirror(&env.workdir);
        while dir.pop() && dir != Path::new(LOCK_ROOT) && dir.starts_with(LOCK_ROOT) {
            if fs::remove_dir(&dir).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// One running lxc-start.
#[derive(Debug)]
pub struct LxcInstance {
    pid: i32,
    reaped: bool,
    exited: bool,
    out: LineWaiter<File>,
    log: PathBuf,
    /// The container's and its monitor's cgroup in every hierarchy (LXC makes them).
    cgroups: Vec<PathBuf>,
    phases: Vec<(String, Duration)>,
    torn_down: bool,
}

impl LxcInstance {
    /// The container's processes: lxc-start's descendants, lxc-start left out.
    fn payload_pids(&self) -> Vec<i32> {
        crate::measure::footprint::descendants(self.pid)
            .into_iter()
            .filter(|p| *p != self.pid)
            .collect()
    }
}

impl Instance for LxcInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match self.out.wait_for(READY_LINE, deadline) {
            Ok(t) => Ok(t),
            Err(MarkerError::Eof(s)) => Err(SubjectError::Marker(MarkerError::Eof(format!(
                "{s}; lxc-start said: {}",
                log_tail(&self.log)
            )))),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = wait_pid_deadline(self.pid, deadline);
        self.reaped = true;
        let r = r?;
        let at = Instant::now();
        self.exited = true;
        if r.code != Some(0) {
            return Err(SubjectError::PayloadFailed(format!(
                "lxc-start: {}; output: {}",
                status_text(r.code, r.signal),
                log_tail(&self.log)
            )));
        }
        let _ = self.out.read_to_end(Instant::now() + OUTPUT_PATIENCE);
        let mut output = self.out.text.clone();
        output.push_str(&fs::read_to_string(&self.log).unwrap_or_default());
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output,
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let deadline = Instant::now() + KILL_WAIT;
        let payload = if self.exited {
            Vec::new()
        } else {
            self.payload_pids()
        };
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = wait_pid_deadline(self.pid, deadline);
            self.reaped = true;
        }
        // LXC removes its cgroups when it exits normally; after a kill they stay, and
        // whatever is still in them goes.
        let mut left = payload;
        for dir in &self.cgroups {
            if let Ok(t) = fs::read_to_string(dir.join("cgroup.procs")) {
                left.extend(t.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
        for p in &left {
            let _ = sys::process::kill(*p, libc::SIGKILL);
        }
        for p in left {
            let _ = wait_any_pid(p, deadline);
        }
        let mut result = Ok(());
        for dir in &self.cgroups {
            if let Err(e) = remove_cgroup_dir(dir, deadline) {
                result = Err(e);
            }
        }
        result
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        self.phases.clone()
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let payload = self.payload_pids();
        let mut out = crate::measure::footprint::of_pids(&payload).metrics("payload");
        if !self.reaped {
            out.extend(crate::measure::footprint::of_pids(&[self.pid]).metrics("runtime"));
        }
        if let Some(m) = payload.first().and_then(|p| cgroup_memory_of(*p)) {
            out.push(("cgroup_memory".into(), m));
        }
        out
    }
}

/// rmdir a cgroup LXC made, retrying while its killed processes drain (EBUSY).
fn remove_cgroup_dir(dir: &Path, deadline: Instant) -> Result<(), SubjectError> {
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(source) => {
                return Err(SubjectError::from(LxcError::RemoveCgroup {
                    path: dir.to_path_buf(),
                    source,
                }))
            }
        }
    }
}

impl Drop for LxcInstance {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: lxc-start: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_runs_the_probe_as_init_without_network() {
        let c = config_text(
            Path::new("/w/rootfs"),
            "isobench-1-x-lxc",
            "isobench-1-x-lxc-3",
            &ProbeMode::Ready,
        );
        assert!(c.contains("lxc.init.cmd = /isobench-probe ready\n"), "{c}");
        assert!(c.contains("lxc.net.0.type = empty\n"), "{c}");
        assert!(c.contains("lxc.rootfs.path = dir:/w/rootfs\n"), "{c}");
        assert!(
            c.contains("lxc.cgroup.dir.container = isobench-1-x-lxc/isobench-1-x-lxc-3\n"),
            "{c}"
        );
        assert!(
            c.contains("lxc.cgroup.dir.monitor.pivot = isobench-1-x-lxc/pivot\n"),
            "{c}"
        );
    }
}

//! `nspawn`: systemd-nspawn running the probe as PID 1 of a container of the generated
//! rootfs (which carries `usr/` and `etc/os-release`, what nspawn checks an OS tree by;
//! see `subject::rootfs`).
//!
//! Launch: a fresh cgroup of the harness's (phase `cgroup`; registered before it is
//! made), then `systemd-nspawn` spawned into it with
//! `--register=no --keep-unit --quiet --private-network --read-only --hostname=isobench
//!  --machine=ID --console=pipe --resolv-conf=off --timezone=off --link-journal=no
//!  --directory=ROOTFS -- /isobench-probe MODE`. `--register=no --keep-unit` keep it away
//! from machined and systemd (the host need not run systemd as PID 1: here it is a
//! container inside a VM whose PID 1 is not systemd); `--console=pipe` hands the
//! container our stdout pipe. nspawn passes no extra fds, so the probe prints its
//! `ISOBENCH-READY` line on stdout.
//!
//! Timer: `t0` before the cgroup is made (harness); `ready` = the marker line read;
//! `total` = nspawn reaped (it waits for its payload and unmounts). Footprint: `payload_*`
//! = nspawn's descendants (the container's PID 1), `runtime_*` = nspawn itself,
//! `cgroup_memory` = the launch cgroup's memory usage.
//!
//! Under limits (`launch_limited`, the `throttle` scenario): the limits are written to the
//! launch cgroup before nspawn starts in it, so the payload runs under them from its
//! first instruction; nspawn's exit status then is a result (an OOM kill), not an error.
//!
//! Cleanup: the cgroup is `Resource::Cgroup` (its removal kills what is in it: a payload
//! survives a SIGKILLed nspawn, so killing nspawn is not enough), nspawn's per-machine
//! directory `/run/systemd/nspawn/propagate/ID` is journalled with the reserved machine
//! name, and its image locks (`.#rootfs.lck` beside the rootfs,
//! `/run/systemd/nspawn/locks/inode-DEV:INO`) in `prepare`: nspawn removes all of
//! them when it exits normally, not when it is killed.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cgroup::{AnyManager, CgroupManager};
use crate::cleanup::{Guard, Resource};
use crate::measure::{LineWaiter, MarkerError};
use crate::probe::ProbeMode;
use crate::subject::child::{log_tail, status_text, wait_any_pid, wait_pid_deadline};
use crate::subject::reserved_names::Slots;
use crate::sys;
use crate::workdir::Env;

/// The marker the probe prints on stdout when it has no ready fd.
const READY_LINE: &str = "ISOBENCH-READY";

/// Where nspawn keeps a directory per machine for mount propagation.
const PROPAGATE_DIR: &str = "/run/systemd/nspawn/propagate";

/// Where nspawn keeps its image locks by inode.
const LOCKS_DIR: &str = "/run/systemd/nspawn/locks";

/// How long teardown waits for a killed nspawn and payload to be gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// How long `wait_exit` reads the rest of the payload's stdout after nspawn exited.
const OUTPUT_PATIENCE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum NspawnError {
    #[error("stat of the rootfs {path}: {source}")]
    StatRootfs {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting {binary} in cgroup {cgroup}: {source}")]
    Spawn {
        binary: String,
        cgroup: String,
        source: sys::cgroup_spawn::SpawnInCgroupError,
    },
}

#[derive(Debug, Default)]
pub struct Nspawn {
    binary: Option<PathBuf>,
    version: Option<String>,
    prep: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    rootfs: PathBuf,
    logs: PathBuf,
    slots: Slots,
    _locks: Vec<Guard>,
}

/// `systemd-nspawn --version` prints `systemd 252 (252.39-1~deb12u2)`.
fn parse_version(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    (words.next() == Some("systemd"))
        .then(|| words.next().map(str::to_string))
        .flatten()
}

impl Nspawn {
    fn binary(&self) -> Option<PathBuf> {
        self.binary
            .clone()
            .or_else(|| crate::subprocess::which("systemd-nspawn"))
    }
}

impl Subject for Nspawn {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Nspawn
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        crate::subject::child::require_root_launcher(
            env,
            self.binary().is_some(),
            "systemd-nspawn",
            "systemd-container",
            "systemd-nspawn needs root for its namespaces and mounts",
        )
    }

    /// The generated rootfs directory, bind-mounted as the container's `/` (`--directory`; writable in the workload mode, see `command_line`).
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        Some(super::WorkloadStorage::new(
            super::WorkloadDir::InSubject(super::rootfs::WORKLOAD_DIR),
            "bind",
        ))
    }

    fn describe(&self) -> Description {
        let version = self.version.clone().or_else(|| {
            crate::subprocess::version_line("systemd-nspawn", &["--version"])
                .and_then(|l| parse_version(&l))
        });
        Description {
            name: "nspawn".into(),
            class: "container",
            phrase: "a systemd-nspawn container".into(),
            version,
            method: "systemd-nspawn --register=no --keep-unit --private-network --read-only --console=pipe -D ROOTFS /isobench-probe, spawned into a fresh cgroup; ready = ISOBENCH-READY line on nspawn's stdout; total = nspawn reaped".into(),
        }
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        if self.prep.is_some() {
            return Ok(());
        }
        let binary = self.binary().ok_or_else(|| {
            SubjectError::Unsupported(Unavailable::new(
                "systemd-nspawn is not installed",
                "apt-get install systemd-container",
            ))
        })?;
        self.version = crate::subprocess::version_line(&binary.to_string_lossy(), &["--version"])
            .and_then(|l| parse_version(&l));
        self.binary = Some(binary);
        let rootfs = crate::subject::rootfs::get(env)?;
        let meta = fs::metadata(&rootfs).map_err(|source| {
            SubjectError::from(NspawnError::StatRootfs {
                path: rootfs.clone(),
                source,
            })
        })?;
        let mut locks = Vec::new();
        let name = rootfs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for path in [
            rootfs.with_file_name(format!(".#{name}.lck")),
            Path::new(LOCKS_DIR).join(format!("inode-{}:{}", meta.dev(), meta.ino())),
        ] {
            locks.push(env.cleanup.register(Resource::File { path })?);
        }
        let run_name = env
            .workdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("isobench-{}", std::process::id()));
        let slots = Slots::new(
            env.cleanup.clone(),
            format!("{run_name}-nspawn"),
            Box::new(|id| {
                vec![Resource::Dir {
                    path: Path::new(PROPAGATE_DIR).join(id),
                }]
            }),
        )?;
        self.prep = Some(Prepared {
            rootfs,
            logs: env.subdir("nspawn-logs")?,
            slots,
            _locks: locks,
        });
        Ok(())
    }

    fn launch(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        Ok(Box::new(self.start(env, mode, None)?))
    }

    fn launch_limited(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
        limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        Ok(Box::new(self.start(env, mode, Some(limits))?))
    }

    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        // Dropping the pool forgets unused machine names; the lock guards remove the
        // image locks a killed nspawn left.
        self.prep = None;
        // nspawn makes its run directories on first use: removed when empty (another
        // nspawn user's entries keep them).
        for d in [PROPAGATE_DIR, LOCKS_DIR, "/run/systemd/nspawn"] {
            let _ = fs::remove_dir(d);
        }
        Ok(())
    }
}

impl Nspawn {
    /// One container (see the module doc); `limits` are written to its cgroup before
    /// nspawn is started in it.
    fn start(
        &mut self,
        env: &Env,
        mode: &ProbeMode,
        limits: Option<&crate::subject::limits::Limits>,
    ) -> Result<NspawnInstance, SubjectError> {
        let binary = self
            .binary
            .as_ref()
            .map(|b| b.to_string_lossy().into_owned())
            .ok_or(SubjectError::NotPrepared { subject: "nspawn" })?;
        let prep = self
            .prep
            .as_ref()
            .ok_or(SubjectError::NotPrepared { subject: "nspawn" })?;
        let mut slot = prep.slots.take()?;
        let t_cgroup = Instant::now();
        let mut cgroup = AnyManager::create(&env.cleanup, &format!("{}-cg", slot.id))?;
        if let Some(l) = limits {
            if let Err(e) = cgroup.apply(l) {
                let _ = cgroup.remove();
                return Err(e.into());
            }
        }
        let cgroup_time = t_cgroup.elapsed();
        let argv = command_line(&binary, &prep.rootfs, &slot.id, mode);
        let log = prep.logs.join(format!("{}.log", slot.id));
        let (out_rd, out_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let null = File::open("/dev/null").map_err(|e| SubjectError::io("open /dev/null", e))?;
        let log_f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| SubjectError::file("open", &log, e))?;
        let envp = vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
        let spawned = sys::cgroup_spawn::spawn_in_cgroups(
            &binary,
            &argv,
            &envp,
            &[
                (null.as_raw_fd(), 0),
                (out_wr.as_raw_fd(), 1),
                (log_f.as_raw_fd(), 2),
            ],
            &cgroup.procs_files(),
        );
        drop(out_wr);
        let mut inst = NspawnInstance {
            pid: None,
            reaped: false,
            out: LineWaiter::new(File::from(out_rd)),
            log,
            cgroup,
            propagate: slot.guards.pop(),
            slots: prep.slots.clone(),
            phases: vec![("cgroup".into(), cgroup_time)],
            torn_down: false,
            exited: false,
            any_exit_ok: limits.is_some(),
        };
        match spawned {
            Ok(pid) => inst.pid = Some(pid),
            Err(source) => {
                let cgroup = inst.cgroup.paths().first().map(|p| p.display().to_string());
                return Err(SubjectError::from(NspawnError::Spawn {
                    binary,
                    cgroup: cgroup.unwrap_or_default(),
                    source,
                }));
            }
        }
        Ok(inst)
    }
}

/// The nspawn command line (program first).
pub fn command_line(binary: &str, rootfs: &Path, machine: &str, mode: &ProbeMode) -> Vec<String> {
    let mut argv: Vec<String> = [
        binary,
        "--register=no",
        "--keep-unit",
        "--quiet",
        "--private-network",
        "--hostname=isobench",
        "--console=pipe",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Read-only like runc's bundle, except for the workload mode, which writes into its
    // own root filesystem (fileio, sqlite).
    if !matches!(mode, ProbeMode::Workload(_)) {
        argv.insert(5, "--read-only".into());
    }
    argv.push(format!("--machine={machine}"));
    argv.push(format!("--directory={}", rootfs.display()));
    argv.push("--".into());
    argv.push(crate::subject::rootfs::PROBE_IN_ROOTFS.into());
    argv.extend(mode.args());
    argv
}

/// The payload's end as nspawn reports it on stderr: "Container NAME terminated by
/// signal KILL." or "Container NAME failed with error code 3." (nspawn itself then exits
/// 1): `(code, signal)`.
fn payload_status(log: &str) -> Option<(Option<i32>, Option<i32>)> {
    for line in log.lines() {
        if let Some((_, sig)) = line.split_once(" terminated by signal ") {
            let num = match sig.trim().trim_end_matches('.') {
                "KILL" => libc::SIGKILL,
                "TERM" => libc::SIGTERM,
                "INT" => libc::SIGINT,
                "HUP" => libc::SIGHUP,
                "ABRT" => libc::SIGABRT,
                "SEGV" => libc::SIGSEGV,
                "BUS" => libc::SIGBUS,
                _ => continue,
            };
            return Some((None, Some(num)));
        }
        if let Some((_, code)) = line.split_once(" failed with error code ") {
            if let Ok(c) = code.trim().trim_end_matches('.').parse::<i32>() {
                return Some((Some(c), None));
            }
        }
    }
    None
}

/// One running systemd-nspawn.
pub struct NspawnInstance {
    pid: Option<i32>,
    reaped: bool,
    out: LineWaiter<File>,
    log: PathBuf,
    cgroup: AnyManager,
    propagate: Option<Guard>,
    slots: Slots,
    phases: Vec<(String, Duration)>,
    torn_down: bool,
    exited: bool,
    /// Limited launches: a non-zero exit (an OOM kill of the payload) is a result.
    any_exit_ok: bool,
}

impl std::fmt::Debug for NspawnInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NspawnInstance")
            .field("pid", &self.pid)
            .finish()
    }
}

impl NspawnInstance {
    /// The container's processes: nspawn's descendants, nspawn itself left out.
    fn payload_pids(&self) -> Vec<i32> {
        let Some(pid) = self.pid else {
            return Vec::new();
        };
        crate::measure::footprint::descendants(pid)
            .into_iter()
            .filter(|p| *p != pid)
            .collect()
    }
}

impl Instance for NspawnInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match self.out.wait_for(READY_LINE, deadline) {
            Ok(t) => Ok(t),
            Err(MarkerError::Eof(s)) => Err(SubjectError::Marker(MarkerError::Eof(format!(
                "{s}; nspawn said: {}",
                log_tail(&self.log)
            )))),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let pid = self
            .pid
            .ok_or(SubjectError::NotPrepared { subject: "nspawn" })?;
        let r = wait_pid_deadline(pid, deadline);
        self.reaped = true;
        let mut r = r?;
        let at = Instant::now();
        self.exited = true;
        // nspawn exits 1 whatever ended the payload; its message says what did.
        if r.code == Some(1) {
            if let Some((code, signal)) =
                payload_status(&fs::read_to_string(&self.log).unwrap_or_default())
            {
                (r.code, r.signal) = (code, signal);
            }
        }
        if r.code != Some(0) && !self.any_exit_ok {
            return Err(SubjectError::PayloadFailed(format!(
                "systemd-nspawn: {}; output: {}",
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
        let mut result = Ok(());
        if !self.exited {
            // The payload outlives a killed nspawn: kill what is in the cgroup too, and
            // reap the payload if it was re-parented to us (a subreaper).
            let payload = self.payload_pids();
            if let Some(pid) = self.pid.filter(|_| !self.reaped) {
                let _ = sys::process::kill(pid, libc::SIGKILL);
                let _ = wait_pid_deadline(pid, deadline);
                self.reaped = true;
            }
            let mut left = self.cgroup.procs().unwrap_or_default();
            left.extend(payload);
            for p in &left {
                let _ = sys::process::kill(*p, libc::SIGKILL);
            }
            for p in left {
                let _ = wait_any_pid(p, deadline);
            }
        }
        if let Err(e) = self.cgroup.remove() {
            result = Err(e.into());
        }
        if let Some(g) = self.propagate.take() {
            if let Err(e) = g.release() {
                result = result.and(Err(e.into()));
            }
        }
        if let Err(e) = self.slots.refill() {
            result = result.and(Err(e.into()));
        }
        result
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        self.phases.clone()
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        out.extend(crate::measure::footprint::of_pids(&self.payload_pids()).metrics("payload"));
        if let Some(pid) = self.pid.filter(|_| !self.reaped) {
            out.extend(crate::measure::footprint::of_pids(&[pid]).metrics("runtime"));
        }
        if let Ok(s) = self.cgroup.stats() {
            out.push(("cgroup_memory".into(), s.memory.usage_bytes));
        }
        out
    }
}

/// Under limits (`throttle`): the launch cgroup is the harness's, read after nspawn
/// exited and before teardown removes it. It holds nspawn as well as the payload, so
/// nspawn's own work is charged to the limits too (a few ms of setup).
impl crate::subject::limits::LimitedInstance for NspawnInstance {
    fn cgroup_stats(&self) -> Result<crate::cgroup::Stats, SubjectError> {
        Ok(self.cgroup.stats()?)
    }

    fn cgroup_version(&self) -> &'static str {
        self.cgroup.version()
    }

    fn cpu_reader(&self) -> Option<crate::cgroup::CpuReader> {
        self.cgroup.cpu_reader().ok()
    }
}

impl Drop for NspawnInstance {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: systemd-nspawn: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_command_line() {
        assert_eq!(
            parse_version("systemd 252 (252.39-1~deb12u2)").as_deref(),
            Some("252")
        );
        assert_eq!(parse_version("bash: not found"), None);
        let argv = command_line(
            "/usr/bin/systemd-nspawn",
            Path::new("/w/rootfs"),
            "isobench-1-nspawn-1",
            &ProbeMode::Ready,
        );
        for a in [
            "--register=no",
            "--keep-unit",
            "--private-network",
            "--quiet",
        ] {
            assert!(argv.iter().any(|x| x == a), "{a} missing: {argv:?}");
        }
        assert!(argv.ends_with(&["--".into(), "/isobench-probe".into(), "ready".into()]));
    }

    #[test]
    fn payload_status_from_nspawn_messages() {
        assert_eq!(
            payload_status("Container isobench-t5 terminated by signal KILL.\n"),
            Some((None, Some(libc::SIGKILL)))
        );
        assert_eq!(
            payload_status("Container x failed with error code 3.\n"),
            Some((Some(3), None))
        );
        assert_eq!(
            payload_status("Attempted to remove disk file system\n"),
            None
        );
    }
}

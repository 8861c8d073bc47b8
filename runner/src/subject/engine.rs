//! Container engines (`docker`, `podman`) driven through their client, on an image built
//! locally from the run's rootfs (no registry is needed or contacted).
//!
//! Image (in `prepare`, untimed): `tar -C rootfs -cf rootfs.tar .`, then
//! `ENGINE import --change 'LABEL isobench=1' rootfs.tar isobench-probe:<run>`.
//!
//! Launch: `ENGINE run --rm --name N --network none --label isobench=1 IMAGE
//! /isobench-probe <mode args>` with the client's stdout on a pipe. The probe has no ready
//! fd there, so it prints `ISOBENCH-READY` on stdout, which the engine relays to the
//! client. Timer points: `t0` just before the client is spawned (the harness's); `ready`
//! when the marker line is read from the client's stdout (`measure::LineWaiter`); `total`
//! when the client exited and was reaped (`--rm`: the client waits for the container's
//! removal, so `total` includes it). So the figures are what a user of the CLI sees,
//! daemon/conmon round trips included.
//!
//! Footprint (at ready, probe in `hang` mode): `payload_rss`/`payload_pss` = the
//! container's init (`inspect .State.Pid`) and its descendants; `runtime_rss`/
//! `runtime_pss` = the engine's per-container resident process (the parent of the
//! container's init: containerd-shim for docker, conmon for podman); `client_rss`/
//! `client_pss` = the attached CLI process; `cgroup_memory` = the container's memory
//! cgroup usage. Out of scope: the long-running daemons' share (dockerd, containerd),
//! which serve every container and cannot be apportioned to one.
//!
//! Under limits (`launch_limited`, the `throttle` scenario): see `engine_limited`.
//!
//! Cleanup: the image is `Resource::EngineImage`, every container name
//! `Resource::EngineContainer` (registered ahead, see `slots`); both carry the label
//! `isobench=1`, which `isobench clean` (`clean_labelled`) also uses without a journal.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::slots::Slots;
use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cleanup::{Guard, Resource};
use crate::measure::LineWaiter;
use crate::probe::ProbeMode;
use crate::sys;
use crate::workdir::Env;

/// The label on every image and container isobench creates.
pub const LABEL: &str = "isobench=1";

/// The marker the probe prints on stdout when it has no ready fd.
pub const READY_LINE: &str = "ISOBENCH-READY";

/// How long teardown waits for a client to exit after its container was removed.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// Limit for `info`, `inspect` and the clean-up listing commands.
pub(super) const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// What differs between engines (see `docker.rs`, `podman.rs`).
#[derive(Debug, Clone)]
pub struct EngineQuirks {
    pub kind: SubjectKind,
    pub binary: &'static str,
    /// A noun phrase for the report's sentences ("a Docker container").
    pub phrase: &'static str,
    /// Global options (before the command) that make the engine work on this host.
    pub global_args: fn() -> Vec<String>,
    /// Extra `run` options that make the engine work on this host.
    pub run_args: fn() -> Vec<String>,
    /// `info --format` template naming the OCI runtime the engine uses.
    pub runtime_query: &'static str,
    /// Why `global_args`/`run_args` are what they are, for the report's method notes.
    pub notes: &'static str,
}

/// One container engine subject.
#[derive(Debug)]
pub struct Engine {
    q: EngineQuirks,
    path: Option<PathBuf>,
    version: Option<String>,
    oci_runtime: Option<String>,
    prep: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    image: String,
    logs: PathBuf,
    slots: Slots,
    run_name: String,
    /// `--cgroup-parent` of limited launches and its registrations (made on first use).
    limited_parent: Option<(String, Vec<Guard>)>,
    _image: Guard,
}

impl Engine {
    pub fn new(q: EngineQuirks) -> Engine {
        let path = crate::subprocess::which(q.binary);
        let version = path.as_ref().and_then(|_| {
            crate::subprocess::version_line(q.binary, &["--version"]).map(|l| {
                // "Docker version 28.2.2, build e6534b4" / "podman version 4.3.1"
                l.split_whitespace()
                    .skip_while(|w| *w != "version")
                    .nth(1)
                    .map(|v| v.trim_end_matches(',').to_string())
                    .unwrap_or(l)
            })
        });
        Engine {
            q,
            path,
            version,
            oci_runtime: None,
            prep: None,
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(self.q.binary);
        c.args((self.q.global_args)());
        // conmon (podman's monitor) writes a file named `oom` into its working directory
        // when a container is OOM-killed: keep that inside the run's work directory.
        if let Some(prep) = self.prep.as_ref().filter(|p| p.logs.is_dir()) {
            c.current_dir(&prep.logs);
        }
        c
    }
}

impl Subject for Engine {
    fn kind(&self) -> SubjectKind {
        self.q.kind
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        let b = self.q.binary;
        if self.path.is_none() {
            return Err(Unavailable::new(
                format!("`{b}` is not installed (not found on PATH)"),
                format!(
                    "install {b} (Debian: apt-get install {})",
                    debian_package(b)
                ),
            ));
        }
        if !env.is_root {
            return Err(Unavailable::new(
                format!("{b} is measured rootful (its daemon/storage of root)"),
                "run isobench as root (sudo isobench run ...)",
            ));
        }
        let mut c = self.command();
        c.args(["info", "--format", "{{json .}}"]);
        match crate::subprocess::run_ok(&mut c, QUERY_TIMEOUT) {
            Ok(_) => Ok(()),
            Err(e) => Err(Unavailable::new(
                format!("`{b} info` fails: {e}"),
                format!("start the {b} service (systemctl start {b}) and check `{b} info`"),
            )),
        }
    }

    fn describe(&self) -> Description {
        Description {
            name: self.q.binary.into(),
            class: "container",
            phrase: self.q.phrase.into(),
            version: self.version.clone(),
            method: format!(
                "`{} run --rm --network none` of an image imported from the isobench rootfs; ready = ISOBENCH-READY line on the client's stdout; total = client exit. {}",
                self.q.binary, self.q.notes
            ),
        }
    }

    fn clean_unjournalled(&self) -> Vec<String> {
        clean_labelled(self.q.binary)
    }

    fn labels(&self, _case: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        if let Some(r) = &self.oci_runtime {
            l.insert("oci_runtime".into(), r.clone());
        }
        l
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        if self.prep.is_some() {
            return Ok(());
        }
        let b = self.q.binary;
        let rootfs =
            crate::subject::rootfs::get(env).map_err(|e| SubjectError::Other(e.to_string()))?;
        let tar = env.workdir.join(format!("{b}-rootfs.tar"));
        crate::subprocess::run_ok(
            Command::new("tar")
                .arg("-C")
                .arg(&rootfs)
                .arg("-cf")
                .arg(&tar)
                .arg("."),
            env.timeouts.command,
        )?;
        let run_name = env
            .workdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("isobench-{}", std::process::id()));
        let image = format!("isobench-probe:{run_name}");
        let image_guard = env.cleanup.register(Resource::EngineImage {
            engine: b.into(),
            image: image.clone(),
        })?;
        let mut c = self.command();
        c.args(["import", "--change", &format!("LABEL {LABEL}")])
            .arg(&tar)
            .arg(&image);
        crate::subprocess::run_ok(&mut c, env.timeouts.command)?;
        let _ = fs::remove_file(&tar);
        let mut c = self.command();
        c.args(["info", "--format", self.q.runtime_query]);
        self.oci_runtime = crate::subprocess::run_ok(&mut c, QUERY_TIMEOUT)
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty());
        let logs = env.subdir(&format!("{b}-logs"))?;
        let engine = b.to_string();
        let slots = Slots::new(
            env.cleanup.clone(),
            format!("{run_name}-{b}"),
            Box::new(move |id| {
                vec![Resource::EngineContainer {
                    engine: engine.clone(),
                    id: id.to_string(),
                }]
            }),
        )?;
        self.prep = Some(Prepared {
            image,
            logs,
            slots,
            run_name,
            limited_parent: None,
            _image: image_guard,
        });
        Ok(())
    }

    fn launch(
        &mut self,
        _env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        let mut cmd = self.command();
        let b = self.q.binary;
        let prep = self
            .prep
            .as_mut()
            .ok_or_else(|| SubjectError::Other(format!("{b}: launch before prepare")))?;
        let mut slot = prep.slots.take()?;
        let name = slot.id.clone();
        let guard = slot.guards.pop();
        let stderr_path = prep.logs.join(format!("{name}.stderr"));
        let stderr = File::create(&stderr_path)
            .map_err(|e| SubjectError::io(format!("create {}", stderr_path.display()), e))?;
        cmd.args(["run", "--rm", "--name", &name, "--network", "none"])
            .args(["--label", LABEL])
            .args((self.q.run_args)())
            .arg(&prep.image)
            .arg(crate::subject::rootfs::PROBE_IN_ROOTFS)
            .args(mode.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().map_err(|e| {
            SubjectError::io(format!("starting {}", crate::subprocess::describe(&cmd)), e)
        })?;
        let stdout = child.stdout.take();
        let pid = child.id() as i32;
        // The child is reaped by pid (pidfd + wait4) below, never through `Child`.
        drop(child);
        let Some(stdout) = stdout else {
            return Err(SubjectError::Other(format!("{b}: no stdout pipe")));
        };
        Ok(Box::new(EngineInstance {
            binary: b,
            global: (self.q.global_args)(),
            name,
            client: pid,
            client_reaped: false,
            exited_ok: false,
            out: LineWaiter::new(stdout),
            stderr: stderr_path,
            guard,
            slots: prep.slots.clone(),
            torn_down: false,
        }))
    }

    fn launch_limited(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
        limits: &super::limited::Limits,
    ) -> Result<Box<dyn super::limited::LimitedInstance>, SubjectError> {
        let b = self.q.binary;
        let mut cmd = self.command();
        let global = (self.q.global_args)();
        let run_args = (self.q.run_args)();
        let prep = self
            .prep
            .as_mut()
            .ok_or_else(|| SubjectError::Other(format!("{b}: launch before prepare")))?;
        if prep.limited_parent.is_none() {
            let parent = format!("/{}-{b}", prep.run_name);
            let mut guards = Vec::new();
            for mp in super::oci::cgroup_mounts() {
                guards.push(env.cleanup.register(Resource::Cgroup {
                    path: mp.join(parent.trim_start_matches('/')),
                })?);
            }
            prep.limited_parent = Some((parent, guards));
        }
        let parent = prep
            .limited_parent
            .as_ref()
            .map(|(p, _)| p.clone())
            .unwrap_or_default();
        if let Some(shares) = limits.cpu_shares {
            super::limited::weigh_parent(&parent, shares)?;
        }
        let mut slot = prep.slots.take()?;
        let name = slot.id.clone();
        let guard = slot.guards.pop();
        let stderr_path = prep.logs.join(format!("{name}.stderr"));
        let cidfile = prep.logs.join(format!("{name}.cid"));
        let _ = fs::remove_file(&cidfile);
        let stderr = File::create(&stderr_path)
            .map_err(|e| SubjectError::io(format!("create {}", stderr_path.display()), e))?;
        cmd.args(["run", "-i", "--name", &name, "--network", "none"])
            .args(["--label", LABEL])
            .arg(format!("--cidfile={}", cidfile.display()))
            .arg(format!("--cgroup-parent={parent}"))
            .args(super::engine_limited::limit_args(limits))
            .args(run_args)
            .arg(&prep.image)
            .arg(crate::subject::rootfs::PROBE_IN_ROOTFS)
            .args(mode.args())
            .arg("--linger-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().map_err(|e| {
            SubjectError::io(format!("starting {}", crate::subprocess::describe(&cmd)), e)
        })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let pid = child.id() as i32;
        // The child is reaped by pid (pidfd + wait4), never through `Child`.
        drop(child);
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(SubjectError::Other(format!("{b}: no stdin/stdout pipe")));
        };
        Ok(Box::new(super::engine_limited::LimitedEngine {
            binary: b,
            global,
            name,
            cidfile,
            cgroup_parent: parent,
            client: pid,
            client_reaped: false,
            stdin: Some(stdin),
            out: LineWaiter::new(stdout),
            stderr: stderr_path,
            stats: None,
            guard,
            slots: prep.slots.clone(),
            torn_down: false,
        }))
    }

    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        // Dropping the guard removes the image (`rmi -f`).
        self.prep = None;
        reap_orphans();
        Ok(())
    }
}

/// One `ENGINE run` client and its container.
#[derive(Debug)]
pub struct EngineInstance {
    binary: &'static str,
    global: Vec<String>,
    name: String,
    client: i32,
    client_reaped: bool,
    exited_ok: bool,
    out: LineWaiter<ChildStdout>,
    stderr: PathBuf,
    guard: Option<Guard>,
    slots: Slots,
    torn_down: bool,
}

impl EngineInstance {
    fn stderr_tail(&self) -> String {
        super::oci::log_tail(&self.stderr)
    }

    /// Wait for the client to exit (it does once its container is gone); kill it if it
    /// does not within `CLIENT_WAIT`.
    fn reap_client(&mut self) {
        if !self.client_reaped {
            let _ = super::process::wait_pid_deadline(self.client, Instant::now() + CLIENT_WAIT);
            self.client_reaped = true;
        }
    }

    /// Whether the engine still knows the container.
    fn exists(&self) -> bool {
        crate::subprocess::run_cleanup(
            Command::new(self.binary).args(&self.global).args([
                "container",
                "inspect",
                "--format",
                "{{.Id}}",
                &self.name,
            ]),
            QUERY_TIMEOUT,
        )
        .is_ok_and(|o| o.status.success())
    }

    fn container_pid(&self) -> Option<i32> {
        let out = crate::subprocess::run_ok(
            Command::new(self.binary).args(&self.global).args([
                "inspect",
                "--format",
                "{{.State.Pid}}",
                &self.name,
            ]),
            QUERY_TIMEOUT,
        )
        .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
    }
}

impl Instance for EngineInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match self.out.wait_for(READY_LINE, deadline) {
            Ok(t) => Ok(t),
            Err(crate::measure::MarkerError::Eof(out)) => Err(SubjectError::Marker(
                crate::measure::MarkerError::Eof(format!("{out}; stderr: {}", self.stderr_tail())),
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = super::process::wait_pid_deadline(self.client, deadline);
        self.client_reaped = true;
        let r = r?;
        let at = Instant::now();
        // What the probe printed after the marker is already in the pipe.
        let _ = self
            .out
            .read_to_end(Instant::now() + Duration::from_secs(1));
        if r.code != Some(0) {
            return Err(SubjectError::PayloadFailed(format!(
                "`{} run` {}; stderr: {}",
                self.binary,
                super::oci::status_text(r.code, r.signal),
                self.stderr_tail()
            )));
        }
        self.exited_ok = true;
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output: self.out.text.clone(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let mut result = Ok(());
        if let Some(g) = self.guard.take() {
            if self.exited_ok {
                // `run --rm` removed it before the client exited.
                g.forget();
            } else {
                // SIGKILL first: the probe is PID 1 and ignores SIGTERM, on which `rm -f`
                // of podman would wait its 10 s stop timeout.
                let _ = crate::subprocess::run_cleanup(
                    Command::new(self.binary)
                        .args(&self.global)
                        .args(["kill", &self.name]),
                    QUERY_TIMEOUT,
                );
                // `--rm`: the engine removes the killed container itself and then the
                // client exits; an `rm -f` meanwhile fails ("removal ... already in
                // progress"), so wait for that first and remove only what is left.
                self.reap_client();
                let until = Instant::now() + CLIENT_WAIT;
                while self.exists() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !self.exists() {
                    g.forget();
                } else if let Err(e) = g.release() {
                    // `rm -f` failed: the journal still names it for `clean`.
                    result = Err(e.into());
                }
            }
        }
        self.reap_client();
        let _ = fs::remove_file(&self.stderr);
        reap_orphans();
        if let Err(e) = self.slots.refill() {
            result = result.and(Err(e.into()));
        }
        result
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let Some(pid) = self.container_pid() else {
            return out;
        };
        out.extend(
            crate::measure::footprint::of_pids(&crate::measure::footprint::descendants(pid))
                .metrics("payload"),
        );
        if let Some(parent) = super::oci::parent_of(pid).filter(|p| *p > 1) {
            if parent != std::process::id() as i32 {
                out.extend(crate::measure::footprint::of_pids(&[parent]).metrics("runtime"));
            }
        }
        out.extend(crate::measure::footprint::of_pids(&[self.client]).metrics("client"));
        if let Some(m) = super::oci::cgroup_memory_of(pid) {
            out.push(("cgroup_memory".into(), m));
        }
        out
    }
}

impl Drop for EngineInstance {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: {} container {}: {e}", self.binary, self.name);
        }
    }
}

/// Processes an engine leaves to us as the child subreaper once they exit (podman's
/// conmon double-forks, so it is re-parented to the harness): reap those zombies. Only
/// zombies named like engine helpers are reaped, never a child someone else waits for.
pub fn reap_orphans() {
    let me = std::process::id() as i32;
    let Ok(rd) = fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let mut rest = stat[close + 1..].split_whitespace();
        let (state, ppid) = (rest.next(), rest.next().and_then(|p| p.parse::<i32>().ok()));
        if state == Some("Z") && ppid == Some(me) && ORPHAN_NAMES.contains(&comm) {
            let _ = sys::process::wait4(pid, false);
        }
    }
}

/// Helper processes of engines that end up as our children (see `reap_orphans`).
const ORPHAN_NAMES: &[&str] = &["conmon", "fuse-overlayfs", "containerd-shim"];

fn debian_package(binary: &str) -> &'static str {
    match binary {
        "docker" => "docker.io",
        "podman" => "podman",
        _ => "?",
    }
}

/// Remove containers and images labelled `isobench=1` of `engine` (when installed), except
/// those named after a run that is still alive (`isobench-<pid>-...`). For `isobench
/// clean`, which has no journal entry for a run killed before it journalled them.
pub fn clean_labelled(engine: &str) -> Vec<String> {
    let mut removed = Vec::new();
    {
        if crate::subprocess::which(engine).is_none() {
            return removed;
        }
        let list = |args: &[&str]| -> Vec<String> {
            crate::subprocess::run_ok(Command::new(engine).args(args), QUERY_TIMEOUT)
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let filter = format!("label={LABEL}");
        for name in list(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]) {
            if owned_by_live_run(&name) {
                continue;
            }
            let res = Resource::EngineContainer {
                engine: engine.into(),
                id: name,
            };
            match crate::cleanup::remove_resource(&res) {
                Ok(()) => removed.push(res.to_string()),
                Err(e) => removed.push(format!("FAILED: {e}")),
            }
        }
        for image in list(&[
            "images",
            "--filter",
            &filter,
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ]) {
            if owned_by_live_run(&image) {
                continue;
            }
            let res = Resource::EngineImage {
                engine: engine.into(),
                image,
            };
            match crate::cleanup::remove_resource(&res) {
                Ok(()) => removed.push(res.to_string()),
                Err(e) => removed.push(format!("FAILED: {e}")),
            }
        }
    }
    removed
}

/// Whether `name` embeds `isobench-<pid>-` of a process that is alive (this one too: a
/// test running beside `clean_labelled` in the same process).
fn owned_by_live_run(name: &str) -> bool {
    let Some(i) = name.rfind("isobench-") else {
        return false;
    };
    let pid = name[i + "isobench-".len()..]
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    pid.is_some_and(sys::process::alive)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_of_live_runs_are_spared() {
        let me = std::process::id();
        assert!(super::owned_by_live_run(&format!(
            "isobench-probe:isobench-{me}-abc"
        )));
        assert!(super::owned_by_live_run(&format!(
            "isobench-{me}-abc-docker-3"
        )));
        assert!(super::owned_by_live_run("isobench-probe:isobench-1-abc"));
        assert!(!super::owned_by_live_run(
            "isobench-probe:isobench-999999999-abc"
        ));
        assert!(!super::owned_by_live_run("something-else"));
    }
}

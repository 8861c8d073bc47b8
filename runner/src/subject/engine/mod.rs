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
//! Under limits (`launch_limited`, the `throttle` scenario): see `engine::throttled`.
//!
//! Cleanup: the image is `Resource::EngineImage`, every container name
//! `Resource::EngineContainer` (registered ahead, see `slots`); both carry the label
//! `isobench=1`, which `isobench clean` (`clean_labelled`) also uses without a journal.

pub mod clean;
pub mod docker;
pub mod instance;
pub mod orphans;
pub mod podman;
pub mod throttled;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Description, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cleanup::{Guard, Resource};
use crate::measure::LineWaiter;
use crate::probe::ProbeMode;
use crate::subject::reserved_names::Slots;
use crate::workdir::Env;
pub use clean::clean_labelled;
use instance::EngineInstance;
pub use orphans::reap_orphans;

/// The label on every image and container isobench creates.
pub const LABEL: &str = "isobench=1";

/// The marker the probe prints on stdout when it has no ready fd.
pub const READY_LINE: &str = "ISOBENCH-READY";

/// How long teardown waits for a client to exit after its container was removed.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// Limit for `info`, `inspect` and the clean-up listing commands.
pub(super) const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether this process may run the engines' clients (root; see `Engine::new`).
fn rootful() -> bool {
    crate::sys::geteuid() == 0
}

/// What went wrong with a limited container (`throttled.rs`), beside the generic
/// [`SubjectError`] cases.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{} is empty: the engine did not write the container id", .cidfile.display())]
    NoContainerId { cidfile: PathBuf },
    #[error("no cgroup named after container {id} below /sys/fs/cgroup/*/{parent}; is the {engine} cgroup driver cgroupfs?")]
    NoContainerCgroup {
        engine: &'static str,
        id: String,
        parent: String,
    },
    #[error("`{engine} run` ended ({status}) before the probe finished and `inspect` failed; stderr: {stderr}")]
    Inspect {
        engine: &'static str,
        status: String,
        stderr: String,
    },
    #[error("{engine} container {name}: counters are read in wait_exit")]
    CountersNotRead { engine: &'static str, name: String },
}

/// The `storage` label from an engine's storage-driver answer: `fuse-overlayfs` when a
/// FUSE program mounts the layers (docker's `fuse-overlayfs` driver, podman's
/// `overlay.mount_program`), `overlay` for the kernel's (docker's `overlay2`), else the
/// driver's own name (`btrfs`, `vfs`, ...), printable characters only.
pub fn storage_label(answer: &str) -> String {
    let a = answer.trim();
    if a.contains("fuse-overlayfs") {
        return "fuse-overlayfs".into();
    }
    let driver: String = a
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(40)
        .collect();
    match driver.as_str() {
        "overlay" | "overlay2" => "overlay".into(),
        "" => "unknown".into(),
        _ => driver,
    }
}

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
    /// `info --format` template naming the storage driver (and its mount program), which
    /// backs the container's root filesystem: label `storage` of the workload scenario.
    pub storage_query: &'static str,
}

/// One container engine subject.
#[derive(Debug)]
pub struct Engine {
    q: EngineQuirks,
    path: Option<PathBuf>,
    version: Option<String>,
    oci_runtime: Option<String>,
    /// The container rootfs's storage (`storage_label`), asked in `prepare`.
    storage: Option<String>,
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
        // Measured rootful only: as another user the client is never run, not even for
        // its version (rootless podman answers `--version` by creating its runtime
        // directories, most commands by starting a pause process that outlives them).
        let version = path.as_ref().filter(|_| rootful()).and_then(|_| {
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
            storage: None,
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

    /// The container's own root filesystem (the image's layers under the engine's
    /// storage driver, writable layer on top); `/isobench-wl` is in the image.
    fn workload_storage(&self, _env: &Env) -> Option<crate::subject::WorkloadStorage> {
        Some(crate::subject::WorkloadStorage::new(
            crate::subject::WorkloadDir::InSubject(crate::subject::rootfs::WORKLOAD_DIR),
            self.storage.clone().unwrap_or_else(|| "unknown".into()),
        ))
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
        let rootfs = crate::subject::rootfs::get(env)?;
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
        let mut c = self.command();
        c.args(["info", "--format", self.q.storage_query]);
        self.storage = crate::subprocess::run_ok(&mut c, QUERY_TIMEOUT)
            .ok()
            .map(|o| storage_label(&String::from_utf8_lossy(&o.stdout)));
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
            .ok_or(SubjectError::NotPrepared { subject: b })?;
        let mut slot = prep.slots.take()?;
        let name = slot.id.clone();
        let guard = slot.guards.pop();
        let stderr_path = prep.logs.join(format!("{name}.stderr"));
        let stderr = File::create(&stderr_path)
            .map_err(|e| SubjectError::file("create", &stderr_path, e))?;
        cmd.args(["run", "--rm", "--name", &name, "--network", "none"])
            .args(["--label", LABEL])
            .args((self.q.run_args)())
            .arg(&prep.image)
            .arg(crate::subject::rootfs::PROBE_IN_ROOTFS)
            .args(mode.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().map_err(|source| SubjectError::Spawn {
            command: crate::subprocess::describe(&cmd),
            source,
        })?;
        let stdout = child.stdout.take();
        let pid = child.id() as i32;
        // The child is reaped by pid (pidfd + wait4) below, never through `Child`.
        drop(child);
        let Some(stdout) = stdout else {
            return Err(SubjectError::MissingPipe {
                subject: b,
                which: "stdout",
            });
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
        limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        let b = self.q.binary;
        let mut cmd = self.command();
        let global = (self.q.global_args)();
        let run_args = (self.q.run_args)();
        let prep = self
            .prep
            .as_mut()
            .ok_or(SubjectError::NotPrepared { subject: b })?;
        if prep.limited_parent.is_none() {
            let parent = format!("/{}-{b}", prep.run_name);
            let mut guards = Vec::new();
            for mp in crate::cgroup::mounts::cgroup_mounts() {
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
            crate::subject::limits::weigh_parent(&parent, shares)?;
        }
        let mut slot = prep.slots.take()?;
        let name = slot.id.clone();
        let guard = slot.guards.pop();
        let stderr_path = prep.logs.join(format!("{name}.stderr"));
        let cidfile = prep.logs.join(format!("{name}.cid"));
        let _ = fs::remove_file(&cidfile);
        let stderr = File::create(&stderr_path)
            .map_err(|e| SubjectError::file("create", &stderr_path, e))?;
        cmd.args(["run", "-i", "--name", &name, "--network", "none"])
            .args(["--label", LABEL])
            .arg(format!("--cidfile={}", cidfile.display()))
            .arg(format!("--cgroup-parent={parent}"))
            .args(throttled::limit_args(limits))
            .args(run_args)
            .arg(&prep.image)
            .arg(crate::subject::rootfs::PROBE_IN_ROOTFS)
            .args(mode.args())
            .arg("--linger-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().map_err(|source| SubjectError::Spawn {
            command: crate::subprocess::describe(&cmd),
            source,
        })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let pid = child.id() as i32;
        // The child is reaped by pid (pidfd + wait4), never through `Child`.
        drop(child);
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(SubjectError::MissingPipe {
                subject: b,
                which: "stdin/stdout",
            });
        };
        Ok(Box::new(throttled::LimitedEngine {
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

fn debian_package(binary: &str) -> &'static str {
    match binary {
        "docker" => "docker.io",
        "podman" => "podman",
        _ => "?",
    }
}

#[cfg(test)]
mod storage_tests {
    #[test]
    fn storage_driver_answers_become_labels() {
        use super::storage_label;
        assert_eq!(storage_label("fuse-overlayfs\n"), "fuse-overlayfs");
        assert_eq!(storage_label("overlay2\n"), "overlay");
        assert_eq!(storage_label("overlay {}\n"), "overlay");
        assert_eq!(
            storage_label("overlay {\"overlay.mount_program\":\"/usr/bin/fuse-overlayfs\"}"),
            "fuse-overlayfs"
        );
        assert_eq!(storage_label("btrfs\n"), "btrfs");
        assert_eq!(storage_label("\x1b[31m\n"), "31m");
        assert_eq!(storage_label(""), "unknown");
    }
}

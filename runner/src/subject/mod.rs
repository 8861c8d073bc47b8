//! Subjects: the things isobench launches the probe in. One file per subject.
//!
//! Every subject implements [`Subject`]; adding one is adding a file here and a variant of
//! [`SubjectKind`]. A subject that cannot run on this host says why and how to fix it via
//! `available()`, and its measurements become `status: skipped` with that reason.
//!
//! The measurement of one launch (see `scenario::startup::measure_once`):
//! `t0` (just before `launch`) → `wait_ready` (marker arrival) → `wait_exit` (reaped) →
//! `teardown`; `ready` and `total` are taken by the harness, the subject adds its own
//! phases (runc's `create`/`start`/`delete`, a VM's boot stages) with `phases()`.

pub mod bwrap;
pub mod child;
pub mod engine;
pub mod limits;
pub mod lxc;
pub mod namespaces;
pub mod nspawn;
pub mod oci;
pub mod process;
pub mod qemu;
pub mod reserved_names;
pub mod rootfs;
pub mod sandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use isobench_reports::model::Host;
use serde::Serialize;

use crate::probe::ProbeMode;
use crate::workdir::Env;

/// Declares [`SubjectKind`] from one list: each subject's variant (its doc is the
/// command line's help), its name in run files, and how it is built. This list is the one
/// place a subject is named; everything else (doctor, host probing, cleanup, the run
/// file's `subjects` map, the reports) loops over `SubjectKind::all()` or reads what the
/// subject says of itself.
macro_rules! subjects {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal => $create:expr,)+) => {
        /// Every subject isobench knows, in the order they are listed and run: the
        /// headline's ladder (process, namespaces, containers, sandboxed containers, VMs).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum SubjectKind {
            $($(#[doc = $doc])* #[value(name = $name)] #[serde(rename = $name)] $variant,)+
        }

        impl SubjectKind {
            pub fn name(self) -> &'static str {
                match self {
                    $(SubjectKind::$variant => $name,)+
                }
            }

            pub fn all() -> &'static [SubjectKind] {
                &[$(SubjectKind::$variant,)+]
            }

            /// Build the subject.
            pub fn create(self) -> Box<dyn Subject> {
                match self {
                    $(SubjectKind::$variant => Box::new($create),)+
                }
            }
        }
    };
}

subjects! {
    /// The probe spawned as a plain process (vfork + execve, via clone3).
    Process = "process" => process::Process,
    /// clone() with CLONE_NEW* flags (the `clone` scenario).
    Namespaces = "namespaces" => namespaces::Namespaces,
    /// isobench's own minimal container: namespaces, rootfs, pivot_root, cgroup, exec.
    Sandbox = "sandbox" => sandbox::Sandbox::default(),
    /// bubblewrap: namespaces and a rootfs, no cgroups.
    Bwrap = "bwrap" => bwrap::Bwrap::default(),
    /// The runc OCI runtime (create + start, and run) on a generated bundle.
    Runc = "runc" => oci::runc::subject(),
    /// The crun OCI runtime (create + start, and run) on a generated bundle.
    Crun = "crun" => oci::crun::subject(),
    /// systemd-nspawn (no machined, no systemd unit) of the generated rootfs.
    Nspawn = "nspawn" => nspawn::Nspawn::default(),
    /// LXC: `lxc-start -F` of a generated config, the probe as the container's init.
    Lxc = "lxc" => lxc::Lxc::default(),
    /// `docker run` of an image imported from the generated rootfs.
    Docker = "docker" => engine::docker::subject(),
    /// `podman run` of an image imported from the generated rootfs.
    Podman = "podman" => engine::podman::subject(),
    /// gVisor's runsc OCI runtime (create + start, and run): a user-space kernel sandbox.
    Runsc = "runsc" => oci::runsc::subject(),
    /// The probe as /init of a QEMU VM (cases: machine types; TCG unless KVM works).
    Qemu = "qemu" => qemu::Qemu::default(),
}

impl SubjectKind {
    /// Subjects that take part in the `startup` scenario.
    pub fn startup_subjects() -> Vec<SubjectKind> {
        Self::all().to_vec()
    }
}

impl Description {
    /// The entry of the run file's `subjects` map.
    pub fn info(&self) -> isobench_reports::model::SubjectInfo {
        isobench_reports::model::SubjectInfo {
            class: self.class.to_string(),
            phrase: self.phrase.clone(),
            method: self.method.clone(),
            version: self.version.clone(),
        }
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a subject cannot run here, and what would make it run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unavailable {
    pub reason: String,
    pub fix: String,
}

impl Unavailable {
    pub fn new(reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; fix: {}", self.reason, self.fix)
    }
}

/// Where the `workload` scenario's file workloads (fileio, sqlite, syscall's openat)
/// work in a subject: in its own root filesystem, which is what an application in it
/// writes to.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadDir {
    /// A private directory the scenario makes in the work directory; the payload sees
    /// it at the same path (its root is the host's: `process`, `namespaces`).
    Host,
    /// This directory inside the subject's root filesystem ([`rootfs::WORKLOAD_DIR`]).
    InSubject(&'static str),
    /// The subject attaches a disk of its own at each launch and tells the probe where
    /// it is mounted (`qemu`: a virtio-blk disk, see `vm::disk`).
    OwnDisk,
}

/// What backs a subject's [`WorkloadDir`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadStorage {
    pub dir: WorkloadDir,
    /// Label `storage`: `host-fs`, `bind` (the generated rootfs directory, bind-mounted
    /// as `/`), `overlay`, `fuse-overlayfs`, `gofer` (gVisor's file proxy),
    /// `virtio-blk`, `initramfs`.
    pub storage: String,
    /// Why the workloads that need a disk (fileio, sqlite) cannot run here; they are
    /// skipped with it.
    pub no_disk: Option<Unavailable>,
}

impl WorkloadStorage {
    pub fn new(dir: WorkloadDir, storage: impl Into<String>) -> WorkloadStorage {
        WorkloadStorage {
            dir,
            storage: storage.into(),
            no_disk: None,
        }
    }
}

/// One line of `isobench doctor`: what was checked, what was found, and for a "no" the fix.
/// Subjects add their own host-level checks through [`Subject::doctor_checks`].
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub area: &'static str,
    pub name: String,
    pub ok: bool,
    /// What was found (version, layout, error).
    pub detail: String,
    /// For a "no": what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn yes(area: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            area,
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn no(
        area: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            area,
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Why a subject could not prepare, launch, wait for or tear down its payload. Each
/// variant carries the values it names (paths, pids, commands) as fields.
#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// An IO call on a descriptor of our own (a pipe, a poll), with no path or pid to name.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    /// `op` ("open", "create", ...) on `path` failed.
    #[error("{op} {}: {source}", .path.display())]
    File {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `call` on process `pid` failed.
    #[error("{call} (pid {pid}): {source}")]
    Pid {
        call: &'static str,
        pid: i32,
        source: std::io::Error,
    },
    /// clone3(2) of a child in the namespaces `flags` names (`ns::case_name`).
    #[error("clone3({flags}): {source}")]
    Clone {
        flags: String,
        source: std::io::Error,
    },
    /// Starting `command` (program and arguments, space-separated) failed.
    #[error("starting `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("starting {program} in a cgroup: {source}")]
    SpawnInCgroup {
        program: String,
        source: crate::sys::cgroup_spawn::SpawnInCgroupError,
    },
    /// A command the subject runs (a runtime's `create`, `delete`) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("{what} {value:?} contains a NUL byte")]
    Nul { what: &'static str, value: String },
    #[error("{subject}: launch before prepare")]
    NotPrepared { subject: &'static str },
    #[error("{program} is not on PATH; fix: {fix}")]
    NotOnPath {
        program: &'static str,
        fix: &'static str,
    },
    #[error("{subject}: no {which} pipe")]
    MissingPipe {
        subject: &'static str,
        which: &'static str,
    },
    #[error("unknown {subject} case {case:?} (known: {})", .known.join(", "))]
    UnknownCase {
        subject: &'static str,
        case: String,
        known: Vec<String>,
    },
    /// The probe's result lines lack `key=NUMBER` (`found`: the value it had, if any).
    #[error("probe output lacks a numeric {key}= line{}", has(.found))]
    ProbeOutput {
        key: &'static str,
        found: Option<String>,
    },
    #[error("ready marker: {0}")]
    Marker(#[from] crate::measure::MarkerError),
    #[error(transparent)]
    Exec(#[from] crate::subprocess::ExecError),
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error(transparent)]
    Env(#[from] crate::workdir::EnvError),
    #[error("the payload exited with {0}")]
    PayloadFailed(String),
    #[error("did not exit within {0:?}; killed")]
    ExitTimeout(Duration),
    /// The subject cannot do this (yet); reported as `status: skipped`.
    #[error("{0}")]
    Unsupported(Unavailable),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Lxc(#[from] lxc::LxcError),
    #[error(transparent)]
    Nspawn(#[from] nspawn::NspawnError),
    #[error(transparent)]
    Vm(#[from] crate::vm::VmError),
    #[error("QEMU was OOM-killed by the host before the guest was ready: the cgroup's {limit_mib} MiB memory limit is below what the VM itself needs (guest RAM {guest_mib} MiB plus QEMU); {source}")]
    VmOomKilled {
        limit_mib: u64,
        guest_mib: u64,
        source: Box<SubjectError>,
    },
    /// A QEMU boot failed (its Ctrl-C becomes [`SubjectError::Marker`], see `qemu.rs`).
    #[error(transparent)]
    Boot(crate::vm::boot::BootError),
    #[error(transparent)]
    Oci(#[from] oci::OciError),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    #[error(transparent)]
    SandboxCgroup(#[from] sandbox::cgroup::SandboxCgroupError),
}

/// `ProbeOutput`'s mention of the value that was there instead of a number.
fn has(found: &Option<String>) -> String {
    found
        .as_ref()
        .map(|v| format!(" (has {v:?})"))
        .unwrap_or_default()
}

impl SubjectError {
    pub fn io(what: &'static str, source: std::io::Error) -> Self {
        SubjectError::Io { what, source }
    }

    pub fn file(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SubjectError::File {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn pid(call: &'static str, pid: i32, source: std::io::Error) -> Self {
        SubjectError::Pid { call, pid, source }
    }

    /// `what` (a path, an argument) could not become a C string.
    pub fn nul(what: &'static str, e: std::ffi::NulError) -> Self {
        SubjectError::Nul {
            what,
            value: String::from_utf8_lossy(&e.into_vec()).into_owned(),
        }
    }

    /// Whether this error is the user's Ctrl-C rather than a subject failure.
    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            SubjectError::Marker(crate::measure::MarkerError::Interrupted(_))
                | SubjectError::Exec(crate::subprocess::ExecError::Interrupted { .. })
        ) || crate::sys::signals::interrupted().is_some()
    }
}

/// How a launched payload ended.
#[derive(Debug, Clone, Default)]
pub struct Exit {
    /// The instant the harness learned of the exit (wait4 returned, the engine client
    /// exited, QEMU exited).
    pub at: Option<Instant>,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// What the payload printed (probe result lines), when the subject captures it.
    pub output: String,
}

/// Describes a subject for the run file (its `subjects` map, `host.components`) and
/// `doctor`, so that the reports need no table of subjects of their own.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Description {
    pub name: String,
    /// The isolation class the headline compares: "process", "namespaces", "container",
    /// "sandboxed container" or "vm" (`isobench_reports::report::select::Class`).
    pub class: &'static str,
    /// A noun phrase for sentences: "a runc container".
    pub phrase: String,
    /// The version of the program the subject drives (`None` for isobench's own).
    pub version: Option<String>,
    /// How the subject launches the payload, in a sentence (for the report's method notes).
    pub method: String,
}

/// A thing that launches the probe.
pub trait Subject {
    fn kind(&self) -> SubjectKind;

    /// Can it run here? `Err` says why not and how to fix it.
    fn available(&self, env: &Env) -> Result<(), Unavailable>;

    fn describe(&self) -> Description;

    /// Cases of this subject (e.g. VM machine types); `["default"]` for most.
    fn cases(&self, _env: &Env) -> Vec<String> {
        vec!["default".to_string()]
    }

    /// At most this many measured iterations per case (slow subjects such as VMs under
    /// emulation); `None` follows the plan. A capped subject also gets at most one
    /// warm-up launch per case: each launch is a fresh process, so what a warm-up primes
    /// (the page cache with its binaries and images) is primed by the first.
    fn max_iterations(&self, _quick: bool) -> Option<usize> {
        None
    }

    /// Labels that qualify every measurement of `case` (e.g. `accel=tcg`).
    fn labels(&self, _case: &str) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// One-time preparation outside any timed region (build a rootfs, an image, a bundle).
    fn prepare(&mut self, _env: &Env) -> Result<(), SubjectError> {
        Ok(())
    }

    /// Start the payload in `mode`. The harness reads `t0` just before this call.
    fn launch(
        &mut self,
        env: &Env,
        case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError>;

    /// Where a throttle point's CPU bandwidth limit starts when not from the payload's
    /// first instruction (the contract in `limits`): `Some("ready")` for a subject that
    /// writes it at the ready marker (qemu, whose boot would otherwise run throttled).
    /// Becomes the `cpu_limit_from` label of the subject's CPU points.
    fn cpu_limit_from(&self) -> Option<&'static str> {
        None
    }

    /// Start the payload in `mode` under cgroup `limits` (the `throttle` scenario). See
    /// `limited` for the contract; subjects that have not implemented it yet say so.
    fn launch_limited(
        &mut self,
        _env: &Env,
        _case: &str,
        _mode: &ProbeMode,
        _limits: &limits::Limits,
    ) -> Result<Box<dyn limits::LimitedInstance>, SubjectError> {
        Err(SubjectError::Unsupported(Unavailable::new(
            format!("throttle not supported by the {} subject yet", self.kind()),
            "see runner/src/subject/limits.rs for the contract a subject implements",
        )))
    }

    /// Guest RAM (MiB) of the VMs later launches boot (the `density` scenario's
    /// `--guest-mib`); subjects without a guest ignore it.
    fn set_guest_memory_mib(&mut self, _mib: u64) {}

    /// Undo `prepare` (also done by the cleanup registry if this is never called).
    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        Ok(())
    }

    /// Add to the run's host fingerprint what only this subject can find out (the VM
    /// subject's bounded KVM probe boot). Called once per run for each selected subject,
    /// before any scenario; `launched` says whether a scenario of this run will launch it
    /// (`ScenarioKind::launches_subjects`), so a costly probe can be left out when not.
    fn probe_host(&self, _host: &mut Host, _env: &Env, _launched: bool) {}

    /// Host-level checks for `isobench doctor` beyond `available()` (QEMU machine types,
    /// guest kernel, KVM).
    fn doctor_checks(&self, _env: &Env) -> Vec<Check> {
        Vec::new()
    }

    /// Where the `workload` scenario's file workloads write in this subject (called after
    /// `prepare`); `None`: the subject does not run that scenario.
    fn workload_storage(&self, _env: &Env) -> Option<WorkloadStorage> {
        None
    }

    /// Remove what a killed run of this subject left that no journal names (engine
    /// containers and images found by label), for `isobench clean`. Returns one line per
    /// resource removed or failed.
    fn clean_unjournalled(&self) -> Vec<String> {
        Vec::new()
    }
}

/// One launched payload.
pub trait Instance {
    /// Block until the ready marker arrives; returns its arrival instant.
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError>;

    /// Block until the payload has exited and was reaped.
    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError>;

    /// Remove what the launch created (container, cgroup, VM). Must be idempotent and
    /// must also happen on drop.
    fn teardown(&mut self) -> Result<(), SubjectError>;

    /// False when `teardown` has nothing left to remove (the payload was reaped and the
    /// launch created nothing else): startup then reports no `teardown` metric, whose
    /// ~40 ns of two clock reads moved ±50 % night to night and failed the gate.
    fn has_teardown(&self) -> bool {
        true
    }

    /// Named durations measured by the subject itself (`create`, `start`, `delete`, boot
    /// stages), reported as metrics beside `ready` and `total`.
    fn phases(&self) -> Vec<(String, Duration)> {
        Vec::new()
    }

    /// Memory footprint while the payload is alive (called after ready, in footprint
    /// passes only, never in a timed sample): (metric, bytes).
    fn footprint(&mut self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::SubjectError;
    use std::io;

    #[test]
    fn errors_name_their_path_pid_and_value() {
        let denied = || io::Error::from_raw_os_error(libc::EACCES);
        let file = SubjectError::file("open", "/run/x/cgroup.procs", denied()).to_string();
        assert!(file.starts_with("open /run/x/cgroup.procs: "), "{file}");
        let pid = SubjectError::pid("wait4", 42, denied()).to_string();
        assert!(pid.starts_with("wait4 (pid 42): "), "{pid}");
        let case = SubjectError::UnknownCase {
            subject: "runc",
            case: "bogus".into(),
            known: vec!["create-start".into(), "run".into()],
        }
        .to_string();
        assert_eq!(
            case,
            "unknown runc case \"bogus\" (known: create-start, run)"
        );
        let nul = std::ffi::CString::new("a\0b").expect_err("has a NUL");
        let nul = SubjectError::nul("probe argument", nul).to_string();
        assert_eq!(nul, "probe argument \"a\\0b\" contains a NUL byte");
        let missing = |found: Option<&str>| {
            SubjectError::ProbeOutput {
                key: "units",
                found: found.map(String::from),
            }
            .to_string()
        };
        assert_eq!(missing(None), "probe output lacks a numeric units= line");
        assert_eq!(
            missing(Some("x")),
            "probe output lacks a numeric units= line (has \"x\")"
        );
    }
}

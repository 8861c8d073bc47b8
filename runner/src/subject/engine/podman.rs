//! `podman`: daemonless engine (podman → conmon → OCI runtime), measured through its CLI;
//! all logic is in `engine.rs`.
//!
//! Quirks, each needed on hosts like the CI machine (found by running it there):
//! * Default ulimits: podman asks the runtime for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC
//!   32768 (built-in defaults, applied even with `--ulimit host` in podman 4.3), and
//!   setting them fails with EPERM where the hard limit is lower and the harness lacks
//!   CAP_SYS_RESOURCE. So `run` gets `--ulimit nofile=S:H --ulimit nproc=S:H` with the
//!   harness's own current limits, nproc capped at 32768: podman lowers its own
//!   RLIMIT_NPROC to that before it starts conmon (seen in conmon's /proc/PID/limits),
//!   so the runtime under conmon cannot set more.
//! * Runtime: podman's default crun refuses a hybrid cgroup host whose cgroup2 lists a
//!   controller (see `crun.rs`); there `--runtime runc` is used (label `oci_runtime`).
//! * `--cgroup-manager cgroupfs` and `--events-backend file`: no systemd/journald needed.

use super::{Engine, EngineQuirks};
use crate::subject::SubjectKind;

fn global_args() -> Vec<String> {
    let mut a = vec![
        "--cgroup-manager=cgroupfs".to_string(),
        "--events-backend=file".to_string(),
    ];
    if crun_refuses_this_host() {
        a.push("--runtime=runc".into());
    }
    a
}

/// The check crun makes (libcrun `libcrun_cgroup_enter`): a hybrid host whose
/// /sys/fs/cgroup/unified lists any controller.
fn crun_refuses_this_host() -> bool {
    matches!(
        crate::cgroup::detect(),
        Ok(crate::cgroup::Layout::Hybrid { ref unified, .. })
            if std::fs::read_to_string(unified.join("cgroup.controllers"))
                .is_ok_and(|c| !c.trim().is_empty())
    )
}

/// The RLIMIT_NPROC podman gives itself, and so conmon and the runtime, on start.
const PODMAN_NPROC: u64 = 32768;

fn run_args() -> Vec<String> {
    let mut a = Vec::new();
    for (name, res, cap) in [
        ("nofile", libc::RLIMIT_NOFILE, u64::MAX),
        ("nproc", libc::RLIMIT_NPROC, PODMAN_NPROC),
    ] {
        if let Ok((soft, hard)) = crate::sys::spawn::getrlimit(res) {
            let (soft, hard) = (soft.min(cap), hard.min(cap));
            let v = |x: u64| {
                if x == libc::RLIM_INFINITY {
                    "-1".to_string()
                } else {
                    x.to_string()
                }
            };
            a.push("--ulimit".into());
            a.push(format!("{name}={}:{}", v(soft), v(hard)));
        }
    }
    a
}

pub fn subject() -> Engine {
    Engine::new(EngineQuirks {
        kind: SubjectKind::Podman,
        binary: "podman",
        phrase: "a Podman container",
        global_args,
        run_args,
        runtime_query: "{{.Host.OCIRuntime.Name}}",
        notes: "cgroupfs manager, file events backend, ulimits = the harness's own (podman's defaults exceed hard limits), runc where crun refuses a hybrid cgroup host.",
        storage_query: "{{.Store.GraphDriverName}} {{json .Store.GraphOptions}}",
    })
}

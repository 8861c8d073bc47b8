//! `runsc`: gVisor's OCI runtime, whose sandbox runs the payload on a user-space kernel
//! (the sentry) with a separate file proxy (the gofer); driven through its command line
//! on the same generated bundle as runc and crun, all logic in `oci/mod.rs`.
//!
//! Quirks:
//! * Global flags on every command: `--platform=P --network=none`. runsc reads its
//!   configuration from each invocation's flags, `start` included: a `start` without
//!   `--network=none` fails with "setting up network: creating interfaces from net
//!   namespace ...: cannot run with network enabled in root network namespace". The
//!   platform is `kvm` when the run's KVM verdict (`vm::kvm`, the host fingerprint's
//!   `kvm_usable`) says KVM works, else `ptrace` (the Debian build, 20221219, has only
//!   these two: no systrap); every measurement carries the label `platform`.
//! * No `--preserve-fds`: the container gets only stdio, so the ready marker is the
//!   probe's `ISOBENCH-READY` line on the runtime's stdout (`ReadyChannel::Stdout`; the
//!   sandbox inherits `create`'s or `run`'s stdout and hands it to the payload).
//! * State is a file per container, and `create` leaves the sandbox (the pid file names
//!   it; `total` = its exit) and the gofer to the harness (`StateLayout::RunscFile`).
//!   Footprint: `payload_*` = the sandbox's tree (sentry + the payload's ptrace stubs),
//!   `runtime_*` = the gofer (+ the foreground `run`).
//! * Cgroups as runc (cgroupfs, `cgroupsPath`, `linux.resources`): the sandbox and the
//!   gofer join the container's cgroup, so limits bound the whole sandbox. It runs on a
//!   hybrid cgroup host as it is (it uses the v1 hierarchies).
//!
//! Class "sandboxed container": between containers (shared kernel) and VMs.

use std::path::Path;

use super::{OciRuntime, Quirks, ReadyChannel, StateLayout};
use crate::subject::{SubjectKind, Unavailable};

pub fn subject() -> OciRuntime {
    OciRuntime::new(Quirks {
        kind: SubjectKind::Runsc,
        binary: "runsc",
        global_args,
        refuses_hybrid_v2_controllers: false,
        ready: ReadyChannel::Stdout,
        state: StateLayout::RunscFile,
        class: "sandboxed container",
        phrase: "a gVisor (runsc) sandbox",
        labels: || vec![("platform".into(), platform().into())],
        host_check,
        storage: "gofer",
    })
}

/// `kvm` when this run found KVM usable, else `ptrace`.
pub fn platform() -> &'static str {
    match crate::vm::kvm::cached() {
        Some(s) if s.usable => "kvm",
        _ => "ptrace",
    }
}

fn global_args() -> Vec<String> {
    vec![
        format!("--platform={}", platform()),
        "--network=none".into(),
    ]
}

/// The platform's needs: `ptrace` traces the payload's stub processes (PTRACE_ATTACH
/// and PTRACE_TRACEME among its own children), which Yama's `ptrace_scope` 3 forbids
/// outright; `kvm` opens /dev/kvm.
fn host_check() -> Result<String, Unavailable> {
    host_check_with(platform(), Path::new("/proc/sys/kernel/yama/ptrace_scope"))
}

fn host_check_with(platform: &str, ptrace_scope: &Path) -> Result<String, Unavailable> {
    if platform == "kvm" {
        return std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .map(|_| "platform kvm (/dev/kvm opens)".to_string())
            .map_err(|e| {
                Unavailable::new(
                    format!("runsc --platform=kvm cannot open /dev/kvm: {e}"),
                    "give this host /dev/kvm read-write access",
                )
            });
    }
    let scope = std::fs::read_to_string(ptrace_scope).ok();
    match scope.as_deref().map(str::trim) {
        Some("3") => Err(Unavailable::new(
            format!(
                "runsc --platform=ptrace needs ptrace, and {} is 3 (no process may be traced)",
                ptrace_scope.display()
            ),
            "boot with a kernel.yama.ptrace_scope below 3 (3 cannot be lowered until reboot), or make KVM usable for --platform=kvm",
        )),
        Some(s) => Ok(format!(
            "platform ptrace (kvm only when the run finds KVM usable); yama ptrace_scope {s}"
        )),
        None => Ok("platform ptrace (kvm only when the run finds KVM usable); no Yama ptrace restriction".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptrace_scope_3_makes_ptrace_unavailable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let scope = tmp.path().join("ptrace_scope");
        std::fs::write(&scope, "3\n").expect("write");
        let u = host_check_with("ptrace", &scope).expect_err("scope 3");
        assert!(u.reason.contains("is 3"), "{u}");
        std::fs::write(&scope, "1\n").expect("write");
        let ok = host_check_with("ptrace", &scope).expect("scope 1");
        assert!(ok.contains("ptrace_scope 1"), "{ok}");
        let ok = host_check_with("ptrace", &tmp.path().join("absent")).expect("no yama");
        assert!(ok.contains("no Yama"), "{ok}");
    }
}

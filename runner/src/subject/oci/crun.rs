//! `crun`: the OCI runtime in C, driven through its command line; all logic is in
//! `oci/mod.rs`.
//!
//! Quirks: `--cgroup-manager=cgroupfs` is passed explicitly. On a hybrid cgroup host
//! whose cgroup2 mount (/sys/fs/cgroup/unified) lists a controller (here `hugetlb`,
//! which no v1 hierarchy binds), crun refuses every container, whatever the cgroup
//! manager ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2":
//! the check in libcrun's `libcrun_cgroup_enter` runs before the manager is chosen, so
//! `--cgroup-manager=disabled` does not help). crun treats a host without that mount as
//! cgroup v1, which it supports, so `create` and `run` are started in a private mount
//! namespace in which the cgroup2 mount is lazily unmounted (`sys::spawn`); the host's
//! mounts are untouched. Such measurements carry the label `cgroup_view=v1-only`. The
//! detour (fork + unshare + umount instead of posix_spawn) cost about 0.3 ms per
//! `create`/`run` on the CI host (measured with /bin/true), about 1% of crun's `run`.
//! `start` and `delete` need no such view and run as they are.

use super::{OciRuntime, Quirks, ReadyChannel, StateLayout};
use crate::subject::SubjectKind;

pub fn subject() -> OciRuntime {
    OciRuntime::new(Quirks {
        kind: SubjectKind::Crun,
        binary: "crun",
        global_args: || vec!["--cgroup-manager=cgroupfs".into()],
        refuses_hybrid_v2_controllers: true,
        ready: ReadyChannel::PreservedFd,
        state: StateLayout::Dir,
        class: "container",
        phrase: "a crun container",
        labels: Vec::new,
        host_check: || Ok(String::new()),
        storage: "bind",
    })
}

//! `runc`: the reference OCI runtime (Go), driven through its command line; all logic is
//! in `oci/mod.rs`. Quirks: none here — it supports hybrid cgroup hosts (it joins the v1
//! controllers and the empty cgroup2 hierarchy alike); cgroupfs is its default manager.
//! `runc create` leaves the container's init process (`runc init`, blocked on the exec
//! fifo until `start`) re-parented to the harness, which is a child subreaper.

use super::{OciRuntime, Quirks, ReadyChannel, StateLayout};
use crate::subject::SubjectKind;

pub fn subject() -> OciRuntime {
    OciRuntime::new(Quirks {
        kind: SubjectKind::Runc,
        binary: "runc",
        global_args: Vec::new,
        refuses_hybrid_v2_controllers: false,
        ready: ReadyChannel::PreservedFd,
        state: StateLayout::Dir,
        class: "container",
        phrase: "a runc container",
        labels: Vec::new,
        host_check: || Ok(String::new()),
        storage: "bind",
    })
}

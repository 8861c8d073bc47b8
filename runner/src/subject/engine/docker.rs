//! `docker`: the Docker engine (dockerd → containerd → containerd-shim-runc-v2 → runc),
//! measured through its CLI; all logic is in `engine.rs`. No quirks: the daemon's
//! defaults (runc, cgroupfs on a v1/hybrid host, json-file logging) are what is measured.

use super::{Engine, EngineQuirks};
use crate::subject::SubjectKind;

pub fn subject() -> Engine {
    Engine::new(EngineQuirks {
        kind: SubjectKind::Docker,
        binary: "docker",
        phrase: "a Docker container",
        global_args: Vec::new,
        run_args: Vec::new,
        runtime_query: "{{.DefaultRuntime}}",
        notes: "Daemon defaults.",
        storage_query: "{{.Driver}}",
    })
}

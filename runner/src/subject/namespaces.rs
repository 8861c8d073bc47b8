//! `namespaces`: the probe exec'd by a clone3() child in fresh namespaces — what a
//! container is before its runtime does anything else (no rootfs, no cgroup, no
//! pivot_root). In the `startup` scenario its cases are `all` (every CLONE_NEW* type) and
//! `container` (pid, mnt, uts, ipc, net: what runc creates by default).
//!
//! The per-namespace `clone()` cost without an exec is the `clone` scenario
//! (`scenario/clone/`), which uses the same clone3 primitive.
//!
//! Timer: `t0` before clone3; `ready` when the probe's byte arrives on its inherited pipe
//! fd; `total` when wait4 returns.

use std::collections::BTreeMap;

use super::{Description, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::probe::ProbeMode;
use crate::subject::child::NsProbe;
use crate::sys::ns;
use crate::workdir::Env;

#[derive(Debug, Default)]
pub struct Namespaces;

fn flags_of(case: &str) -> Option<u64> {
    match case {
        "all" => Some(ns::all_flags()),
        "container" => Some(ns::container_flags()),
        other => ns::by_name(other).map(|n| n.flag),
    }
}

impl Subject for Namespaces {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Namespaces
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        if !cfg!(target_arch = "x86_64") {
            return Err(Unavailable::new(
                "clone3 child trampoline is implemented for x86_64 only",
                "run on x86_64",
            ));
        }
        if !env.is_root {
            return Err(Unavailable::new(
                "creating pid, mount, uts, ipc, net, cgroup and time namespaces needs CAP_SYS_ADMIN",
                "run isobench as root (sudo isobench run ...)",
            ));
        }
        Ok(())
    }

    /// A mount namespace copied from the host's: the host's file system, a private
    /// directory in the work directory.
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        Some(super::WorkloadStorage::new(
            super::WorkloadDir::Host,
            "host-fs",
        ))
    }

    fn describe(&self) -> Description {
        Description {
            name: "namespaces".into(),
            class: "namespaces",
            phrase: "a process in fresh namespaces".into(),
            version: None,
            method: "clone3(CLONE_VM|CLONE_NEW*) child that execve()s the probe; ready = byte on inherited pipe; total = wait4".into(),
        }
    }

    fn cases(&self, _env: &Env) -> Vec<String> {
        vec!["container".into(), "all".into()]
    }

    fn labels(&self, case: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        if let Some(f) = flags_of(case) {
            l.insert("namespaces".into(), ns::case_name(f));
        }
        l
    }

    /// Not in the `throttle` scenario: one skipped line says why.
    fn launch_limited(
        &mut self,
        _env: &Env,
        _case: &str,
        _mode: &ProbeMode,
        _limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        Err(SubjectError::Unsupported(Unavailable::new(
            "the namespaces subject is a bare clone3 in fresh namespaces with no cgroup of its own (by design: what a container is before its runtime does anything else); a cgroup limit does not depend on namespaces, so it would measure the `process` subject again",
            "see the `process` subject (the probe in a limited cgroup) and `sandbox` (namespaces + rootfs + a limited cgroup)",
        )))
    }

    fn launch(
        &mut self,
        env: &Env,
        case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        let flags = flags_of(case).ok_or_else(|| SubjectError::UnknownCase {
            subject: "namespaces",
            case: case.to_string(),
            known: ["container", "all"]
                .into_iter()
                .chain(ns::ALL.iter().map(|n| n.name))
                .map(String::from)
                .collect(),
        })?;
        Ok(Box::new(NsProbe::spawn(env, flags, mode)?))
    }
}

//! `process`: the probe as a plain child process, the baseline every other subject is
//! compared with.
//!
//! Spawn path: clone3(CLONE_VM | CLONE_VFORK) into a few instructions of inline assembly
//! that dup2 and execve the probe — `vfork` + `execve`, the `namespaces` subject's
//! launcher with no namespace flag (`NsProbe`). No page-table copy, so the figure does not
//! depend on the harness's size. Not posix_spawn(3): glibc's posix_spawn child resets the
//! disposition of every signal before execve (126 rt_sigaction calls per launch under
//! strace), which put the baseline 11–22 % above a C vfork+execve loop of the same probe;
//! with this path the two agree (0.87–1.06, `fixtures/reference/compare.sh`).
//! Timer: `t0` just before the launch (ready pipe, argument strings, clone3); `ready` when
//! the probe's byte is read from its ready pipe (after execve, the static start and the
//! probe's first write); `total` when wait4 returns the exit status.

use super::{Description, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::probe::ProbeMode;
use crate::workdir::Env;

#[derive(Debug, Default)]
pub struct Process;

impl Subject for Process {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Process
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        if env.probe.is_file() {
            Ok(())
        } else {
            Err(Unavailable::new(
                format!("probe binary {} is missing", env.probe.display()),
                "re-run isobench",
            ))
        }
    }

    /// The host's own file system: a private directory in the work directory.
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        Some(super::WorkloadStorage::new(
            super::WorkloadDir::Host,
            "host-fs",
        ))
    }

    fn describe(&self) -> Description {
        Description {
            name: "process".into(),
            class: "process",
            phrase: "a plain process".into(),
            version: None,
            method: "clone3(CLONE_VM|CLONE_VFORK) + execve of the static probe (vfork semantics, not posix_spawn); ready = byte on an inherited pipe; total = wait4".into(),
        }
    }

    fn launch(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        Ok(Box::new(crate::subject::child::NsProbe::spawn(
            env,
            libc::CLONE_VFORK as u64,
            mode,
        )?))
    }

    /// The probe in a fresh cgroup of its own, joined before execve.
    fn launch_limited(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
        limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        Ok(Box::new(crate::subject::limits::spawn_probe_in_cgroup(
            env, mode, limits,
        )?))
    }
}

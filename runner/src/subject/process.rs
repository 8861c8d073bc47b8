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

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::{Description, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::probe::ProbeMode;
use crate::sys;
use crate::workdir::Env;

/// The fd number the probe finds its ready pipe on.
pub const READY_FD: i32 = 3;

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
        Ok(Box::new(super::namespaces::NsProbe::spawn(
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
        limits: &super::limited::Limits,
    ) -> Result<Box<dyn super::limited::LimitedInstance>, SubjectError> {
        Ok(Box::new(super::limited::spawn_probe_in_cgroup(
            env, mode, limits,
        )?))
    }
}

/// Wait for our child `pid` until `deadline`; on timeout kill it (SIGKILL), reap it, and
/// return `ExitTimeout`. Ctrl-C is honoured the same way.
///
/// Uses a pidfd and poll(2), so the exit is seen the moment it happens (no sleep loop).
pub fn wait_pid_deadline(
    pid: i32,
    deadline: Instant,
) -> Result<sys::process::Reaped, SubjectError> {
    let start = Instant::now();
    let pidfd = sys::process::pidfd_open(pid)
        .map_err(|e| SubjectError::io(format!("pidfd_open({pid})"), e))?;
    loop {
        let now = Instant::now();
        let interrupted = sys::signals::interrupted();
        if now >= deadline || interrupted.is_some() {
            let _ = sys::process::kill(pid, libc::SIGKILL);
            let _ = sys::process::wait4(pid, true);
            if let Some(sig) = interrupted {
                return Err(SubjectError::Marker(
                    crate::measure::MarkerError::Interrupted(sys::signals::name(sig)),
                ));
            }
            return Err(SubjectError::ExitTimeout(
                deadline.saturating_duration_since(start),
            ));
        }
        let slice = (deadline - now).min(Duration::from_millis(250));
        match sys::poll_readable(pidfd.as_raw_fd(), slice) {
            Ok(sys::PollOutcome::Readable) => loop {
                match sys::process::wait4(pid, true) {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(SubjectError::io(format!("wait4({pid})"), e)),
                }
            },
            Ok(_) => {}
            Err(e) => return Err(SubjectError::io(format!("poll pidfd of {pid}"), e)),
        }
    }
}

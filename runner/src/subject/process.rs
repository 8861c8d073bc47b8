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
//!
//! [`spawn_probe`] (posix_spawn, ready pipe on fd 3) stays for helpers that need a probe
//! process outside a timed window (e.g. the cgroup bench's holder).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::env::Env;
use crate::probe::ProbeMode;
use crate::sys;

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

/// A spawned probe process.
#[derive(Debug)]
pub struct SpawnedProbe {
    pub pid: i32,
    ready_rd: OwnedFd,
    reaped: bool,
}

/// Spawn the probe with its ready pipe on fd 3 and stdout/stderr inherited; `extra_env`
/// entries are `KEY=value`.
pub fn spawn_probe(
    env: &Env,
    mode: &ProbeMode,
    extra_env: &[String],
) -> Result<SpawnedProbe, SubjectError> {
    let (rd, wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
    let probe = env.probe.to_string_lossy().into_owned();
    let mut argv = vec![probe.clone()];
    argv.extend(mode.args());
    argv.push("--ready-fd".into());
    argv.push(READY_FD.to_string());
    let mut envp = vec!["PATH=/usr/bin:/bin".to_string()];
    envp.extend(extra_env.iter().cloned());
    // Map the write end to fd 3 (dup2 clears close-on-exec on the copy). In `ready` and
    // `hang` modes the probe's stdout (its `ISOBENCH-DONE` line) goes to /dev/null so it
    // does not mix with isobench's own output; other modes inherit it.
    let devnull = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|e| SubjectError::io("open /dev/null", e))?;
    let mut fd_map = vec![(wr.as_raw_fd(), READY_FD)];
    if matches!(mode, ProbeMode::Ready | ProbeMode::Hang) {
        fd_map.push((devnull.as_raw_fd(), 1));
    }
    let pid = sys::process::spawn(&probe, &argv, &envp, &fd_map)
        .map_err(|e| SubjectError::io(format!("posix_spawn {probe}"), e))?;
    drop(wr);
    Ok(SpawnedProbe {
        pid,
        ready_rd: rd,
        reaped: false,
    })
}

impl Instance for SpawnedProbe {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(crate::measure::wait_byte(self.ready_rd.as_fd(), deadline)?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = wait_pid_deadline(self.pid, deadline)?;
        self.reaped = true;
        let at = Instant::now();
        if r.code != Some(0) {
            return Err(SubjectError::PayloadFailed(match (r.code, r.signal) {
                (Some(c), _) => format!("exit code {c}"),
                (_, Some(s)) => format!("signal {s}"),
                _ => "unknown status".into(),
            }));
        }
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output: String::new(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::wait4(self.pid, true);
            self.reaped = true;
        }
        Ok(())
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        crate::footprint::of_pids(&[self.pid]).metrics("payload")
    }
}

impl Drop for SpawnedProbe {
    fn drop(&mut self) {
        let _ = self.teardown();
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

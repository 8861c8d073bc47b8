//! `bwrap`: bubblewrap, namespaces and a rootfs without cgroups (what Flatpak uses).
//!
//! Launch: posix_spawn of
//! `bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --die-with-parent
//!  --bind ROOTFS / --proc /proc --dev /dev /isobench-probe MODE --ready-fd 3`
//! with the ready pipe's write end as fd 3 (bwrap passes inherited fds on to the payload)
//! and stdout/stderr captured through pipes.
//!
//! Timer: `t0` before posix_spawn of bwrap (harness); `ready` when the probe's byte
//! arrives on the pipe; `total` when wait4 reaps bwrap (which waits for its payload);
//! phase `exit` = ready to reaped. `--die-with-parent` makes the payload die with bwrap,
//! so killing bwrap on a timeout removes everything.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::measure::{LineWaiter, MarkerError};
use crate::probe::ProbeMode;
use crate::subject::child::READY_FD;
use crate::sys;
use crate::workdir::Env;

#[derive(Debug, Default)]
pub struct Bwrap {
    binary: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    version: Option<String>,
}

/// `bwrap --version` prints `bubblewrap 0.8.0`.
fn parse_version(line: &str) -> Option<String> {
    line.split_whitespace()
        .last()
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

impl Subject for Bwrap {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Bwrap
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
            "bubblewrap does not use cgroups: nothing to throttle",
            "compare the `sandbox`, `runc` or `crun` subjects, which put the same kind of container in a cgroup",
        )))
    }

    fn available(&self, _env: &Env) -> Result<(), Unavailable> {
        if crate::subprocess::which("bwrap").is_none() {
            return Err(Unavailable::new(
                "bwrap (bubblewrap) is not on PATH",
                "apt-get install bubblewrap",
            ));
        }
        Ok(())
    }

    /// The generated rootfs directory, bind-mounted as the container's `/` (`--bind ROOTFS /`).
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        Some(super::WorkloadStorage::new(
            super::WorkloadDir::InSubject(super::rootfs::WORKLOAD_DIR),
            "bind",
        ))
    }

    fn describe(&self) -> Description {
        let version = self.version.clone().or_else(|| {
            crate::subprocess::version_line("bwrap", &["--version"]).and_then(|l| parse_version(&l))
        });
        Description {
            name: "bwrap".into(),
            class: "container",
            phrase: "a bubblewrap sandbox".into(),
            version,
            method: "posix_spawn of bwrap --unshare-pid/net/ipc/uts --die-with-parent --bind ROOTFS / --proc /proc --dev /dev; ready = byte on fd 3 passed through; total = wait4 of bwrap".into(),
        }
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        let binary = crate::subprocess::which("bwrap").ok_or(SubjectError::NotOnPath {
            program: "bwrap",
            fix: "apt-get install bubblewrap",
        })?;
        self.version = crate::subprocess::version_line(&binary.to_string_lossy(), &["--version"])
            .and_then(|l| parse_version(&l));
        self.rootfs = Some(crate::subject::rootfs::get(env)?);
        self.binary = Some(binary);
        Ok(())
    }

    fn launch(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        if self.binary.is_none() || self.rootfs.is_none() {
            self.prepare(env)?;
        }
        let (Some(binary), Some(rootfs)) = (&self.binary, &self.rootfs) else {
            return Err(SubjectError::NotPrepared { subject: "bwrap" });
        };
        Ok(Box::new(BwrapInstance::spawn(binary, rootfs, mode)?))
    }
}

/// The bwrap command line (program name first).
pub fn command_line(binary: &str, rootfs: &str, mode: &ProbeMode) -> Vec<String> {
    let mut argv: Vec<String> = [
        binary,
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--bind",
        rootfs,
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        crate::subject::rootfs::PROBE_IN_ROOTFS,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(mode.args());
    argv.push("--ready-fd".into());
    argv.push(READY_FD.to_string());
    argv
}

/// One running bwrap.
pub struct BwrapInstance {
    pid: i32,
    reaped: bool,
    ready_rd: OwnedFd,
    stdout: LineWaiter<File>,
    stderr: File,
    ready_at: Option<Instant>,
    exit_at: Option<Instant>,
}

impl std::fmt::Debug for BwrapInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BwrapInstance({})", self.pid)
    }
}

/// A pipe whose write end is not `avoid` (so a later dup2 onto `avoid` cannot clobber it).
fn pipe_avoiding(avoid: i32) -> Result<(OwnedFd, OwnedFd), SubjectError> {
    let (rd, mut wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
    if wr.as_raw_fd() == avoid {
        // try_clone uses F_DUPFD_CLOEXEC: a new number, `avoid` itself being taken.
        wr = wr.try_clone().map_err(|e| SubjectError::io("dup", e))?;
    }
    Ok((rd, wr))
}

impl BwrapInstance {
    fn spawn(
        binary: &std::path::Path,
        rootfs: &std::path::Path,
        mode: &ProbeMode,
    ) -> Result<BwrapInstance, SubjectError> {
        let (ready_rd, ready_wr) = pipe_avoiding(READY_FD)?;
        let (out_rd, out_wr) = pipe_avoiding(READY_FD)?;
        let (err_rd, err_wr) = pipe_avoiding(READY_FD)?;
        let bin = binary.to_string_lossy().into_owned();
        let argv = command_line(&bin, &rootfs.to_string_lossy(), mode);
        let envp = vec!["PATH=/usr/bin:/bin".to_string()];
        // stdout/stderr first, then fd 3: none of the sources is 3 (pipe_avoiding), so no
        // dup2 clobbers a source a later one needs.
        let pid = sys::process::spawn(
            &bin,
            &argv,
            &envp,
            &[
                (out_wr.as_raw_fd(), 1),
                (err_wr.as_raw_fd(), 2),
                (ready_wr.as_raw_fd(), READY_FD),
            ],
        )
        .map_err(|source| SubjectError::Spawn {
            command: argv.join(" "),
            source,
        })?;
        drop((ready_wr, out_wr, err_wr));
        Ok(BwrapInstance {
            pid,
            reaped: false,
            ready_rd,
            stdout: LineWaiter::new(File::from(out_rd)),
            stderr: File::from(err_rd),
            ready_at: None,
            exit_at: None,
        })
    }

    /// What bwrap said on stderr (it has exited: read what is buffered, without blocking).
    fn stderr_text(&mut self) -> String {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(sys::PollOutcome::Readable) =
            sys::poll_readable(self.stderr.as_raw_fd(), Duration::from_millis(100))
        {
            match sys::read(self.stderr.as_raw_fd(), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
            if text.len() > 64 * 1024 {
                break;
            }
        }
        String::from_utf8_lossy(&text).trim().to_string()
    }

    fn kill(&mut self) {
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::wait4(self.pid, true);
            self.reaped = true;
        }
    }
}

impl Instance for BwrapInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match crate::measure::wait_byte(self.ready_rd.as_fd(), deadline) {
            Ok(t) => {
                self.ready_at = Some(t);
                Ok(t)
            }
            Err(MarkerError::Eof(_)) => {
                // bwrap failed before the payload ran: its stderr says why.
                let r = crate::subject::child::wait_pid_deadline(self.pid, deadline);
                self.reaped = true;
                let status = match r {
                    Ok(r) => format!("exit code {:?}, signal {:?}", r.code, r.signal),
                    Err(e) => e.to_string(),
                };
                Err(SubjectError::PayloadFailed(format!(
                    "bwrap ended before the ready marker ({status}): {}",
                    self.stderr_text()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        if let Err(e) = self.stdout.read_to_end(deadline) {
            self.kill();
            return Err(match e {
                MarkerError::Timeout(_) => SubjectError::ExitTimeout(
                    deadline.saturating_duration_since(self.ready_at.unwrap_or_else(Instant::now)),
                ),
                other => other.into(),
            });
        }
        let r = crate::subject::child::wait_pid_deadline(self.pid, deadline)?;
        self.reaped = true;
        let at = Instant::now();
        self.exit_at = Some(at);
        let output = self.stdout.text.clone();
        if r.code != Some(0) {
            return Err(SubjectError::PayloadFailed(format!(
                "bwrap exited with code {:?}, signal {:?}: {}",
                r.code,
                r.signal,
                self.stderr_text()
            )));
        }
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output,
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        self.kill();
        Ok(())
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        match (self.ready_at, self.exit_at) {
            (Some(r), Some(x)) => vec![("exit".into(), x.saturating_duration_since(r))],
            _ => Vec::new(),
        }
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        // bwrap itself and its payload (its descendants).
        let mut pids = vec![self.pid];
        pids.extend(descendants(self.pid));
        crate::measure::footprint::of_pids(&pids).metrics("payload")
    }
}

/// Children of `pid` (recursively), from /proc/PID/task/*/children.
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                for c in s.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
                    out.push(c);
                    todo.push(c);
                }
            }
        }
    }
    out
}

impl Drop for BwrapInstance {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_and_command_line() {
        assert_eq!(
            super::parse_version("bubblewrap 0.8.0").as_deref(),
            Some("0.8.0")
        );
        assert_eq!(super::parse_version("bwrap: unknown"), None);
        let argv = super::command_line("bwrap", "/r", &crate::probe::ProbeMode::Ready);
        let s = argv.join(" ");
        assert!(s.starts_with("bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --die-with-parent --bind /r / --proc /proc --dev /dev /isobench-probe ready"), "{s}");
        assert!(s.ends_with("--ready-fd 3"), "{s}");
    }
}

//! Running external commands (runtimes, engines, qemu-img, ...) with a timeout.
//!
//! Every external command isobench runs goes through `run`: output is collected on
//! threads so a chatty child cannot block on a full pipe, and a child still running at
//! the deadline (or when Ctrl-C arrives) is killed and reaped.
//!
//! Reading a pipe to its end can take for ever: the end comes when the *last* holder of
//! the write side closes it, and a command may leave a process behind that still holds
//! its stdout or stderr. So no reader is ever joined without a deadline ([`PipeReader`],
//! [`end_pipes`]): each command runs in a process group of its own, and once it has
//! exited, a pipe still open after [`PIPE_GRACE`] gets the whole group SIGKILLed, and a
//! pipe still open [`PIPE_GIVE_UP`] after that (held by a process that left the group) is
//! abandoned, its reader left to finish on its own.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a child's pipes may stay open after it exited before its process group is
/// killed.
pub const PIPE_GRACE: Duration = Duration::from_millis(500);

/// How long the pipes may stay open after the group was killed before they are
/// abandoned.
pub const PIPE_GIVE_UP: Duration = Duration::from_secs(2);

/// A thread draining a pipe (or any reader) to its end, without ever being joined: what
/// it read so far can be taken at any time.
#[derive(Debug)]
pub struct PipeReader {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
    ended: bool,
}

impl PipeReader {
    pub fn spawn<R: Read + Send + 'static>(mut r: R) -> PipeReader {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let shared = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match r.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => lock(&shared).extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        PipeReader {
            buf,
            done,
            ended: false,
        }
    }

    /// A reader of nothing (a pipe that was not set up).
    pub fn empty() -> PipeReader {
        let (_, done) = mpsc::channel();
        PipeReader {
            buf: Arc::default(),
            done,
            ended: true,
        }
    }

    /// Wait until the end of the pipe was read, or `deadline`; whether it was.
    pub fn wait_end(&mut self, deadline: Instant) -> bool {
        if !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            self.ended = !matches!(
                self.done.recv_timeout(left),
                Err(mpsc::RecvTimeoutError::Timeout)
            );
        }
        self.ended
    }

    /// What was read so far: all of it once `wait_end` returned true.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut *lock(&self.buf))
    }
}

fn lock(b: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    // A reader thread cannot panic while holding it; keep going if one did.
    b.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pipes of a child that has exited or was killed and is not reaped yet (so the
/// process group `pgid` it leads cannot have been reused): each gets [`PIPE_GRACE`] to
/// reach its end; if one is still open, a process the child left behind holds it, so the
/// group is SIGKILLed and they get [`PIPE_GIVE_UP`] more. Whether every pipe ended (a
/// process that left the group can hold one for ever; its reader is then abandoned).
pub fn end_pipes(pipes: &mut [&mut PipeReader], pgid: i32) -> bool {
    // Every pipe is waited for (no short circuit): each keeps what it read.
    let all_end = |pipes: &mut [&mut PipeReader], deadline| {
        let mut all = true;
        for p in pipes.iter_mut() {
            all &= p.wait_end(deadline);
        }
        all
    };
    if all_end(pipes, Instant::now() + PIPE_GRACE) {
        return true;
    }
    let _ = crate::sys::process::kill_group(pgid, libc::SIGKILL);
    all_end(pipes, Instant::now() + PIPE_GIVE_UP)
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {timeout:?}; it was killed")]
    Timeout { command: String, timeout: Duration },
    #[error("`{command}` was interrupted by {signal}; it was killed")]
    Interrupted {
        command: String,
        signal: &'static str,
    },
    #[error("waiting for `{command}` failed: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
}

/// Printable form of a command line.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run to completion, capturing stdout and stderr, killing it at `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, ExecError> {
    run_inner(cmd, timeout, true)
}

/// `run` for clean-up commands (`runc delete`, `docker rm -f`): not cut short by Ctrl-C,
/// which is what asks for the clean-up; only the timeout stops them.
pub fn run_cleanup(cmd: &mut Command, timeout: Duration) -> Result<Output, ExecError> {
    run_inner(cmd, timeout, false)
}

fn run_inner(
    cmd: &mut Command,
    timeout: Duration,
    honour_signals: bool,
) -> Result<Output, ExecError> {
    let command = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so what it leaves behind can be killed with it (module doc).
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    let mut out = child
        .stdout
        .take()
        .map_or_else(PipeReader::empty, PipeReader::spawn);
    let mut err = child
        .stderr
        .take()
        .map_or_else(PipeReader::empty, PipeReader::spawn);
    let status = wait_inner(
        &mut child,
        Instant::now() + timeout,
        &command,
        timeout,
        honour_signals,
        &mut [&mut out, &mut err],
    )?;
    Ok(Output {
        status,
        stdout: out.take(),
        stderr: err.take(),
    })
}

/// `run`, and an error carrying stderr when the exit status is not success.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<Output, ExecError> {
    let command = describe(cmd);
    let out = run(cmd, timeout)?;
    if !out.status.success() {
        return Err(ExecError::Failed {
            command,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// Wait for `child` (the leader of its own process group) until `deadline`; kill its
/// group and reap it on timeout or Ctrl-C. Once it has exited, and before it is reaped,
/// `pipes` are ended with [`end_pipes`].
fn wait_inner(
    child: &mut Child,
    deadline: Instant,
    command: &str,
    timeout: Duration,
    honour_signals: bool,
    pipes: &mut [&mut PipeReader],
) -> Result<ExitStatus, ExecError> {
    let pid = child.id() as i32;
    let wait_err = |source| ExecError::Wait {
        command: command.to_string(),
        source,
    };
    let kill = |child: &mut Child| {
        // Not reaped yet: the group ID is still ours to signal.
        let _ = crate::sys::process::kill_group(pid, libc::SIGKILL);
        let _ = child.kill();
        let _ = child.wait();
    };
    let mut sleep = Duration::from_micros(200);
    loop {
        if crate::sys::process::exited_unreaped(pid).map_err(wait_err)? {
            end_pipes(pipes, pid);
            return child.wait().map_err(wait_err);
        }
        if let Some(sig) = crate::sys::signals::interrupted().filter(|_| honour_signals) {
            kill(child);
            return Err(ExecError::Interrupted {
                command: command.to_string(),
                signal: crate::sys::signals::name(sig),
            });
        }
        if Instant::now() >= deadline {
            kill(child);
            return Err(ExecError::Timeout {
                command: command.to_string(),
                timeout,
            });
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(20));
    }
}

/// First line of `program args` stdout+stderr, or `None` when it cannot run (5 s limit).
pub fn version_line(program: &str, args: &[&str]) -> Option<String> {
    let out = run(Command::new(program).args(args), Duration::from_secs(5)).ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// Full path of `program` on PATH, like `which`.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/local/sbin"]
                .iter()
                .map(std::path::PathBuf::from),
        )
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
/// The first token that looks like a version number in a `--version` line.
pub fn extract_version(line: &str) -> String {
    line.split(|ch: char| ch.is_whitespace() || ch == ',')
        .map(|t| t.trim_start_matches('v'))
        .find(|t| t.chars().next().is_some_and(|ch| ch.is_ascii_digit()) && t.contains('.'))
        .map(str::to_string)
        .unwrap_or_else(|| line.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions() {
        assert_eq!(super::extract_version("runc version 1.1.5"), "1.1.5");
        assert_eq!(
            super::extract_version("QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)"),
            "7.2.19"
        );
        assert_eq!(super::extract_version("bubblewrap 0.8.0"), "0.8.0");
        assert_eq!(
            super::extract_version("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary."),
            "1.35.0"
        );
        assert_eq!(super::extract_version("24.0.7"), "24.0.7");
    }
}

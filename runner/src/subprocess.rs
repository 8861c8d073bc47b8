//! Running external commands (runtimes, engines, qemu-img, ...) with a timeout.
//!
//! Every external command isobench runs goes through `run`: output is collected on
//! threads so a chatty child cannot block on a full pipe, and a child still running at
//! the deadline (or when Ctrl-C arrives) is killed and reaped.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    let out = child.stdout.take();
    let err = child.stderr.take();
    let t_out = std::thread::spawn(move || read_all(out));
    let t_err = std::thread::spawn(move || read_all(err));
    let status = wait_inner(
        &mut child,
        Instant::now() + timeout,
        &command,
        timeout,
        honour_signals,
    )?;
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
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

fn read_all<R: Read>(r: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        let _ = r.read_to_end(&mut buf);
    }
    buf
}

/// Wait for `child` until `deadline`; kill and reap it on timeout or Ctrl-C.
pub fn wait_deadline(
    child: &mut Child,
    deadline: Instant,
    command: &str,
    timeout: Duration,
) -> Result<ExitStatus, ExecError> {
    wait_inner(child, deadline, command, timeout, true)
}

fn wait_inner(
    child: &mut Child,
    deadline: Instant,
    command: &str,
    timeout: Duration,
    honour_signals: bool,
) -> Result<ExitStatus, ExecError> {
    let mut sleep = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Ok(st),
            Ok(None) => {}
            Err(source) => {
                return Err(ExecError::Wait {
                    command: command.to_string(),
                    source,
                })
            }
        }
        if let Some(sig) = crate::sys::signals::interrupted().filter(|_| honour_signals) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ExecError::Interrupted {
                command: command.to_string(),
                signal: crate::sys::signals::name(sig),
            });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
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

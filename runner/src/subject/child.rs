//! Shared leaf of the subjects: waiting for and describing the processes they start,
//! and the probe exec'd by a clone3() child (`NsProbe`: the `process` subject's launcher
//! with no namespace flag, the `namespaces` subject's with them). Subjects import this
//! module, never each other.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Exit, Instance, SubjectError, Unavailable};
use crate::probe::ProbeMode;
use crate::sys;
use crate::sys::clone::ChildStack;
use crate::sys::ns;
use crate::workdir::Env;

/// The fd number the probe finds its ready pipe on.
pub const READY_FD: i32 = 3;

/// Wait for our child `pid` until `deadline`; on timeout kill it (SIGKILL), reap it, and
/// return `ExitTimeout`. Ctrl-C is honoured the same way.
///
/// Uses a pidfd and poll(2), so the exit is seen the moment it happens (no sleep loop).
pub fn wait_pid_deadline(
    pid: i32,
    deadline: Instant,
) -> Result<sys::process::Reaped, SubjectError> {
    let start = Instant::now();
    let pidfd =
        sys::process::pidfd_open(pid).map_err(|e| SubjectError::pid("pidfd_open", pid, e))?;
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
                    Err(e) => return Err(SubjectError::pid("wait4", pid, e)),
                }
            },
            Ok(_) => {}
            Err(e) => return Err(SubjectError::pid("poll the pidfd", pid, e)),
        }
    }
}
/// Wait for `pid` to exit: reaped by us when it is our child (we are a subreaper), else
/// watched through a pidfd (exit status then unknown: code and signal `None`). Kills it
/// at the deadline.
pub fn wait_any_pid(pid: i32, deadline: Instant) -> Result<sys::process::Reaped, SubjectError> {
    if parent_of(pid) == Some(std::process::id() as i32) {
        return crate::subject::child::wait_pid_deadline(pid, deadline);
    }
    let pidfd = match sys::process::pidfd_open(pid) {
        Ok(fd) => fd,
        // Already gone (and reaped by someone else).
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(unknown_exit(pid)),
        Err(e) => return Err(SubjectError::pid("pidfd_open", pid, e)),
    };
    let start = Instant::now();
    loop {
        let now = Instant::now();
        if let Some(sig) = sys::signals::interrupted() {
            let _ = sys::process::kill(pid, libc::SIGKILL);
            return Err(SubjectError::Marker(
                crate::measure::MarkerError::Interrupted(sys::signals::name(sig)),
            ));
        }
        if now >= deadline {
            let _ = sys::process::kill(pid, libc::SIGKILL);
            return Err(SubjectError::ExitTimeout(deadline - start));
        }
        let slice = (deadline - now).min(Duration::from_millis(250));
        match sys::poll_readable(pidfd.as_raw_fd(), slice) {
            Ok(sys::PollOutcome::Readable) => return Ok(unknown_exit(pid)),
            Ok(_) => {}
            Err(e) => return Err(SubjectError::pid("poll the pidfd", pid, e)),
        }
    }
}

fn unknown_exit(pid: i32) -> sys::process::Reaped {
    sys::process::Reaped {
        pid,
        code: None,
        signal: None,
        max_rss_bytes: 0,
        user: Duration::ZERO,
        system: Duration::ZERO,
    }
}

/// The parent pid of `pid` (field 4 of /proc/PID/stat).
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

pub fn status_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => "unknown status".into(),
    }
}

/// The last few hundred bytes of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let t = text.trim();
    if t.is_empty() {
        return "(no output)".into();
    }
    let start = t.char_indices().rev().nth(600).map(|(i, _)| i).unwrap_or(0);
    t[start..].replace('\n', " | ")
}

/// A probe exec'd in fresh namespaces.
pub struct NsProbe {
    pid: i32,
    ready_rd: OwnedFd,
    /// The probe's stdout, for modes that print results ([`ProbeMode::prints_results`]).
    output: Option<crate::subprocess::PipeReader>,
    reaped: bool,
    // Kept alive until the child has exec'd (it reads them through CLONE_VM): the
    // strings, the pointer arrays and the stack. Freed only after the child is reaped.
    _strings: Vec<CString>,
    _argv: Vec<*const libc::c_char>,
    _envp: Vec<*const libc::c_char>,
    _stack: Box<ChildStack>,
}

impl std::fmt::Debug for NsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NsProbe({})", self.pid)
    }
}

impl NsProbe {
    /// The probe's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn spawn(env: &Env, flags: u64, mode: &ProbeMode) -> Result<NsProbe, SubjectError> {
        // The write end must survive execve: a pipe without O_CLOEXEC on the write side.
        let (rd, wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let wr_fd = wr.as_raw_fd();
        sys::clear_cloexec(wr_fd)
            .map_err(|e| SubjectError::io("fcntl(F_SETFD) on the ready pipe", e))?;
        let path = CString::new(env.probe.as_os_str().as_encoded_bytes())
            .map_err(|e| SubjectError::nul("probe path", e))?;
        let mut strings = vec![path];
        for a in mode.args() {
            strings.push(CString::new(a).map_err(|e| SubjectError::nul("probe argument", e))?);
        }
        strings.push(CString::new("--ready-fd").unwrap_or_default());
        strings.push(CString::new(wr_fd.to_string()).unwrap_or_default());
        let env_str = CString::new("PATH=/usr/bin:/bin").unwrap_or_default();
        let mut argv: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        argv.push(std::ptr::null());
        let envp = vec![env_str.as_ptr(), std::ptr::null()];
        let mut stack = Box::new(ChildStack::new());
        // The probe's result line goes to /dev/null in ready/hang mode; the results of
        // the other modes to a pipe the harness drains (a reader thread, so a long
        // output never blocks the probe on a full pipe).
        let (stdout_wr, output) = if mode.prints_results() {
            let (out_rd, out_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
            let reader = crate::subprocess::PipeReader::spawn(std::fs::File::from(out_rd));
            (out_wr, Some(reader))
        } else {
            let devnull = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(|e| SubjectError::file("open", "/dev/null", e))?;
            (OwnedFd::from(devnull), None)
        };
        let pid = sys::clone::clone_exec(
            flags,
            &mut stack,
            &strings[0],
            &argv,
            &envp,
            Some(stdout_wr.as_raw_fd()),
        )
        .map_err(|source| SubjectError::Clone {
            flags: ns::case_name(flags),
            source,
        })?;
        drop(wr);
        drop(stdout_wr);
        strings.push(env_str);
        Ok(NsProbe {
            pid,
            ready_rd: rd,
            output,
            reaped: false,
            _strings: strings,
            _argv: argv,
            _envp: envp,
            _stack: stack,
        })
    }
}

impl Instance for NsProbe {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(crate::measure::wait_byte(self.ready_rd.as_fd(), deadline)?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = crate::subject::child::wait_pid_deadline(self.pid, deadline)?;
        self.reaped = true;
        let at = Instant::now();
        let output = self.output.take().map(|mut r| {
            r.wait_end(Instant::now() + crate::subprocess::PIPE_GIVE_UP);
            String::from_utf8_lossy(&r.take()).into_owned()
        });
        match (r.code, output) {
            (Some(0), output) => Ok(Exit {
                at: Some(at),
                code: r.code,
                signal: r.signal,
                output: output.unwrap_or_default(),
            }),
            // A mode with results says per result what failed (its status is non-zero
            // then): the caller reads them.
            (Some(c), Some(output)) if c != 127 => Ok(Exit {
                at: Some(at),
                code: r.code,
                signal: r.signal,
                output,
            }),
            (Some(127), _) => Err(SubjectError::PayloadFailed(
                "exit code 127: execve of the probe failed in the new namespaces".into(),
            )),
            (c, _) => Err(SubjectError::PayloadFailed(format!(
                "exit code {c:?}, signal {:?}",
                r.signal
            ))),
        }
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::wait4(self.pid, true);
            self.reaped = true;
        }
        Ok(())
    }

    fn has_teardown(&self) -> bool {
        !self.reaped
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        crate::measure::footprint::of_pids(&[self.pid]).metrics("payload")
    }
}

impl Drop for NsProbe {
    fn drop(&mut self) {
        // The child shares our memory until it execs: never free its stack or strings
        // while it may still run.
        let _ = self.teardown();
    }
}

/// The availability check of a subject that drives a root-only launcher (`lxc-start`,
/// `systemd-nspawn`): the program is installed (`installed`), isobench runs as root
/// (`why_root` says what needs it), and a cgroupfs is mounted.
pub fn require_root_launcher(
    env: &Env,
    installed: bool,
    program: &str,
    package: &str,
    why_root: &str,
) -> Result<(), Unavailable> {
    if !installed {
        return Err(Unavailable::new(
            format!("{program} is not installed (not found on PATH)"),
            format!("apt-get install {package}"),
        ));
    }
    if !env.is_root {
        return Err(Unavailable::new(
            why_root.to_string(),
            "run isobench as root (sudo isobench run ...)",
        ));
    }
    if let Err(e) = crate::cgroup::detect() {
        return Err(Unavailable::new(e.to_string(), "mount cgroupfs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parent_of;

    #[test]
    fn parses_parent_pid() {
        let me = std::process::id() as i32;
        let parent = parent_of(me).expect("ppid of self");
        assert!(parent > 0 && parent != me);
    }
}

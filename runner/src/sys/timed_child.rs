//! Short-lived forked children that time one syscall (`time_in_child`: unshare, setns)
//! or hold a namespace open for others to join (`hold_namespace`). Both fork the
//! multi-threaded harness, so the child runs only async-signal-safe code (see
//! `process::fork_with`); that is why they live here, beside the other `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::ns::NsType;
use super::{process, PollOutcome};

/// Deadline for a child's report.
const CHILD_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a timed child or a namespace holder gave no result.
#[derive(Debug, thiserror::Error)]
pub enum TimedChildError {
    #[error("cannot create a pipe: {0}")]
    Pipe(#[source] io::Error),
    #[error("fork: {0}")]
    Fork(#[source] io::Error),
    /// The timed operation itself failed with this errno.
    #[error("{0}")]
    Op(#[source] io::Error),
    #[error("child reported nothing (exit: {0:?})")]
    NoReport(Option<process::Reaped>),
    #[error("unshare({0}) failed in the holder process")]
    HolderUnshare(&'static str),
    #[error("open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
}

/// Reap our child `pid` within `timeout`, killing it (SIGKILL) if it is still running
/// then; `None` when it could not be reaped.
pub fn reap_within(pid: i32, timeout: Duration) -> Option<process::Reaped> {
    let deadline = Instant::now() + timeout;
    if let Ok(pidfd) = process::pidfd_open(pid) {
        let _ = super::poll_readable(pidfd.as_raw_fd(), timeout);
    }
    loop {
        match process::wait4(pid, false) {
            Ok(Some(r)) => return Some(r),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(None) => {
                let _ = process::kill(pid, libc::SIGKILL);
                return process::wait4(pid, true).ok().flatten();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Run `op` in a forked single-threaded child that times it with CLOCK_MONOTONIC and
/// writes the nanoseconds (or the errno, negated) to a pipe.
pub fn time_in_child(op: impl FnOnce() -> Result<(), i32>) -> Result<Duration, TimedChildError> {
    let ranges = text_ranges();
    let (rd, wr) = super::pipe().map_err(TimedChildError::Pipe)?;
    let wfd = wr.as_raw_fd();
    let child = || -> i32 {
        // After fork every page is copy-on-write: fault in the stack below us (where the
        // syscall wrappers' frames will go) and the clock's code before `t0`, so no COW
        // fault lands inside the timed region (it would add ~1-2 µs depending on where a
        // frame happens to cross a page boundary).
        prefault_stack();
        // Likewise the program and libc text: fork does not copy their page-table
        // entries, so the first execution of each code page in the timed region would
        // be a minor fault (~1 µs here) whose count depends on code layout.
        for &(start, len) in ranges {
            process::populate_read(start, len);
        }
        let _ = process::monotonic_ns();
        let t0 = process::monotonic_ns();
        let r = op();
        let t1 = process::monotonic_ns();
        let v: i64 = match r {
            Ok(()) => (t1 - t0) as i64,
            Err(errno) => -i64::from(errno),
        };
        let _ = super::write_all(wfd, &v.to_ne_bytes());
        0
    };
    // SAFETY: the closure only calls clock_gettime, the namespace syscall and write(2),
    // all async-signal-safe; it allocates nothing.
    let pid = unsafe { process::fork_with(child) }.map_err(TimedChildError::Fork)?;
    drop(wr);
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        match super::poll_readable(
            rd.as_raw_fd(),
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Ok(PollOutcome::Readable) => match super::read(rd.as_raw_fd(), &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => {
                    got = 0;
                    let _ = e;
                    break;
                }
            },
            Ok(PollOutcome::Interrupted) if super::signals::interrupted().is_none() => {}
            _ => break,
        }
    }
    let reaped = reap_within(pid, Duration::from_secs(5));
    if got < 8 {
        return Err(TimedChildError::NoReport(reaped));
    }
    let v = i64::from_ne_bytes(buf);
    if v < 0 {
        return Err(TimedChildError::Op(io::Error::from_raw_os_error(
            (-v) as i32,
        )));
    }
    Ok(Duration::from_nanos(v as u64))
}

/// Executable mappings of this process (program and libraries), read once from
/// /proc/self/maps before any fork, as (start, length).
fn text_ranges() -> &'static [(usize, usize)] {
    static RANGES: std::sync::OnceLock<Vec<(usize, usize)>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let range = f.next()?;
                let perms = f.next()?;
                if !perms.starts_with("r-x") || l.contains("[vdso]") || l.contains("[vsyscall]") {
                    return None;
                }
                let (a, b) = range.split_once('-')?;
                let (a, b) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                (b > a).then_some((a, b - a))
            })
            .collect()
    })
}

/// Write one byte in each page of a 32 KiB stack buffer (no allocation: safe after fork).
#[inline(never)]
fn prefault_stack() {
    let mut pad = [0u8; 32 * 1024];
    for i in (0..pad.len()).step_by(4096) {
        pad[i] = 1;
    }
    std::hint::black_box(&mut pad);
}

/// Keep a namespace of type `t` alive as an fd: a forked child unshares it and waits;
/// we open /proc/CHILD/ns/<entry> and kill the child. The fd holds the namespace.
///
/// A PID namespace can only be opened through `pid_for_children` once it has an init
/// (the kernel returns ENOENT before), so for `pid` the holder forks that init first and
/// reports its pid, and both are killed once the fd is open.
pub fn hold_namespace(t: &NsType) -> Result<OwnedFd, TimedChildError> {
    let (rd, wr) = super::pipe().map_err(TimedChildError::Pipe)?;
    let wfd = wr.as_raw_fd();
    let flag = t.flag as libc::c_int;
    let needs_init = t.flag == libc::CLONE_NEWPID as u64;
    let child = move || -> i32 {
        let ok = super::fs::unshare(flag).is_ok();
        let mut init_pid: i32 = 0;
        if ok && needs_init {
            // fork is async-signal-safe; the grandchild
            // only waits to be killed.
            // SAFETY: the new child only polls until it is killed: async-signal-safe.
            init_pid = unsafe { process::fork_raw() };
            if init_pid == 0 {
                loop {
                    let _ = super::poll_readable(-1, Duration::from_secs(3600));
                }
            }
        }
        let mut msg = [0u8; 5];
        msg[0] = if ok && init_pid >= 0 { b'Y' } else { b'N' };
        msg[1..].copy_from_slice(&init_pid.to_ne_bytes());
        let _ = super::write_all(wfd, &msg);
        loop {
            let _ = super::poll_readable(-1, Duration::from_secs(3600));
        }
    };
    // SAFETY: the closure calls only unshare, fork, write and poll: async-signal-safe.
    let pid = unsafe { process::fork_with(child) }.map_err(TimedChildError::Fork)?;
    drop(wr);
    let mut msg = [0u8; 5];
    let result = (|| {
        let deadline = Instant::now() + CHILD_TIMEOUT;
        let mut got = 0;
        while got < msg.len() {
            match super::poll_readable(
                rd.as_raw_fd(),
                deadline.saturating_duration_since(Instant::now()),
            ) {
                Ok(PollOutcome::Readable) => match super::read(rd.as_raw_fd(), &mut msg[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                },
                Ok(PollOutcome::Interrupted) => {}
                _ => break,
            }
        }
        if got < msg.len() || msg[0] != b'Y' {
            return Err(TimedChildError::HolderUnshare(t.name));
        }
        let path = PathBuf::from(format!("/proc/{pid}/ns/{}", t.proc_entry));
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|source| TimedChildError::Open { path, source })
    })();
    let init_pid = i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]);
    if init_pid > 0 {
        let _ = process::kill(init_pid, libc::SIGKILL);
    }
    let _ = process::kill(pid, libc::SIGKILL);
    let _ = process::wait4(pid, true);
    if init_pid > 0 {
        // Reparented to us when we are a child subreaper (isobench run); otherwise init reaps it.
        let _ = process::wait4(init_pid, false);
    }
    result
}

//! Thin, safe wrappers over the syscalls isobench needs. All of isobench's `unsafe` lives
//! under this module, each block with a `// SAFETY:` comment.
//!
//! Errors are `std::io::Error` from errno; callers add the path or value that failed.

pub mod affinity;
pub mod cgroup_spawn;
pub mod child;
pub mod clone;
pub mod container;
pub mod fs;
pub mod ns;
pub mod process;
pub mod signals;
pub mod spawn;
pub mod timed_child;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Turn a `-1`-style return into `io::Error`.
pub(crate) fn check(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A pipe, both ends close-on-exec: `(read, write)`.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }.into())?;
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Outcome of waiting for a fd to become readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Readable,
    TimedOut,
    /// A signal arrived (poll(2) is never restarted, whatever SA_RESTART says).
    Interrupted,
}

/// poll(2) one fd for input (or hang-up) for at most `timeout`.
pub fn poll_readable(fd: RawFd, timeout: std::time::Duration) -> io::Result<PollOutcome> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd struct, count 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    match rc {
        -1 => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(PollOutcome::Interrupted)
            } else {
                Err(e)
            }
        }
        0 => Ok(PollOutcome::TimedOut),
        _ => Ok(PollOutcome::Readable),
    }
}

/// read(2) into `buf`, retrying on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let rc = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// write(2) all of `buf`.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let rc = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[rc as usize..];
    }
    Ok(())
}

/// 64 random bits from the kernel (getrandom(2)), for names another user must not
/// guess.
pub fn random_u64() -> io::Result<u64> {
    let mut b = [0u8; 8];
    let mut off = 0;
    while off < b.len() {
        // SAFETY: `b[off..]` is valid for writes of `b.len() - off` bytes.
        let n = unsafe { libc::getrandom(b[off..].as_mut_ptr().cast(), b.len() - off, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        off += n as usize;
    }
    Ok(u64::from_ne_bytes(b))
}

/// Effective uid.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// `sync(2)`: write every dirty page back (before dropping the page cache).
pub fn sync() {
    // SAFETY: sync takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::sync() }
}

/// `uname(2)`: (nodename, release, machine).
pub fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain old data; zeroed is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("unknown".into(), "unknown".into(), "unknown".into());
    }
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.nodename), field(&u.release), field(&u.machine))
}

/// Clock ticks per second, for /proc/<pid>/stat times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Clear FD_CLOEXEC so `fd` survives execve (the ready pipe of an exec'd clone child).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl F_SETFD on an integer fd only changes its flags.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }.into()).map(|_| ())
}

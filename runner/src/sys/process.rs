//! Process creation and reaping: posix_spawn, fork for async-signal-safe children,
//! wait4 with rusage, kill.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::check;

/// How a reaped child ended, with its resource usage.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    pub pid: i32,
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Max RSS in bytes (ru_maxrss is KiB on Linux).
    pub max_rss_bytes: u64,
    pub user: Duration,
    pub system: Duration,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000)
}

fn reaped(pid: i32, status: i32, ru: &libc::rusage) -> Reaped {
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Reaped {
        pid,
        code,
        signal,
        max_rss_bytes: (ru.ru_maxrss.max(0) as u64) * 1024,
        user: tv(ru.ru_utime),
        system: tv(ru.ru_stime),
    }
}

/// wait4(2) for `pid`. `block = false` returns `Ok(None)` if it is still running.
/// EINTR is returned as `ErrorKind::Interrupted` so callers can check for Ctrl-C.
pub fn wait4(pid: i32, block: bool) -> io::Result<Option<Reaped>> {
    let mut status = 0;
    // SAFETY: rusage is plain old data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG } | libc::__WALL;
    // SAFETY: `status` and `ru` are valid for writes.
    let rc = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some(reaped(p, status, &ru))),
    }
}

/// kill(2); ESRCH (already gone) is not an error.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to kill pid {pid}"),
        ));
    }
    // SAFETY: kill has no memory effects; pid > 0 targets one process.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// Whether `pid` exists (signal 0).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), used to
/// tell a recycled pid from the process we started.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Spawn `path argv...` with posix_spawn(3), mapping `fd_map` (source -> target fd) into
/// the child and using a fresh environment `envp`.
///
/// glibc implements posix_spawn with clone(CLONE_VM | CLONE_VFORK): the parent is
/// suspended only until the child has exec'd, and no page tables are copied, so the cost
/// does not grow with the harness's memory. This is the spawn path of the `process`
/// subject, chosen for that reason.
pub fn spawn(
    path: &str,
    argv: &[String],
    envp: &[String],
    fd_map: &[(RawFd, RawFd)],
) -> io::Result<i32> {
    let cpath = cstring(path)?;
    let cargv: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
    let cenv: Vec<CString> = envp.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
    let mut argv_p: Vec<*mut libc::c_char> = cargv.iter().map(|c| c.as_ptr() as *mut _).collect();
    argv_p.push(std::ptr::null_mut());
    let mut env_p: Vec<*mut libc::c_char> = cenv.iter().map(|c| c.as_ptr() as *mut _).collect();
    env_p.push(std::ptr::null_mut());

    // SAFETY: posix_spawn_file_actions_t is initialised by the init call before use.
    let mut fa: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
    // SAFETY: `fa` is valid for initialisation.
    let rc = unsafe { libc::posix_spawn_file_actions_init(&mut fa) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    struct Fa(*mut libc::posix_spawn_file_actions_t);
    impl Drop for Fa {
        fn drop(&mut self) {
            // SAFETY: initialised above and destroyed exactly once here.
            unsafe { libc::posix_spawn_file_actions_destroy(self.0) };
        }
    }
    let fa_guard = Fa(&mut fa);
    for &(src, dst) in fd_map {
        // dup2 clears FD_CLOEXEC on the target, so the (close-on-exec) source end can be
        // handed over; when src == dst, dup2 is a no-op that keeps CLOEXEC, hence the
        // adddup2 to a different number is required by callers.
        // SAFETY: `fa` is initialised; the fds are plain integers checked at spawn time.
        let rc = unsafe { libc::posix_spawn_file_actions_adddup2(fa_guard.0, src, dst) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
    }
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid and NUL-terminated arrays end in a null pointer; the
    // CStrings outlive the call.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            cpath.as_ptr(),
            fa_guard.0,
            std::ptr::null(),
            argv_p.as_ptr(),
            env_p.as_ptr(),
        )
    };
    drop(fa_guard);
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(pid)
}

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{s:?} contains a NUL byte"),
        )
    })
}

/// fork(2) a child that runs `child` and then `_exit`s with its return value.
///
/// The harness may be multi-threaded, so `child` must only call async-signal-safe
/// functions (signal-safety(7)): raw syscalls like unshare, setns, clock_gettime, write.
/// No allocation, no locks, no `println!`.
///
/// # Safety
/// The caller guarantees `child` is async-signal-safe in the sense above.
pub unsafe fn fork_with(child: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: fork has no memory preconditions; the child branch below only runs the
    // caller's async-signal-safe closure and _exit.
    let pid = check(unsafe { libc::fork() }.into())? as i32;
    if pid == 0 {
        let code = child();
        // SAFETY: _exit never returns and skips atexit handlers and buffered IO, which
        // belong to the parent.
        unsafe { libc::_exit(code) };
    }
    Ok(pid)
}

/// CLOCK_MONOTONIC in nanoseconds; async-signal-safe (vDSO), for use in forked children.
pub fn monotonic_ns() -> u64 {
    // SAFETY: timespec is plain old data.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// prctl(PR_SET_CHILD_SUBREAPER) so orphans of runtimes we start (runc's init, conmon)
/// are reparented to us and can be reaped instead of lingering.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }.into()).map(|_| ())
}

/// pidfd_open(2) (Linux 5.3+): a fd that polls readable when `pid` exits, so an exit can
/// be waited for with a timeout and without sleeping in a loop (which would quantize the
/// measured exit time).
pub fn pidfd_open(pid: i32) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel just returned this fd; we are its only owner.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) })
}

/// Raw fork(2) for use *inside* an async-signal-safe child (no closure, no allocation):
/// returns 0 in the new child, its pid in the caller, -1 on failure.
///
/// # Safety
/// When the caller is (a fork of) a multi-threaded process, the new child may only run
/// async-signal-safe code (no allocation, no locks) until it execs or exits.
pub unsafe fn fork_raw() -> i32 {
    // SAFETY: fork has no memory preconditions; the caller guarantees the new child only
    // runs async-signal-safe code.
    unsafe { libc::fork() }
}

/// kill(2) of the process group `pgid` (a negative pid).
pub fn kill_group(pgid: i32, sig: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: kill takes integers only.
    check(unsafe { libc::kill(-pgid, sig) }.into()).map(|_| ())
}

/// Whether our child `pid` has exited, without reaping it (waitid(2) `WNOWAIT`): while
/// it is a zombie its pid, and the process group it leads, cannot be reused, so the
/// group can still be signalled safely.
pub fn exited_unreaped(pid: i32) -> io::Result<bool> {
    // SAFETY: siginfo_t is plain old data; zeroed means "no child" to WNOHANG.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `info` is valid for writes.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    check(rc.into())?;
    // SAFETY: waitid filled `info` (or left it zeroed); si_pid reads its pid field.
    Ok(unsafe { info.si_pid() } == pid)
}

/// Whether `pid` is a zombie (exited, not yet reaped): state `Z` in /proc/PID/stat.
pub fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// madvise(MADV_POPULATE_READ) (Linux 5.14+): fault in the page-table entries of a
/// mapped range now. fork(2) does not copy the entries of file-backed read-only mappings
/// (program text), so a freshly forked child takes a minor fault on the first execution
/// of every code page; populating them first keeps those faults out of a timed region.
/// Async-signal-safe (one syscall). Errors (older kernels: EINVAL) are ignored.
pub fn populate_read(addr: usize, len: usize) {
    const MADV_POPULATE_READ: libc::c_int = 22;
    // SAFETY: madvise with POPULATE_READ only reads the range; an invalid range yields an
    // error code, never memory unsafety.
    let _ = unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_POPULATE_READ) };
}

//! Spawning container runtimes with chosen fds in place, optionally in a private mount
//! namespace that hides some mounts (crun on hybrid-cgroup hosts), and polling several
//! fds at once (a runtime's pidfd and the payload's ready pipe).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::check;

/// Lowest fd number `dup_high` returns: above every target fd a spawn maps (0..=3), so
/// the fd actions of one spawn can never overwrite each other's sources.
const HIGH_FD: RawFd = 10;

/// A close-on-exec duplicate of `fd` numbered at least 10.
pub fn dup_high(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only creates a new fd referring to the same file.
    let n = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HIGH_FD) }.into())?;
    // SAFETY: fcntl returned a fresh fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(n as RawFd) })
}

/// posix_spawn `path` with `fd_map` (source -> target) applied in order; sources are
/// first moved above the targets (`dup_high`) so the order does not matter.
pub fn spawn_mapped(
    path: &str,
    argv: &[String],
    envp: &[String],
    fd_map: &[(RawFd, RawFd)],
) -> io::Result<i32> {
    let high: Vec<(OwnedFd, RawFd)> = fd_map
        .iter()
        .map(|&(src, dst)| Ok((dup_high(src)?, dst)))
        .collect::<io::Result<_>>()?;
    let map: Vec<(RawFd, RawFd)> = high.iter().map(|(f, d)| (f.as_raw_fd(), *d)).collect();
    super::process::spawn(path, argv, envp, &map)
}

/// What failed in the child of `spawn_private_mounts` before execve.
const STEP_UNSHARE: u8 = 1;
const STEP_PRIVATE: u8 = 2;
const STEP_UMOUNT: u8 = 3;
const STEP_DUP2: u8 = 4;
const STEP_EXEC: u8 = 5;

fn step_name(step: u8) -> &'static str {
    match step {
        STEP_UNSHARE => "unshare(CLONE_NEWNS)",
        STEP_PRIVATE => "mount(/, MS_REC|MS_PRIVATE)",
        STEP_UMOUNT => "umount2(MNT_DETACH)",
        STEP_DUP2 => "dup2",
        _ => "execve",
    }
}

/// fork + execve `path` in a private mount namespace of its own in which each of `hide`
/// is lazily unmounted first, with `fd_map` applied like `spawn_mapped`.
///
/// Used for crun on hybrid-cgroup hosts: crun refuses to work when the cgroup2 mount at
/// /sys/fs/cgroup/unified lists any controller, and treats a host without that mount as
/// plain cgroup v1 (whose controllers it does support). Only the runtime's own view
/// changes; the host keeps its mounts (MS_PRIVATE stops the unmount from propagating).
///
/// A failure in the child before execve is reported back through a close-on-exec pipe
/// (step and errno), so the caller gets a real error instead of exit status 127.
pub fn spawn_private_mounts(
    path: &str,
    argv: &[String],
    envp: &[String],
    fd_map: &[(RawFd, RawFd)],
    hide: &[&std::path::Path],
) -> io::Result<i32> {
    // Everything the child touches is prepared here: it may only make raw syscalls.
    let cpath = cstring(path)?;
    let cargv: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
    let cenv: Vec<CString> = envp.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
    let chide: Vec<CString> = hide
        .iter()
        .map(|p| cstring(&p.to_string_lossy()))
        .collect::<io::Result<_>>()?;
    let mut argv_p: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = cenv.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());
    let high: Vec<(OwnedFd, RawFd)> = fd_map
        .iter()
        .map(|&(src, dst)| Ok((dup_high(src)?, dst)))
        .collect::<io::Result<_>>()?;
    let map: Vec<(RawFd, RawFd)> = high.iter().map(|(f, d)| (f.as_raw_fd(), *d)).collect();
    let (err_rd, err_wr) = super::pipe()?;
    let err_fd = err_wr.as_raw_fd();
    let root = c"/";

    let child = || -> i32 {
        let fail = |step: u8| -> i32 {
            // SAFETY: __errno_location returns this thread's errno slot.
            let errno = unsafe { *libc::__errno_location() };
            let mut msg = [0u8; 5];
            msg[0] = step;
            msg[1..].copy_from_slice(&errno.to_ne_bytes());
            // SAFETY: write(2) of a stack buffer is async-signal-safe.
            unsafe { libc::write(err_fd, msg.as_ptr().cast(), msg.len()) };
            127
        };
        // SAFETY: unshare/mount/umount2/dup2/execve are raw syscalls (async-signal-safe);
        // every pointer refers to memory prepared before fork and still alive.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail(STEP_UNSHARE);
            }
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return fail(STEP_PRIVATE);
            }
            for h in &chide {
                if libc::umount2(h.as_ptr(), libc::MNT_DETACH) != 0 {
                    return fail(STEP_UMOUNT);
                }
            }
            for &(src, dst) in &map {
                if libc::dup2(src, dst) < 0 {
                    return fail(STEP_DUP2);
                }
            }
            libc::execve(cpath.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
        }
        fail(STEP_EXEC)
    };
    // SAFETY: `child` only makes async-signal-safe syscalls on pre-built data.
    let pid = unsafe { super::process::fork_with(child) }?;
    drop(err_wr);
    drop(high);
    let mut msg = [0u8; 5];
    let n = super::read(err_rd.as_raw_fd(), &mut msg)?;
    if n == msg.len() {
        let _ = super::process::wait4(pid, true);
        let errno = i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]);
        let e = io::Error::from_raw_os_error(errno);
        return Err(io::Error::new(
            e.kind(),
            format!("{} before running {path}: {e}", step_name(msg[0])),
        ));
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

/// poll(2) `fds` for input (or hang-up) for at most `timeout`; returns which are ready
/// (all false on timeout or EINTR).
pub fn poll_any(fds: &[RawFd], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structs.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if rc == -1 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// Our own pid.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail and touches no memory.
    unsafe { libc::getpid() }
}

/// Current (soft, hard) limit of `resource` (`libc::RLIMIT_*`); `u64::MAX` is unlimited.
pub fn getrlimit(resource: libc::__rlimit_resource_t) -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is valid for writes.
    check(unsafe { libc::getrlimit(resource, &mut r) }.into())?;
    Ok((r.rlim_cur, r.rlim_max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn mounted(mountinfo: &str, target: &str) -> bool {
        mountinfo
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some(target))
    }

    #[test]
    fn hides_a_mount_from_the_child_only() {
        let target = "/sys/fs/cgroup/unified";
        let host = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        if !mounted(&host, target) {
            eprintln!("skipping: {target} is not a mount point here (not a hybrid cgroup host)");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let out_path = tmp.path().join("out");
        let out = std::fs::File::create(&out_path).expect("create");
        let argv: Vec<String> = ["/bin/cat", "/proc/self/mountinfo"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pid = match spawn_private_mounts(
            "/bin/cat",
            &argv,
            &[],
            &[(out.as_raw_fd(), 1)],
            &[Path::new(target)],
        ) {
            Ok(pid) => pid,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                eprintln!("skipping: cannot create a mount namespace here: {e}");
                return;
            }
            Err(e) => panic!("spawn: {e}"),
        };
        let r = crate::sys::process::wait4(pid, true)
            .expect("wait4")
            .expect("reaped");
        assert_eq!(r.code, Some(0));
        let child = std::fs::read_to_string(&out_path).expect("read");
        assert!(!child.is_empty());
        assert!(!mounted(&child, target), "the child still sees {target}");
        let host = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        assert!(mounted(&host, target), "the host lost {target}");
    }

    #[test]
    fn reports_a_failed_exec() {
        let e = spawn_private_mounts("/nonexistent/x", &["x".into()], &[], &[], &[])
            .expect_err("cannot exec");
        let msg = e.to_string();
        assert!(msg.contains("execve") || msg.contains("unshare"), "{msg}");
    }
}

//! Mounts, namespaces (unshare/setns) and filesystem identification.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use super::check;

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} contains a NUL byte", p.display()),
        )
    })
}

/// mount(2). `source`/`fstype`/`data` may be empty.
pub fn mount(
    source: &str,
    target: &Path,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> io::Result<()> {
    let s = CString::new(source).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let t = cpath(target)?;
    let f = CString::new(fstype).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let d = CString::new(data).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let opt = |c: &CString| {
        if c.as_bytes().is_empty() {
            std::ptr::null()
        } else {
            c.as_ptr()
        }
    };
    // SAFETY: all strings are NUL-terminated and outlive the call; null is allowed for
    // source, fstype and data.
    check(unsafe { libc::mount(opt(&s), t.as_ptr(), opt(&f), flags, opt(&d).cast()) }.into())
        .map(|_| ())
}

/// umount2(2).
pub fn umount(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let t = cpath(target)?;
    // SAFETY: `t` is a valid NUL-terminated path.
    check(unsafe { libc::umount2(t.as_ptr(), flags) }.into()).map(|_| ())
}

/// Make every mount below `/` private in the caller's mount namespace, so mounts made
/// after an unshare(CLONE_NEWNS) do not propagate back to the host.
pub fn make_rprivate_root() -> io::Result<()> {
    mount("", Path::new("/"), "", libc::MS_REC | libc::MS_PRIVATE, "")
}

/// unshare(2).
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags.
    check(unsafe { libc::unshare(flags) }.into()).map(|_| ())
}

/// setns(2) into the namespace behind `fd`.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: `fd` is a valid open fd for the duration of the call.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }.into()).map(|_| ())
}

/// statfs(2) f_type of a path (filesystem magic).
pub fn fs_magic(path: &Path) -> io::Result<i64> {
    let p = cpath(path)?;
    // SAFETY: statfs is plain old data.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is a valid path and `st` valid for writes.
    check(unsafe { libc::statfs(p.as_ptr(), &mut st) }.into())?;
    Ok(st.f_type as i64)
}

pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
pub const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
pub const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Write `bytes` to a new file at `path` with `mode`, from a forked child, and wait for it.
///
/// Why a child: a file that is open for writing cannot be executed (ETXTBSY). If the
/// writing fd lived in this multi-threaded process, any fork by another thread while it
/// was open would copy it into that thread's child and keep it open there until the child
/// exec'd, so exec'ing the file just written could fail with "Text file busy" (seen in
/// parallel tests; Go's golang/go#22315 is the same race). Only the forked writer ever
/// holds this fd. The child runs only async-signal-safe syscalls.
pub fn write_executable(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: fork has no memory preconditions; the child below calls only open/write/
    // fchmod/close/_exit on memory prepared before the fork, then exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: async-signal-safe syscalls on a valid C string and a valid byte range.
        unsafe {
            let fd = libc::open(
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                mode as libc::c_uint,
            );
            if fd < 0 {
                libc::_exit(*libc::__errno_location() & 0x7f);
            }
            let mut off = 0usize;
            while off < bytes.len() {
                let n = libc::write(
                    fd,
                    bytes[off..].as_ptr().cast::<libc::c_void>(),
                    bytes.len() - off,
                );
                if n < 0 {
                    let e = *libc::__errno_location();
                    if e == libc::EINTR {
                        continue;
                    }
                    libc::_exit(e & 0x7f);
                }
                off += n as usize;
            }
            if libc::fchmod(fd, mode) != 0 || libc::close(fd) != 0 {
                libc::_exit(*libc::__errno_location() & 0x7f);
            }
            libc::_exit(0);
        }
    }
    let reaped = loop {
        match super::process::wait4(pid, true) {
            Ok(Some(r)) => break r,
            Ok(None) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    match reaped.code {
        Some(0) => Ok(()),
        Some(errno) => Err(io::Error::from_raw_os_error(errno)),
        None => Err(io::Error::other(format!(
            "the writer of {} was killed by a signal",
            path.display()
        ))),
    }
}

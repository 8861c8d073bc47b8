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

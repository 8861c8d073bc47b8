//! Mounts, namespaces (unshare/setns), filesystem identification, and the `*at`
//! operations on directory fds that never follow a symlink: opening a path component by
//! component, removing a tree without leaving its mount, writing a file into an open
//! directory.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

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

/// Which mount a file is on, as statx(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountIds {
    /// The ID /proc/self/mountinfo lists first (`STATX_MNT_ID`, Linux 5.8). The kernel
    /// hands a freed one to the next mount at once.
    pub id: u64,
    /// The ID that is never reused while the system runs (`STATX_MNT_ID_UNIQUE`, Linux
    /// 6.8), where the kernel has it.
    pub unique: Option<u64>,
}

/// The mount `path` is on, a final symlink not followed. On a mount point this is the
/// mount made there, so reading it right after mount(2) records which mount is ours.
pub fn mount_ids(path: &Path) -> io::Result<MountIds> {
    let fd = open_at(None, path, libc::O_PATH | libc::O_NOFOLLOW)?;
    mount_ids_of(fd.as_fd())
}

/// [`mount_ids`] of an open file.
pub fn mount_ids_of(fd: BorrowedFd<'_>) -> io::Result<MountIds> {
    let ask = |mask| {
        // SAFETY: statx is plain old data; zeroed is a valid value.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        let flags = libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW;
        // SAFETY: the path is the empty C string (AT_EMPTY_PATH: `fd` itself) and `st` is
        // valid for writes.
        check(unsafe { libc::statx(fd.as_raw_fd(), c"".as_ptr(), flags, mask, &mut st) }.into())
            .map(|_| (st.stx_mask & mask != 0).then_some(st.stx_mnt_id))
    };
    let id = ask(libc::STATX_MNT_ID)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "statx(2) reports no mount ID (Linux before 5.8)",
        )
    })?;
    Ok(MountIds {
        id,
        unique: ask(libc::STATX_MNT_ID_UNIQUE)?,
    })
}

/// (device, mount ID if the kernel reports it) of `name` in `dir`.
fn statx_mount(
    dir: libc::c_int,
    name: &CStr,
    flags: libc::c_int,
) -> io::Result<(u64, Option<u64>)> {
    // SAFETY: statx is plain old data; zeroed is a valid value.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` valid for writes.
    check(unsafe { libc::statx(dir, name.as_ptr(), flags, libc::STATX_MNT_ID, &mut st) }.into())?;
    let dev = (u64::from(st.stx_dev_major) << 32) | u64::from(st.stx_dev_minor);
    let id = (st.stx_mask & libc::STATX_MNT_ID != 0).then_some(st.stx_mnt_id);
    Ok((dev, id))
}

/// Which mount an open file is on: (device, mount ID). Two directories of one file
/// system bind-mounted twice share the device, not the mount ID; without mount IDs (Linux
/// before 5.8) only the device tells mounts apart.
fn mount_of(fd: BorrowedFd<'_>) -> io::Result<(u64, Option<u64>)> {
    statx_mount(
        fd.as_raw_fd(),
        c"",
        libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
    )
}

/// What `fstat`/`lstat_at` found.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub uid: u32,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    pub size: u64,
}

impl Stat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
    /// The permission bits, with setuid/setgid/sticky.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// fstatat(2) of `name` in `dir` without following a final symlink; an empty `name` is
/// `dir` itself (`AT_EMPTY_PATH`).
pub fn lstat_at(dir: BorrowedFd<'_>, name: &Path) -> io::Result<Stat> {
    let c = cpath(name)?;
    let flags = libc::AT_SYMLINK_NOFOLLOW
        | if c.as_bytes().is_empty() {
            libc::AT_EMPTY_PATH
        } else {
            0
        };
    // SAFETY: stat is plain old data; zeroed is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` valid for writes.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), &mut st, flags) }.into())?;
    Ok(Stat {
        uid: st.st_uid,
        mode: st.st_mode,
        size: st.st_size.max(0) as u64,
    })
}

/// fstat(2) of an open file.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    lstat_at(fd, Path::new(""))
}

/// Bytes an unprivileged writer may still put on the file system holding `path`
/// (statvfs(3): `f_bavail * f_frsize`).
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let c = cpath(path)?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is NUL-terminated and `st` is a writable statvfs the call fills in.
    check(unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) }.into())?;
    // SAFETY: statvfs returned 0, so it initialised every field.
    let st = unsafe { st.assume_init() };
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// openat(2) of `name` in `dir` (`None`: relative to the working directory, or an
/// absolute path) with `flags` | O_CLOEXEC.
pub fn open_at(
    dir: Option<BorrowedFd<'_>>,
    name: &Path,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let c = cpath(name)?;
    let d = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `c` is NUL-terminated; openat returns a new fd or -1.
    let fd = check(unsafe { libc::openat(d, c.as_ptr(), flags | libc::O_CLOEXEC, 0) }.into())?;
    // SAFETY: the kernel just returned this fd; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// The directory `name` in `dir`, opened for reading (O_DIRECTORY|O_NOFOLLOW): where a
/// symlink stands it fails (ELOOP or ENOTDIR) instead of following it.
pub fn open_dir_at(dir: Option<BorrowedFd<'_>>, name: &Path) -> io::Result<OwnedFd> {
    open_at(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )
}

/// mkdirat(2).
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &Path, mode: u32) -> io::Result<()> {
    let c = cpath(name)?;
    // SAFETY: `c` is NUL-terminated.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }.into())
        .map(|_| ())
}

/// unlinkat(2): a non-directory (`flags` 0) or an empty directory (`AT_REMOVEDIR`). A
/// symlink is removed, never followed.
pub fn unlink_at(dir: BorrowedFd<'_>, name: &Path, flags: libc::c_int) -> io::Result<()> {
    let c = cpath(name)?;
    // SAFETY: `c` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) }.into()).map(|_| ())
}

/// fchmod(2).
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: fchmod takes an fd and a mode.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }.into()).map(|_| ())
}

/// The names in the open directory `dir` (without `.` and `..`).
pub fn dir_names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // fdopendir(3) takes ownership of the fd it is given: give it a duplicate (which
    // shares the read position, hence the rewind).
    let raw = dir.try_clone_to_owned()?.into_raw_fd();
    // SAFETY: `raw` is an open directory fd; on success its ownership passes to the stream.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `raw` is still ours, and closed once here.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    // SAFETY: `stream` is a valid directory stream used by this thread only.
    unsafe { libc::rewinddir(stream) };
    let mut names = Vec::new();
    let result = loop {
        // readdir(3) returns NULL at the end and on error; errno tells them apart.
        // SAFETY: __errno_location returns this thread's errno slot.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is valid and not used concurrently.
        let ent = unsafe { libc::readdir(stream) };
        if ent.is_null() {
            // SAFETY: as above.
            let errno = unsafe { *libc::__errno_location() };
            break if errno == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(errno))
            };
        }
        // SAFETY: readdir returned a valid entry whose `d_name` is NUL-terminated and
        // stays valid until the next readdir on this stream; it is copied at once.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_os_string());
        }
    };
    // SAFETY: `stream` is valid and closed exactly once (which closes `raw`).
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

/// The parent directory of the absolute `path`, opened by walking its components from `/`
/// one `openat(O_NOFOLLOW)` at a time, and the last component: a symlink anywhere on the
/// way fails (ELOOP or ENOTDIR) instead of being followed, so what the path named when
/// it was recorded is what is reached, or nothing. `..` is refused.
pub fn open_parent_nofollow(path: &Path) -> io::Result<(OwnedFd, OsString)> {
    let invalid = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: {what}", path.display()),
        )
    };
    if !path.is_absolute() {
        return Err(invalid("not an absolute path"));
    }
    let mut names = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => names.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Err(invalid("contains `..`")),
        }
    }
    let last = names
        .pop()
        .ok_or_else(|| invalid("is the root directory"))?;
    let search = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let mut dir = open_at(None, Path::new("/"), search)?;
    for n in names {
        dir = open_at(Some(dir.as_fd()), Path::new(n), search)?;
    }
    Ok((dir, last.to_os_string()))
}

/// Whether an error of `open_parent_nofollow` or `open_dir_at` means "a symlink (or a
/// non-directory) stands where a directory was".
pub fn is_not_followed(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR))
}

/// What `remove_tree` did.
#[derive(Debug, PartialEq)]
pub enum TreeRemoval {
    Removed,
    /// Nothing was there.
    Gone,
    /// A symlink stands at the path or on the way to it: not followed, nothing removed.
    Symlink,
    /// These are mount points (the tree itself, or directories or files below it): they
    /// were not entered and not removed, and neither were the directories holding them.
    /// Everything else is gone.
    MountPoints(Vec<PathBuf>),
}

/// Remove the directory tree at the absolute `path` without following any symlink (on
/// the way to it, or inside it: links are removed, not followed) and without entering
/// another mount: everything is done with `openat`/`unlinkat` on directory fds, so a
/// directory swapped for a symlink midway cannot redirect the removal.
///
/// (std's `remove_dir_all` does not follow links inside the tree, but resolves `path`
/// itself through whatever its parents are now, and deletes inside mounts below it.)
pub fn remove_tree(path: &Path) -> io::Result<TreeRemoval> {
    let (parent, name) = match open_parent_nofollow(path) {
        Ok(x) => x,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(TreeRemoval::Gone),
        Err(e) if is_not_followed(&e) => return Ok(TreeRemoval::Symlink),
        Err(e) => return Err(e),
    };
    let name = Path::new(&name);
    let top = match open_dir_at(Some(parent.as_fd()), name) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(TreeRemoval::Gone),
        Err(e) if is_not_followed(&e) => {
            return match lstat_at(parent.as_fd(), name) {
                Ok(st) if st.is_symlink() => Ok(TreeRemoval::Symlink),
                _ => Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let mount = mount_of(top.as_fd())?;
    if mount_of(parent.as_fd())? != mount {
        return Ok(TreeRemoval::MountPoints(vec![path.to_path_buf()]));
    }
    let mut below = Vec::new();
    empty_dir(top.as_fd(), mount, path, &mut below)?;
    drop(top);
    if !below.is_empty() {
        return Ok(TreeRemoval::MountPoints(below));
    }
    match unlink_at(parent.as_fd(), name, libc::AT_REMOVEDIR) {
        Ok(()) => Ok(TreeRemoval::Removed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(TreeRemoval::Removed),
        Err(e) => Err(e),
    }
}

/// Remove everything in `dir` (at `at`, for messages) that is on `mount`; collect the
/// mount points met in `below`.
fn empty_dir(
    dir: BorrowedFd<'_>,
    mount: (u64, Option<u64>),
    at: &Path,
    below: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let in_path =
        |e: io::Error, p: &Path| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    for name in dir_names(dir).map_err(|e| in_path(e, at))? {
        let name = Path::new(&name);
        let here = at.join(name);
        // Anything but a directory (a symlink is removed, not followed). unlink(2) of a
        // directory fails with EISDIR on Linux; EBUSY is a file bind-mounted over.
        match unlink_at(dir, name, 0) {
            Ok(()) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                below.push(here);
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {}
            Err(e) => return Err(in_path(e, &here)),
        }
        let sub = match open_dir_at(Some(dir), name) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(in_path(e, &here)),
        };
        if mount_of(sub.as_fd()).map_err(|e| in_path(e, &here))? != mount {
            below.push(here);
            continue;
        }
        let before = below.len();
        empty_dir(sub.as_fd(), mount, &here, below)?;
        drop(sub);
        if below.len() > before {
            continue; // it still holds a mount point
        }
        match unlink_at(dir, name, libc::AT_REMOVEDIR) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(in_path(e, &here)),
        }
    }
    Ok(())
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

/// Write `bytes` to the file at `path` (created or truncated; a symlink there is not
/// followed) with `mode`, from a forked child, and wait for it.
///
/// Why a child: a file that is open for writing cannot be executed (ETXTBSY). If the
/// writing fd lived in this multi-threaded process, any fork by another thread while it
/// was open would copy it into that thread's child and keep it open there until the child
/// exec'd, so exec'ing the file just written could fail with "Text file busy" (seen in
/// parallel tests; Go's golang/go#22315 is the same race). Only the forked writer ever
/// holds this fd. The child runs only async-signal-safe syscalls.
pub fn write_executable(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_in_child(
        None,
        path,
        bytes,
        mode,
        libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW,
    )
}

/// [`write_executable`] of a file that must not exist yet, `name` in `dir` (`None`: the
/// working directory, or an absolute path): O_CREAT|O_EXCL, so nothing planted there
/// (a file, a symlink) is ever written through.
pub fn create_executable_at(
    dir: Option<BorrowedFd<'_>>,
    name: &Path,
    bytes: &[u8],
    mode: u32,
) -> io::Result<()> {
    write_in_child(dir, name, bytes, mode, libc::O_CREAT | libc::O_EXCL)
}

fn write_in_child(
    dir: Option<BorrowedFd<'_>>,
    name: &Path,
    bytes: &[u8],
    mode: u32,
    flags: libc::c_int,
) -> io::Result<()> {
    let path = name;
    let c = cpath(name)?;
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: fork has no memory preconditions; the child below calls only openat/write/
    // fchmod/close/_exit on memory prepared before the fork, then exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: async-signal-safe syscalls on a valid C string and a valid byte range.
        unsafe {
            let fd = libc::openat(
                dirfd,
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC | flags,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_tree_removes_links_not_what_they_point_to() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(outside.join("keep"), "x").expect("write");
        let tree = tmp.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b/c")).expect("mkdir");
        std::fs::write(tree.join("a/b/file"), "x").expect("write");
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).expect("symlink");
        std::os::unix::fs::symlink(outside.join("keep"), tree.join("a/b/c/l")).expect("symlink");
        assert_eq!(remove_tree(&tree).expect("remove"), TreeRemoval::Removed);
        assert!(!tree.exists());
        assert!(outside.join("keep").exists());
        assert_eq!(remove_tree(&tree).expect("again"), TreeRemoval::Gone);
    }

    #[test]
    fn remove_tree_does_not_go_through_a_symlink_on_the_way() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = tmp.path().join("real");
        std::fs::create_dir_all(real.join("data")).expect("mkdir");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert_eq!(
            remove_tree(&link.join("data")).expect("walk"),
            TreeRemoval::Symlink
        );
        assert_eq!(remove_tree(&link).expect("last"), TreeRemoval::Symlink);
        assert!(real.join("data").is_dir() && link.exists());
        assert!(remove_tree(Path::new("relative/path")).is_err());
        assert!(
            remove_tree(&real.join("../real")).is_err(),
            "`..` is refused"
        );
    }
}

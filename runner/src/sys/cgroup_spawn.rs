//! Start a program *inside* a cgroup: fork, the child writes its own pid into each
//! `cgroup.procs` file, then execve.
//!
//! Why not posix_spawn and attach afterwards: the payload would run its first
//! instructions (and the probe's `work` window could start) before the attach, outside
//! the limit. Why not clone3(CLONE_INTO_CGROUP): it is v2-only (it takes one cgroup2
//! directory fd) and the reference host is hybrid, where the CPU controllers are v1 and
//! one process must join several hierarchies. Writing "0" (= the writer) to
//! `cgroup.procs` before execve works on v1, v2 and hybrid alike, and the probe is in
//! every cgroup before its first instruction.
//!
//! The harness is multi-threaded, so the child does only async-signal-safe work between
//! fork and execve (signal-safety(7)): open/write/close/dup2/fcntl/execve/_exit on
//! buffers prepared before the fork. A failure is reported through a close-on-exec pipe
//! as (errno, step); EOF on that pipe means execve succeeded.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

fn cstr(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", String::from_utf8_lossy(s)),
        )
    })
}

/// Why the child could not start: which step, and the OS error.
#[derive(Debug, thiserror::Error)]
pub enum SpawnInCgroupError {
    #[error("preparing the child: {0}")]
    Prepare(io::Error),
    #[error("fork: {0}")]
    Fork(io::Error),
    #[error("the child could not join cgroup {path}: {source}")]
    Join { path: PathBuf, source: io::Error },
    #[error("the child could not set up fd {fd}: {source}")]
    Fd { fd: RawFd, source: io::Error },
    #[error("execve {path}: {source}")]
    Exec { path: String, source: io::Error },
}

/// Spawn `path argv...` with environment `envp`, mapping `fd_map` (source → target), as a
/// member of every cgroup whose `cgroup.procs` file is in `procs_files`. Returns the pid
/// of a child that is already running `path`.
pub fn spawn_in_cgroups(
    path: &str,
    argv: &[String],
    envp: &[String],
    fd_map: &[(RawFd, RawFd)],
    procs_files: &[PathBuf],
) -> Result<i32, SpawnInCgroupError> {
    let prep = |e| SpawnInCgroupError::Prepare(e);
    let cpath = cstr(path.as_bytes()).map_err(prep)?;
    let cargv: Vec<CString> = argv
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<io::Result<_>>()
        .map_err(prep)?;
    let cenv: Vec<CString> = envp
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<io::Result<_>>()
        .map_err(prep)?;
    let cprocs: Vec<CString> = procs_files
        .iter()
        .map(|p| cstr(p.as_os_str().as_encoded_bytes()))
        .collect::<io::Result<_>>()
        .map_err(prep)?;
    let mut argv_p: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = cenv.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());
    let (err_rd, err_wr) = super::pipe().map_err(prep)?;
    let err_fd = err_wr.as_raw_fd();

    // Steps reported by the child: 0..n = joining procs_files[i]; then fds; then exec.
    let n = cprocs.len() as i32;
    let step_fd = n;
    let step_exec = n + 1;

    // SAFETY: fork has no memory preconditions. The child branch only makes raw
    // syscalls (open, write, close, dup2, fcntl, execve, _exit) on memory prepared above,
    // which stays valid in the child's copy of the address space; it never allocates,
    // locks or unwinds, so it is async-signal-safe as a multi-threaded parent requires.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let fail = |step: i32| child_fail(err_fd, step);
        for (i, p) in cprocs.iter().enumerate() {
            // SAFETY: `p` is a NUL-terminated path prepared before the fork.
            let fd = unsafe { libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
            if fd < 0 {
                fail(i as i32);
            }
            // SAFETY: writing 1 byte from a static buffer to the fd just opened.
            let w = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
            if w != 1 {
                fail(i as i32);
            }
            // SAFETY: closing the fd opened above.
            unsafe { libc::close(fd) };
        }
        for &(src, dst) in fd_map {
            let rc = if src == dst {
                // SAFETY: fcntl F_SETFD on an integer fd only changes its flags.
                unsafe { libc::fcntl(src, libc::F_SETFD, 0) }
            } else {
                // SAFETY: dup2 on integer fds; the copy is not close-on-exec.
                unsafe { libc::dup2(src, dst) }
            };
            if rc < 0 {
                fail(step_fd);
            }
        }
        // SAFETY: every pointer array is NUL-terminated and points into CStrings that
        // live in this (copied) address space.
        unsafe { libc::execve(cpath.as_ptr(), argv_p.as_ptr(), env_p.as_ptr()) };
        fail(step_exec);
    }
    if pid < 0 {
        return Err(SpawnInCgroupError::Fork(io::Error::last_os_error()));
    }
    drop(err_wr);
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        match super::read(err_rd.as_raw_fd(), &mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(_) => break,
        }
    }
    if got == 0 {
        return Ok(pid);
    }
    // The child failed before or at execve and has exited: reap it.
    let _ = super::process::wait4(pid, true);
    let errno = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let step = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let source = io::Error::from_raw_os_error(errno);
    Err(if (0..n).contains(&step) {
        SpawnInCgroupError::Join {
            path: procs_files[step as usize].clone(),
            source,
        }
    } else if step == step_fd {
        SpawnInCgroupError::Fd {
            fd: fd_map.first().map_or(-1, |m| m.1),
            source,
        }
    } else {
        SpawnInCgroupError::Exec {
            path: path.to_string(),
            source,
        }
    })
}

/// In the fork child: report (errno, step) on `err_fd` and `_exit(127)`.
fn child_fail(err_fd: RawFd, step: i32) -> ! {
    // SAFETY: the errno location is thread-local and valid in the child.
    let errno = unsafe { *libc::__errno_location() };
    let msg = [errno.to_ne_bytes(), step.to_ne_bytes()].concat_array();
    // SAFETY: `msg` is 8 valid bytes; _exit never returns and runs no destructors.
    unsafe {
        libc::write(err_fd, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

/// `[a, b].concat()` without allocating (the fork child must not allocate).
trait ConcatArray {
    fn concat_array(self) -> [u8; 8];
}

impl ConcatArray for [[u8; 4]; 2] {
    fn concat_array(self) -> [u8; 8] {
        let [a, b] = self;
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_step_and_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no-such-cgroup").join("cgroup.procs");
        let argv = vec!["/bin/true".to_string()];
        match spawn_in_cgroups("/bin/true", &argv, &[], &[], std::slice::from_ref(&missing)) {
            Err(SpawnInCgroupError::Join { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected a Join error, got {other:?}"),
        }
        let nowhere = dir.path().join("no-such-binary");
        let nowhere = nowhere.to_string_lossy().into_owned();
        match spawn_in_cgroups(&nowhere, std::slice::from_ref(&nowhere), &[], &[], &[]) {
            Err(SpawnInCgroupError::Exec { path, .. }) => assert_eq!(path, nowhere),
            other => panic!("expected an Exec error, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_file_stands_in_for_cgroup_procs() {
        // A regular file accepts the child's "0": the join step itself is exercised.
        let dir = tempfile::tempdir().expect("tempdir");
        let procs = dir.path().join("cgroup.procs");
        std::fs::write(&procs, "").expect("w");
        let argv = vec!["/bin/true".to_string()];
        let pid = spawn_in_cgroups("/bin/true", &argv, &[], &[], std::slice::from_ref(&procs))
            .expect("spawn");
        let r = crate::sys::process::wait4(pid, true)
            .expect("wait4")
            .expect("reaped");
        assert_eq!(r.code, Some(0));
        assert_eq!(std::fs::read_to_string(&procs).expect("r"), "0");
    }
}

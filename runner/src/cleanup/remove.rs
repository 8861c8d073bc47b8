//! Removing one registered resource (`remove_resource`): a directory, a file, a mount, a
//! cgroup, a runtime's or an engine's container, an image. Idempotent: what is already
//! gone counts as removed.
//!
//! Paths are never followed through a symlink (a journal outlives its run, and the
//! directories it names may have been replaced since): directories, files and mount
//! points are reached with `openat(O_NOFOLLOW)` one component at a time
//! (`sys::fs::open_parent_nofollow`); a symlink on the way is reported as skipped. A
//! directory tree is removed through directory fds without entering another mount
//! (`sys::fs::remove_tree`). A mount is unmounted (`UMOUNT_NOFOLLOW`) only when
//! /proc/self/mountinfo shows, at exactly the recorded path, the mount ID recorded when
//! it was made.

use std::fs::{self};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{CleanupError, Resource};
use crate::sys::fs::{self as sysfs, TreeRemoval};

/// Timeout for the external commands cleanup runs (`docker rm -f`, `runc delete`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Remove one resource. Idempotent: a resource already gone is success.
pub fn remove_resource(res: &Resource) -> Result<(), CleanupError> {
    let fail = |reason: String| CleanupError::Remove {
        resource: res.to_string(),
        reason,
    };
    let skip = |reason: String| CleanupError::Skipped {
        resource: res.to_string(),
        reason,
    };
    match res {
        Resource::Dir { path } => match sysfs::remove_tree(path) {
            Ok(TreeRemoval::Removed | TreeRemoval::Gone) => Ok(()),
            Ok(TreeRemoval::Symlink) => Err(skip(symlink_reason(path))),
            Ok(TreeRemoval::MountPoints(points)) => Err(fail(format!(
                "mount points below it were not entered, so they and the directories holding \
                 them are left: {} (see `findmnt -R {}`)",
                list(&points),
                path.display()
            ))),
            Err(e) => Err(fail(e.to_string())),
        },
        Resource::File { path } => match sysfs::open_parent_nofollow(path) {
            Ok((dir, name)) => match sysfs::unlink_at(dir.as_fd(), Path::new(&name), 0) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(fail(e.to_string())),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) if sysfs::is_not_followed(&e) => Err(skip(symlink_reason(path))),
            Err(e) => Err(fail(e.to_string())),
        },
        Resource::Mount {
            path,
            mount_id,
            mount_unique_id,
        } => unmount(path, *mount_id, *mount_unique_id).map_err(|o| match o {
            NotUnmounted::Skip(r) => skip(r),
            NotUnmounted::Fail(r) => fail(r),
        }),
        Resource::Cgroup { path } => remove_cgroup(path).map_err(fail),
        Resource::Process { pid, start_time } => {
            if crate::sys::process::start_time(*pid) == Some(*start_time) {
                crate::sys::process::kill(*pid, libc::SIGKILL).map_err(|e| fail(e.to_string()))?;
                // Reap it if it is our child; otherwise init does.
                for _ in 0..100 {
                    match crate::sys::process::wait4(*pid, false) {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
            Ok(())
        }
        Resource::EngineContainer { engine, id } => run_quiet(
            Command::new(engine).args(["rm", "-f", id]),
            &[" no such container", "no container with"],
        )
        .map_err(fail),
        Resource::EngineImage { engine, image } => run_quiet(
            Command::new(engine).args(["rmi", "-f", image]),
            &["no such image", "image not known"],
        )
        .map_err(fail),
        Resource::OciContainer { runtime, root, id } => {
            let root = root.to_string_lossy().into_owned();
            run_quiet(
                Command::new(runtime).args(["--root", &root, "delete", "--force", id]),
                &[
                    "does not exist",
                    "not found",
                    "no such file",
                    "container does not exist",
                ],
            )
            .map_err(fail)
        }
        // Only 0, 1 and 2 are KSM modes; a journal naming another value is not obeyed.
        Resource::KsmRun { previous } if *previous <= 2 => {
            fs::write(super::KSM_RUN, previous.to_string()).map_err(|e| fail(e.to_string()))
        }
        Resource::KsmRun { previous } => Err(skip(format!(
            "{previous} is not a KSM run mode (0, 1 or 2): left as it is"
        ))),
    }
}

fn symlink_reason(path: &Path) -> String {
    format!(
        "a symlink (or a non-directory) now stands at {} or on the way to it, where isobench \
         made a directory: not followed (another user may have replaced one)",
        path.display()
    )
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

enum NotUnmounted {
    /// What is mounted there is not ours.
    Skip(String),
    Fail(String),
}

/// Unmount the mount isobench made at `path`, recorded as mount `recorded` (and
/// `recorded_unique`); see the module doc. Nothing mounted at exactly `path` is success
/// (already unmounted).
fn unmount(
    path: &Path,
    recorded: Option<u64>,
    recorded_unique: Option<u64>,
) -> Result<(), NotUnmounted> {
    let fail = |e: io::Error| NotUnmounted::Fail(e.to_string());
    // UMOUNT_NOFOLLOW covers the last component only; the walk covers the rest.
    let point = match sysfs::open_parent_nofollow(path) {
        Ok((dir, name)) => sysfs::open_at(
            Some(dir.as_fd()),
            Path::new(&name),
            libc::O_PATH | libc::O_NOFOLLOW,
        ),
        Err(e) => Err(e),
    };
    let point = match point {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if sysfs::is_not_followed(&e) => {
            return Err(NotUnmounted::Skip(symlink_reason(path)))
        }
        Err(e) => return Err(fail(e)),
    };
    if sysfs::fstat(point.as_fd()).map_err(fail)?.is_symlink() {
        return Err(NotUnmounted::Skip(symlink_reason(path)));
    }
    let mounted = mount_ids_at(Path::new(MOUNTINFO), path)
        .map_err(|e| NotUnmounted::Fail(format!("reading {MOUNTINFO}: {e}")))?;
    // Stacked mounts: the last one listed is on top, the one the path reaches.
    let Some(&top) = mounted.last() else {
        return Ok(());
    };
    let now = sysfs::mount_ids_of(point.as_fd()).map_err(fail)?;
    let not_ours = |recorded: u64| {
        NotUnmounted::Skip(format!(
            "the mount there (mount {top}) is not mount {recorded}, which isobench made: left alone"
        ))
    };
    match (recorded, recorded_unique, now.unique) {
        (None, _, _) => Err(NotUnmounted::Fail(format!(
            "mount {top} stands there, but isobench recorded no mount ID for it (a journal of \
             an older isobench, or a mount of a container's namespace that reached the host): \
             not unmounted; look with `findmnt {0}` and `umount -l {0}` if it is isobench's",
            path.display()
        ))),
        (Some(id), _, _) if id != top || now.id != top => Err(not_ours(id)),
        // The same reusable ID, on a new mount that got it when ours was freed.
        (Some(id), Some(u), Some(n)) if u != n => Err(not_ours(id)),
        _ => match sysfs::umount(path, libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) {
            Ok(()) => Ok(()),
            // EINVAL: not a mount point any more; ENOENT: gone.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) => Ok(()),
            Err(e) => Err(fail(e)),
        },
    }
}

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// IDs of the mounts at exactly `path`, in the order `mountinfo` lists them.
fn mount_ids_at(mountinfo: &Path, path: &Path) -> io::Result<Vec<u64>> {
    Ok(mount_ids_in(&fs::read_to_string(mountinfo)?, path))
}

/// [`mount_ids_at`] of a mountinfo text (proc_pid_mountinfo(5): `ID PARENT MAJ:MIN ROOT
/// MOUNTPOINT ...`, the mount point with space, tab, newline and backslash as `\ooo`).
fn mount_ids_in(text: &str, path: &Path) -> Vec<u64> {
    use std::os::unix::ffi::OsStrExt;
    let want = path.as_os_str().as_bytes();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let id = f.next()?.parse().ok()?;
            let point = f.nth(3)?;
            (unescape(point) == want).then_some(id)
        })
        .collect()
}

fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push(((d[0] - b'0') << 6) | ((d[1] - b'0') << 3) | (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Run a cleanup command with a timeout; stderr containing one of `gone` counts as done.
fn run_quiet(cmd: &mut Command, gone: &[&str]) -> Result<(), String> {
    match crate::subprocess::run_cleanup(cmd, COMMAND_TIMEOUT) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
            if gone.iter().any(|g| err.contains(g)) {
                Ok(())
            } else {
                Err(format!("{}: {}", out.status, err.trim()))
            }
        }
        Err(crate::subprocess::ExecError::Spawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Kill every process in a cgroup (and its children), then rmdir bottom-up.
fn remove_cgroup(path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Ok(());
    }
    // Children first.
    if let Ok(rd) = fs::read_dir(path) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_cgroup(&e.path())?;
            }
        }
    }
    let kill_file = path.join("cgroup.kill");
    if kill_file.exists() {
        let _ = fs::write(&kill_file, "1");
    }
    let mut last = String::new();
    for _ in 0..200 {
        for f in ["cgroup.procs", "tasks"] {
            if let Ok(s) = fs::read_to_string(path.join(f)) {
                for pid in s.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = crate::sys::process::kill(pid, libc::SIGKILL);
                    let _ = crate::sys::process::wait4(pid, false);
                }
            }
        }
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!("still busy after 2 s: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_mount_points_match_exactly_after_unescaping() {
        let text = "\
24 1 8:1 / / rw - ext4 /dev/sda1 rw
43 24 0:39 / /tmp/a\\040b rw - tmpfs x rw
44 24 0:40 / /tmp/a rw - tmpfs x rw
45 43 0:41 / /tmp/a\\040b rw - tmpfs y rw
46 24 0:42 / /tmp/a/proc rw - proc proc rw
";
        assert_eq!(mount_ids_in(text, Path::new("/tmp/a b")), vec![43, 45]);
        assert_eq!(mount_ids_in(text, Path::new("/tmp/a")), vec![44]);
        assert!(mount_ids_in(text, Path::new("/tmp/a/pro")).is_empty());
        assert!(mount_ids_in(text, Path::new("/tmp")).is_empty());
    }

    /// A journal is replayed by `isobench clean`: a KSM mode it names is written back only
    /// when it is one (0, 1, 2), and the line survives the journal's JSON.
    #[test]
    fn a_journalled_ksm_setting_is_obeyed_only_when_it_is_a_mode() {
        let bogus = Resource::KsmRun { previous: 7 };
        let e = remove_resource(&bogus).expect_err("7 is not a KSM mode");
        assert!(matches!(e, CleanupError::Skipped { .. }), "{e}");
        let json = serde_json::to_string(&Resource::KsmRun { previous: 0 }).expect("json");
        assert_eq!(json, r#"{"kind":"ksm_run","previous":0}"#);
        let back: Resource = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, Resource::KsmRun { previous: 0 });
    }
}

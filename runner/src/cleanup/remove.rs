//! Removing one registered resource (`remove_resource`): a directory, a file, a mount, a
//! cgroup, a runtime's or an engine's container, an image. Idempotent: what is already
//! gone counts as removed.

use std::fs::{self};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{CleanupError, Resource};

/// Timeout for the external commands cleanup runs (`docker rm -f`, `runc delete`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Remove one resource. Idempotent: a resource already gone is success.
pub fn remove_resource(res: &Resource) -> Result<(), CleanupError> {
    let fail = |reason: String| CleanupError::Remove {
        resource: res.to_string(),
        reason,
    };
    match res {
        Resource::Dir { path } => match fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fail(format!(
                "{e} (is something still mounted below it? see `findmnt -R {}`)",
                path.display()
            ))),
        },
        Resource::File { path } => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fail(e.to_string())),
        },
        Resource::Mount { path } => match crate::sys::fs::umount(path, libc::MNT_DETACH) {
            Ok(()) => Ok(()),
            // EINVAL: not a mount point (already unmounted); ENOENT: gone.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) => Ok(()),
            Err(e) => Err(fail(e.to_string())),
        },
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
    }
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

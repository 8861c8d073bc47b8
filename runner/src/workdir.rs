//! The run environment every subject and scenario receives: where to put files, the
//! probe binary, the cleanup registry, timeouts.
//!
//! The work directory is where root writes the probe and then executes it, builds root
//! filesystems and mounts. So no other user may be able to swap it or anything in it:
//! * its base must pass [`trust::check`] (every directory from `/` owned by root or the
//!   user and writable by nobody else unless sticky). In a sticky base (/var/tmp, /tmp)
//!   another user can neither rename nor remove our entry, so `RENAME_EXCHANGE` of
//!   `isobench-<pid>-<hex>` with their own directory fails with EPERM; in a base writable
//!   without the sticky bit they could, which is why such a base is refused;
//! * the directory is created with mkdirat(2) under an unguessable name (a name planted
//!   beforehand makes the run fail, never adopts the planted entry), opened
//!   `O_DIRECTORY|O_NOFOLLOW` and checked with fstat(2) (ours, not writable by others)
//!   before mode 0755 lets container users traverse it; the fd is kept in [`Env`];
//! * the probe is created through that fd (`O_CREAT|O_EXCL`) and checked with fstat.
//!
//! The probe is then executed by its path, `<work dir>/isobench-probe`, not through the
//! fd (`execveat`, `/proc/self/fd/N`): the path only goes through directories nobody but
//! root and the user can change, so it names the file that was checked; the clone3()
//! children of `process`/`namespaces` exec it in new namespaces and the cgroup spawner by
//! path, and an fd would add a /proc lookup to the timed launch of the baseline subject.
//! The runtimes (runc, crun, bwrap, the engines) take the root filesystem below it by path
//! anyway.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cleanup::{Cleanup, CleanupError, Guard, Resource};
use crate::trust::{Leaf, TrustError};

/// Per-operation time limits. Generous defaults; every wait in isobench has one.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A process, container or clone child reaching its ready marker.
    pub ready: Duration,
    /// From ready to exit.
    pub exit: Duration,
    /// External control commands (runtime create/delete, engine build, ...).
    pub command: Duration,
    /// One VM boot, ready to power-off.
    pub vm_boot: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            ready: Duration::from_secs(30),
            exit: Duration::from_secs(30),
            command: Duration::from_secs(120),
            vm_boot: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("cannot create work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the probe binary to {path}: {source}")]
    Probe {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("refusing the work directory base: {0} (the default, /var/tmp, is safe)")]
    Untrusted(#[from] TrustError),
    #[error(
        "{path} is not the directory isobench just made (owner uid {owner}, mode {mode:04o}): \
         someone else's stands there"
    )]
    NotOurs {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
}

/// Shared, read-mostly state of one run.
#[derive(Debug)]
pub struct Env {
    /// Private work directory of this run (removed at the end).
    pub workdir: PathBuf,
    /// The work directory, open: the one that was checked.
    workdir_fd: OwnedFd,
    /// The static probe binary, written from the bytes embedded at build time.
    pub probe: PathBuf,
    pub cleanup: Cleanup,
    pub timeouts: Timeouts,
    pub is_root: bool,
    /// Print subject-level details to stderr.
    pub verbose: bool,
    _workdir_guard: Arc<Guard>,
}

impl Env {
    /// Create the work directory (under `base`, default /var/tmp: not a tmpfs on most
    /// hosts, so rootfs images do not eat RAM) and write the probe into it. A base another
    /// user could change is refused (see the module doc).
    pub fn new(cleanup: Cleanup, base: Option<&Path>) -> Result<Env, EnvError> {
        let base = base.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::var_os("ISOBENCH_WORKDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/tmp"))
        });
        let dir_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EnvError::WorkDir { path, source }
        };
        std::fs::create_dir_all(&base).map_err(dir_err(&base))?;
        let base = crate::trust::check(&base, Leaf::Base)?;
        let base_fd = crate::sys::fs::open_dir_at(None, &base).map_err(dir_err(&base))?;
        let name = format!(
            "isobench-{}-{}",
            std::process::id(),
            unique_suffix().map_err(dir_err(&base))?
        );
        let workdir = base.join(&name);
        let guard = cleanup.register(Resource::Dir {
            path: workdir.clone(),
        })?;
        if let Err(source) = crate::sys::fs::mkdir_at(base_fd.as_fd(), Path::new(&name), 0o700) {
            // Not made by us (EEXIST: planted): not ours to remove either.
            guard.forget();
            return Err(EnvError::WorkDir {
                path: workdir,
                source,
            });
        }
        let fd = crate::sys::fs::open_dir_at(Some(base_fd.as_fd()), Path::new(&name))
            .map_err(dir_err(&workdir))?;
        let st = crate::sys::fs::fstat(fd.as_fd()).map_err(dir_err(&workdir))?;
        if st.uid != crate::sys::geteuid() || st.perm() & 0o7077 != 0 {
            guard.forget();
            return Err(EnvError::NotOurs {
                path: workdir,
                owner: st.uid,
                mode: st.perm(),
            });
        }
        // Others (a container's user, a VM image builder) need to traverse it.
        crate::sys::fs::fchmod(fd.as_fd(), 0o755).map_err(dir_err(&workdir))?;
        let probe = crate::probe::write_in(fd.as_fd()).map_err(|source| EnvError::Probe {
            path: workdir.join(crate::probe::FILE_NAME),
            source,
        })?;
        Ok(Env {
            probe: workdir.join(probe),
            workdir,
            workdir_fd: fd,
            cleanup,
            timeouts: Timeouts::default(),
            is_root: crate::sys::geteuid() == 0,
            verbose: false,
            _workdir_guard: Arc::new(guard),
        })
    }

    /// The open work directory.
    pub fn workdir_fd(&self) -> BorrowedFd<'_> {
        self.workdir_fd.as_fd()
    }

    /// A subdirectory `name` (one path component) of the work directory (removed with
    /// it), made through the open work directory; an existing one is reused only if it
    /// is a directory, not a symlink.
    pub fn subdir(&self, name: &str) -> Result<PathBuf, EnvError> {
        let p = self.workdir.join(name);
        let err = |source| EnvError::WorkDir {
            path: p.clone(),
            source,
        };
        match crate::sys::fs::mkdir_at(self.workdir_fd(), Path::new(name), 0o755) {
            Ok(()) => Ok(p.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                crate::sys::fs::open_dir_at(Some(self.workdir_fd()), Path::new(name))
                    .map_err(err)?;
                Ok(p.clone())
            }
            Err(e) => Err(err(e)),
        }
    }
}

/// 64 random bits in hex: a name another user cannot plant ahead of the run.
fn unique_suffix() -> std::io::Result<String> {
    Ok(format!("{:016x}", crate::sys::random_u64()?))
}

pub(crate) fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

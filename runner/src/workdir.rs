//! The run environment every subject and scenario receives: where to put files, the
//! probe binary, the cleanup registry, timeouts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cleanup::{Cleanup, CleanupError, Guard, Resource};

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
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
}

/// Shared, read-mostly state of one run.
#[derive(Debug)]
pub struct Env {
    /// Private work directory of this run (removed at the end).
    pub workdir: PathBuf,
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
    /// hosts, so rootfs images do not eat RAM) and write the probe into it.
    pub fn new(cleanup: Cleanup, base: Option<&Path>) -> Result<Env, EnvError> {
        let base = base.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::var_os("ISOBENCH_WORKDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/tmp"))
        });
        std::fs::create_dir_all(&base).map_err(|source| EnvError::WorkDir {
            path: base.clone(),
            source,
        })?;
        let workdir = base.join(format!(
            "isobench-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        let guard = cleanup.register(Resource::Dir {
            path: workdir.clone(),
        })?;
        std::fs::create_dir(&workdir).map_err(|source| EnvError::WorkDir {
            path: workdir.clone(),
            source,
        })?;
        // Others (a container's user, a VM image builder) need to traverse it.
        let _ = set_mode(&workdir, 0o755);
        let probe = workdir.join("isobench-probe");
        crate::probe::write_to(&probe).map_err(|source| EnvError::Probe {
            path: probe.clone(),
            source,
        })?;
        Ok(Env {
            workdir,
            probe,
            cleanup,
            timeouts: Timeouts::default(),
            is_root: crate::sys::geteuid() == 0,
            verbose: false,
            _workdir_guard: Arc::new(guard),
        })
    }

    /// A fresh subdirectory of the work directory (removed with it).
    pub fn subdir(&self, name: &str) -> Result<PathBuf, EnvError> {
        let p = self.workdir.join(name);
        std::fs::create_dir_all(&p).map_err(|source| EnvError::WorkDir {
            path: p.clone(),
            source,
        })?;
        Ok(p)
    }
}

fn unique_suffix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}", t.as_nanos() & 0xffff_ffff)
}

pub(crate) fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

//! Which cgroup layout the host has, decided by the filesystem type (statfs f_type) of
//! the cgroup mount points, not by guessing from paths:
//!
//! * `/sys/fs/cgroup` is cgroup2                          → unified (v2)
//! * `/sys/fs/cgroup` is tmpfs, `unified/` is cgroup2     → hybrid (v1 controllers + empty v2)
//! * `/sys/fs/cgroup` is tmpfs, no cgroup2 below          → legacy (v1)

use std::path::{Path, PathBuf};

use crate::sys::fs::{fs_magic, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v2 only, mounted at `root`.
    V2 { root: PathBuf },
    /// cgroup v1 hierarchies under `root` (one directory per controller).
    V1 { root: PathBuf },
    /// v1 controllers under `root`, plus a cgroup2 at `unified` (usually without controllers).
    Hybrid { root: PathBuf, unified: PathBuf },
}

impl Layout {
    /// "v1" | "v2" | "hybrid", as in the run file's `host.cgroup`.
    pub fn name(&self) -> &'static str {
        match self {
            Layout::V2 { .. } => "v2",
            Layout::V1 { .. } => "v1",
            Layout::Hybrid { .. } => "hybrid",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("cannot statfs {path}: {source}; is cgroupfs mounted? (mount -t cgroup2 none /sys/fs/cgroup)")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is neither cgroup2 nor a tmpfs of v1 hierarchies (filesystem magic {magic:#x}); mount cgroupfs there")]
    Unknown { path: PathBuf, magic: i64 },
}

/// Detect the layout under `root` (normally /sys/fs/cgroup).
pub fn detect_at(root: &Path) -> Result<Layout, DetectError> {
    let magic = fs_magic(root).map_err(|source| DetectError::Stat {
        path: root.to_path_buf(),
        source,
    })?;
    if magic == CGROUP2_SUPER_MAGIC {
        return Ok(Layout::V2 {
            root: root.to_path_buf(),
        });
    }
    if magic == TMPFS_MAGIC {
        let unified = root.join("unified");
        if fs_magic(&unified).is_ok_and(|m| m == CGROUP2_SUPER_MAGIC) {
            return Ok(Layout::Hybrid {
                root: root.to_path_buf(),
                unified,
            });
        }
        return Ok(Layout::V1 {
            root: root.to_path_buf(),
        });
    }
    Err(DetectError::Unknown {
        path: root.to_path_buf(),
        magic,
    })
}

/// Detect the host's layout at /sys/fs/cgroup.
pub fn detect() -> Result<Layout, DetectError> {
    detect_at(Path::new("/sys/fs/cgroup"))
}

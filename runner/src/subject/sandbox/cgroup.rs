//! The `sandbox` subject's own small cgroup helper: a per-run parent cgroup, and per
//! launch a fresh child cgroup with cpu, memory and pids limits that the container's
//! init joins before it execs. Kept behind four functions (`create_parent`, `launch_steps`,
//! `launch_paths`, `remove`) so it can be switched to the full cgroup layer
//! (`crate::cgroup`) later.
//!
//! Layout, detected with [`crate::cgroup::detect`] (statfs magic):
//! * v1 or hybrid: `/sys/fs/cgroup/{cpu,memory,pids}/isobench-sandbox-<pid>/<n>`; the
//!   empty cgroup2 of a hybrid host is left alone (it has no controllers).
//! * v2: `/sys/fs/cgroup/isobench-sandbox-<pid>/<n>`, with `+cpu +memory +pids` enabled in
//!   the parent's `cgroup.subtree_control`.
//!
//! Why a per-run parent: the parent is registered in the cleanup journal once, in
//! `prepare` (outside any timed region). Journaling every launch's cgroup would put an
//! fdatasync of the journal (milliseconds on a disk-backed /run) into every sample. The
//! per-launch cgroups are removed by `remove` in teardown; on any other path (error,
//! Ctrl-C, crash followed by `isobench clean`) the parent's removal takes its children
//! with it (cleanup removes cgroups children first).
//!
//! The per-launch work runs in the container's init before execve (mkdirat, limit
//! writes, writing `0` — "the writer" — to `tasks` (v1) or `cgroup.procs` (v2), see
//! [`join_file`]), through directory fds the
//! parent opened here, because after pivot_root the host's /sys/fs/cgroup is gone from
//! the child's view. See Documentation/admin-guide/cgroup-v1/cgroups.rst and
//! cgroup-v2.rst.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroup::Layout;
use crate::cleanup::{Guard, Resource};
use crate::sys::container::Step;
use crate::workdir::Env;

/// Limits of every sandbox launch: generous, so the probe is never throttled; what is
/// measured is the cost of having them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU bandwidth: `quota_us` per `period_us` (CFS bandwidth control).
    pub cpu_quota_us: u64,
    pub cpu_period_us: u64,
    pub memory_bytes: u64,
    pub pids: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_quota_us: 100_000,
            cpu_period_us: 100_000,
            memory_bytes: 256 * 1024 * 1024,
            pids: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxCgroupError {
    #[error("cgroup layout: {0}")]
    Detect(#[from] crate::cgroup::detect::DetectError),
    #[error("{path} is not a mounted cgroup v1 {controller} hierarchy; mount it (mount -t cgroup -o {controller} cgroup {path}) or boot with cgroup v2")]
    NoHierarchy { controller: String, path: PathBuf },
    #[error("cgroup v2 at {path} does not offer controllers {missing:?} to children; enable them: echo '+cpu +memory +pids' > {path}/cgroup.subtree_control")]
    V2Controllers { path: PathBuf, missing: Vec<String> },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("cgroup name {0:?} contains a NUL byte")]
    Name(String),
}

/// Which file format the limits are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One hierarchy's per-run parent cgroup, opened for the launches' mkdirat/openat.
#[derive(Debug)]
struct Parent {
    path: PathBuf,
    /// The controllers this hierarchy carries (one per v1 hierarchy; all three on v2).
    controllers: Vec<&'static str>,
    dir: File,
}

/// The per-run parent cgroups (removed, with any leftover children, when dropped).
#[derive(Debug)]
pub struct Parents {
    version: Version,
    parents: Vec<Parent>,
    _guards: Vec<Guard>,
}

impl Parents {
    pub fn version(&self) -> Version {
        self.version
    }

    /// Host paths of the per-run parents.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.parents.iter().map(|p| p.path.clone()).collect()
    }
}

const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// Create (registered first) the per-run parent cgroup named `name` in every hierarchy
/// the sandbox limits, found under the host's detected layout.
pub fn create_parent(
    env: &Env,
    layout: &Layout,
    name: &str,
) -> Result<Parents, SandboxCgroupError> {
    let (version, dirs): (Version, Vec<(PathBuf, Vec<&'static str>)>) = match layout {
        Layout::V1 { root } | Layout::Hybrid { root, .. } => {
            let mut dirs = Vec::new();
            for c in CONTROLLERS {
                let h = root.join(c);
                if !crate::sys::fs::fs_magic(&h)
                    .is_ok_and(|m| m == crate::sys::fs::CGROUP_SUPER_MAGIC)
                {
                    return Err(SandboxCgroupError::NoHierarchy {
                        controller: c.into(),
                        path: h,
                    });
                }
                dirs.push((h, vec![c]));
            }
            (Version::V1, dirs)
        }
        Layout::V2 { root } => {
            let ctl = root.join("cgroup.subtree_control");
            let have = std::fs::read_to_string(&ctl).map_err(|source| SandboxCgroupError::Io {
                what: "read",
                path: ctl.clone(),
                source,
            })?;
            let missing: Vec<String> = CONTROLLERS
                .iter()
                .filter(|c| !have.split_whitespace().any(|h| h == **c))
                .map(|c| c.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(SandboxCgroupError::V2Controllers {
                    path: root.clone(),
                    missing,
                });
            }
            (Version::V2, vec![(root.clone(), CONTROLLERS.to_vec())])
        }
    };
    let mut parents = Vec::new();
    let mut guards = Vec::new();
    for (hierarchy, controllers) in dirs {
        let path = hierarchy.join(name);
        guards.push(
            env.cleanup
                .register(Resource::Cgroup { path: path.clone() })?,
        );
        std::fs::create_dir(&path).map_err(|source| SandboxCgroupError::Io {
            what: "create cgroup",
            path: path.clone(),
            source,
        })?;
        if version == Version::V2 {
            let ctl = path.join("cgroup.subtree_control");
            std::fs::write(&ctl, "+cpu +memory +pids").map_err(|source| {
                SandboxCgroupError::Io {
                    what: "enable controllers in",
                    path: ctl.clone(),
                    source,
                }
            })?;
        }
        let dir = File::open(&path).map_err(|source| SandboxCgroupError::Io {
            what: "open",
            path: path.clone(),
            source,
        })?;
        parents.push(Parent {
            path,
            controllers,
            dir,
        });
    }
    Ok(Parents {
        version,
        parents,
        _guards: guards,
    })
}

/// The limit files of `controller` and their values, in the order they must be written
/// (v1: the period before the quota).
pub fn limit_files(version: Version, controller: &str, l: &Limits) -> Vec<(&'static str, String)> {
    match (version, controller) {
        (Version::V1, "cpu") => vec![
            ("cpu.cfs_period_us", l.cpu_period_us.to_string()),
            ("cpu.cfs_quota_us", l.cpu_quota_us.to_string()),
        ],
        (Version::V1, "memory") => vec![("memory.limit_in_bytes", l.memory_bytes.to_string())],
        (Version::V2, "cpu") => {
            vec![("cpu.max", format!("{} {}", l.cpu_quota_us, l.cpu_period_us))]
        }
        (Version::V2, "memory") => vec![("memory.max", l.memory_bytes.to_string())],
        (_, "pids") => vec![("pids.max", l.pids.to_string())],
        _ => Vec::new(),
    }
}

fn cstr(s: String) -> Result<CString, SandboxCgroupError> {
    CString::new(s.clone()).map_err(|_| SandboxCgroupError::Name(s))
}

/// The file a process joins a cgroup through by writing `0` ("the writer").
///
/// v1: `tasks`, which moves only the writing thread — the whole process, as the
/// container's init is single-threaded. The kernel then skips the global
/// `cgroup_threadgroup_rwsem` (cgroup_procs_write_start(): "If we migrate a single
/// thread ... we can skip the global lock"), whose write side waits for an RCU grace
/// period: milliseconds per launch through `cgroup.procs` on this kind of host.
/// v2: `cgroup.procs` (`cgroup.threads` only works inside a threaded subtree).
pub fn join_file(version: Version) -> &'static str {
    match version {
        Version::V1 => "tasks",
        Version::V2 => "cgroup.procs",
    }
}

/// The steps the container's init runs to create cgroup `name` below every parent and
/// set its limits (`.0`), and to join it (`.1`), all relative to the parents'
/// directory fds.
pub fn launch_steps(
    parents: &Parents,
    name: &str,
    limits: &Limits,
) -> Result<(Vec<Step>, Vec<Step>), SandboxCgroupError> {
    let mut create = Vec::new();
    let mut join = Vec::new();
    for p in &parents.parents {
        let dirfd = p.dir.as_raw_fd();
        create.push(Step::Mkdirat {
            dirfd,
            path: cstr(name.to_string())?,
            mode: 0o755,
        });
        for c in &p.controllers {
            for (file, value) in limit_files(parents.version, c, limits) {
                create.push(Step::WriteAt {
                    dirfd,
                    path: cstr(format!("{name}/{file}"))?,
                    data: value.into_bytes(),
                });
            }
        }
        // Joined once every limit is in place.
        join.push(Step::WriteAt {
            dirfd,
            path: cstr(format!("{name}/{}", join_file(parents.version)))?,
            data: b"0".to_vec(),
        });
    }
    Ok((create, join))
}

/// Host paths of launch cgroup `name` (one per hierarchy).
pub fn launch_paths(parents: &Parents, name: &str) -> Vec<PathBuf> {
    parents.parents.iter().map(|p| p.path.join(name)).collect()
}

/// Remove launch cgroups once their processes are gone (rmdir; a cgroup whose last task
/// is still exiting is briefly busy, so EBUSY is retried for up to `patience`).
pub fn remove(paths: &[PathBuf], patience: Duration) -> Result<(), SandboxCgroupError> {
    let deadline = Instant::now() + patience;
    for path in paths {
        remove_one(path, deadline)?;
    }
    Ok(())
}

fn remove_one(path: &Path, deadline: Instant) -> Result<(), SandboxCgroupError> {
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(source) => {
                return Err(SandboxCgroupError::Io {
                    what: "remove cgroup",
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_files_per_version() {
        let l = Limits::default();
        assert_eq!(
            limit_files(Version::V1, "cpu", &l),
            vec![
                ("cpu.cfs_period_us", "100000".to_string()),
                ("cpu.cfs_quota_us", "100000".to_string())
            ]
        );
        assert_eq!(
            limit_files(Version::V2, "cpu", &l),
            vec![("cpu.max", "100000 100000".to_string())]
        );
        assert_eq!(
            limit_files(Version::V2, "memory", &l),
            vec![("memory.max", (256u64 << 20).to_string())]
        );
        assert_eq!(
            limit_files(Version::V1, "pids", &l),
            vec![("pids.max", "64".to_string())]
        );
    }

    #[test]
    fn steps_create_limit_then_join() {
        // Parents over plain temp directories: the steps are data, checked without cgroupfs.
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut parents = Vec::new();
        for c in CONTROLLERS {
            let path = tmp.path().join(c);
            std::fs::create_dir(&path).expect("mkdir");
            parents.push(Parent {
                dir: File::open(&path).expect("open"),
                path,
                controllers: vec![c],
            });
        }
        let parents = Parents {
            version: Version::V1,
            parents,
            _guards: Vec::new(),
        };
        let (create, join) = launch_steps(&parents, "7", &Limits::default()).expect("steps");
        let mkdirs = create
            .iter()
            .filter(|s| matches!(s, Step::Mkdirat { .. }))
            .count();
        assert_eq!(mkdirs, 3);
        assert_eq!(create.len(), 3 + 4, "three mkdirs, four limit files");
        assert_eq!(join.len(), 3);
        assert!(join.iter().all(
            |s| matches!(s, Step::WriteAt { path, data, .. } if path.to_bytes() == b"7/tasks" && data == b"0")
        ));
        assert_eq!(
            launch_paths(&parents, "7"),
            vec![
                tmp.path().join("cpu/7"),
                tmp.path().join("memory/7"),
                tmp.path().join("pids/7")
            ]
        );
    }
}

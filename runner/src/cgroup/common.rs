//! What both cgroup versions share: the errors (every IO error carries its path, like
//! youki's `WrappedIoError`), small file helpers that controller modules use on a cgroup
//! *path* (so unit tests can point them at a temp-dir fake cgroupfs), the [`Limits`] a
//! cgroup is given, and the [`Stats`] read back from it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An IO error with the path (and, for writes, the value) that failed.
#[derive(Debug, thiserror::Error)]
pub enum WrappedIoError {
    #[error("cannot read {path}: {err}")]
    Read { err: std::io::Error, path: PathBuf },
    #[error("cannot write {data:?} to {path}: {err}")]
    Write {
        err: std::io::Error,
        path: PathBuf,
        data: String,
    },
    #[error("cannot create cgroup directory {path}: {err}")]
    CreateDir { err: std::io::Error, path: PathBuf },
}

impl WrappedIoError {
    /// The underlying error's kind (e.g. `NotFound` for a controller file the kernel lacks).
    pub fn kind(&self) -> std::io::ErrorKind {
        match self {
            WrappedIoError::Read { err, .. }
            | WrappedIoError::Write { err, .. }
            | WrappedIoError::CreateDir { err, .. } => err.kind(),
        }
    }
}

/// Turns a bare `io::Result` into one whose error names the path.
pub trait WrapIoResult<T> {
    fn wrap_read(self, path: &Path) -> Result<T, WrappedIoError>;
    fn wrap_write(self, path: &Path, data: &str) -> Result<T, WrappedIoError>;
    fn wrap_create_dir(self, path: &Path) -> Result<T, WrappedIoError>;
}

impl<T> WrapIoResult<T> for std::io::Result<T> {
    fn wrap_read(self, path: &Path) -> Result<T, WrappedIoError> {
        self.map_err(|err| WrappedIoError::Read {
            err,
            path: path.to_path_buf(),
        })
    }

    fn wrap_write(self, path: &Path, data: &str) -> Result<T, WrappedIoError> {
        self.map_err(|err| WrappedIoError::Write {
            err,
            path: path.to_path_buf(),
            data: data.to_string(),
        })
    }

    fn wrap_create_dir(self, path: &Path) -> Result<T, WrappedIoError> {
        self.map_err(|err| WrappedIoError::CreateDir {
            err,
            path: path.to_path_buf(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(transparent)]
    Io(#[from] WrappedIoError),
    #[error("{path}: cannot parse {what} from {value:?}")]
    Parse {
        path: PathBuf,
        what: String,
        value: String,
    },
    #[error("{what} is not supported here ({path} is missing); {fix}")]
    Unsupported {
        what: String,
        path: PathBuf,
        fix: String,
    },
    #[error("cgroup controller {controller} is not available: {reason}; {fix}")]
    NoController {
        controller: String,
        reason: String,
        fix: String,
    },
    #[error(transparent)]
    Detect(#[from] super::detect::DetectError),
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("cannot remove cgroup {path}: {reason}")]
    Remove { path: PathBuf, reason: String },
}

/// What a cgroup is limited to. `None` leaves the kernel's default (unlimited).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Limits {
    /// CPU time allowed per `cpu_period` (CFS bandwidth control). 150 % of one CPU is a
    /// quota of 1.5 × period.
    pub cpu_quota: Option<Duration>,
    /// The CFS period; the kernel default is 100 ms.
    pub cpu_period: Option<Duration>,
    /// Relative CPU weight against sibling cgroups and tasks, on v1's `cpu.shares` scale
    /// (2..=262144, default 1024); v2 writes the equivalent `cpu.weight`.
    pub cpu_shares: Option<u64>,
    /// Unused quota that may be carried into a later period (Linux 5.14+).
    pub cpu_burst: Option<Duration>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<u64>,
    /// Swap allowed on top of `memory_bytes` (v1: memsw − memory; v2: memory.swap.max).
    /// `Some(0)` forbids swap, so a limit is met by the OOM killer rather than swapping.
    pub swap_bytes: Option<u64>,
    /// Maximum number of tasks.
    pub pids_max: Option<u64>,
}

impl Limits {
    /// A CPU limit of `percent` % of one CPU over `period`.
    pub fn cpu_percent(percent: f64, period: Duration) -> Limits {
        Limits {
            cpu_quota: Some(period.mul_f64(percent / 100.0)),
            cpu_period: Some(period),
            ..Limits::default()
        }
    }
}

/// CPU accounting and CFS throttling counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// CPU time used by every task of the cgroup (v1 `cpuacct.usage`, v2 `usage_usec`).
    pub usage: Duration,
    /// Enforcement periods that have elapsed with the cgroup runnable.
    pub nr_periods: u64,
    /// Periods in which the cgroup ran out of quota and was throttled.
    pub nr_throttled: u64,
    /// Total time the cgroup's tasks spent throttled.
    pub throttled: Duration,
}

/// Memory usage and OOM counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Current charge (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage_bytes: u64,
    /// High-water mark when the kernel keeps one (v1 `max_usage_in_bytes`, v2 `memory.peak`).
    pub max_usage_bytes: Option<u64>,
    /// Tasks killed by the OOM killer in this cgroup (`oom_kill`).
    pub oom_kills: u64,
}

/// Everything read back from a cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    /// Tasks currently in the cgroup (`pids.current`), if the pids controller is attached.
    pub pids_current: Option<u64>,
}

/// Write `data` to `dir/file`.
pub fn write_file(dir: &Path, file: &str, data: &str) -> Result<(), WrappedIoError> {
    let p = dir.join(file);
    fs::write(&p, data).wrap_write(&p, data)
}

/// Read `dir/file` as a trimmed string.
pub fn read_file(dir: &Path, file: &str) -> Result<String, WrappedIoError> {
    let p = dir.join(file);
    fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .wrap_read(&p)
}

/// Read a file holding one unsigned number (`max` is `u64::MAX`).
pub fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let s = read_file(dir, file)?;
    parse_u64(&s).ok_or_else(|| CgroupError::Parse {
        path: dir.join(file),
        what: "a number".into(),
        value: s,
    })
}

fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// Read a flat-keyed file (`key value` per line: cpu.stat, memory.events, v1
/// memory.oom_control) into a map.
pub fn read_flat_keyed(dir: &Path, file: &str) -> Result<BTreeMap<String, u64>, CgroupError> {
    let s = read_file(dir, file)?;
    let mut map = BTreeMap::new();
    for line in s.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let v = parse_u64(v).ok_or_else(|| CgroupError::Parse {
            path: dir.join(file),
            what: format!("the value of {k}"),
            value: line.to_string(),
        })?;
        map.insert(k.to_string(), v);
    }
    Ok(map)
}

/// A key of a flat-keyed file, or a parse error naming it.
pub fn key(
    map: &BTreeMap<String, u64>,
    dir: &Path,
    file: &str,
    k: &str,
) -> Result<u64, CgroupError> {
    map.get(k).copied().ok_or_else(|| CgroupError::Parse {
        path: dir.join(file),
        what: format!("key {k}"),
        value: "(missing)".into(),
    })
}

/// The pids listed in `dir/cgroup.procs`.
pub fn read_procs(dir: &Path) -> Result<Vec<i32>, WrappedIoError> {
    let s = read_file(dir, "cgroup.procs")?;
    Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Put `pid` into the cgroup at `dir` (cgroup.procs moves the whole thread group).
pub fn attach_pid(dir: &Path, pid: i32) -> Result<(), WrappedIoError> {
    write_file(dir, "cgroup.procs", &pid.to_string())
}

/// Microseconds as the kernel's cgroup files want them (at least 1).
pub fn usec(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// A unique cgroup directory name for this run: `isobench-<pid>-<n>`, so a leftover is
/// recognisable and `isobench clean` (via the journal) finds it.
pub fn unique_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("isobench-{}-{tag}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_and_errors_name_the_path() {
        let d = tempfile::tempdir().expect("tempdir");
        fs::write(d.path().join("cpu.stat"), "nr_periods 4\nnr_throttled 2\n").expect("w");
        let m = read_flat_keyed(d.path(), "cpu.stat").expect("parse");
        assert_eq!(key(&m, d.path(), "cpu.stat", "nr_throttled").expect("k"), 2);
        let e = key(&m, d.path(), "cpu.stat", "throttled_usec").expect_err("must fail");
        assert!(e.to_string().contains("cpu.stat"), "{e}");
        let e = read_u64(d.path(), "nope").expect_err("must fail");
        assert!(
            e.to_string().contains(&d.path().display().to_string()),
            "{e}"
        );
        fs::write(d.path().join("bad"), "12x").expect("w");
        assert!(matches!(
            read_u64(d.path(), "bad"),
            Err(CgroupError::Parse { .. })
        ));
        fs::write(d.path().join("m"), "max\n").expect("w");
        assert_eq!(read_u64(d.path(), "m").expect("max"), u64::MAX);
    }

    #[test]
    fn cpu_percent_quota() {
        let l = Limits::cpu_percent(150.0, Duration::from_millis(100));
        assert_eq!(l.cpu_quota, Some(Duration::from_millis(150)));
        assert_eq!(usec(Duration::from_millis(25)), 25_000);
    }
}

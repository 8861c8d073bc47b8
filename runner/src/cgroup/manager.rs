//! The [`CgroupManager`] trait both versions implement, and [`AnyManager`], which picks
//! v1 or v2 at run time from the detected [`Layout`] (as youki's `AnyCgroupManager`).
//!
//! Hybrid hosts: the cgroup2 mount normally has no controllers (they are all bound to v1
//! hierarchies), so v1 is used unless `unified/cgroup.controllers` lists both `cpu` and
//! `memory`.

use std::path::{Path, PathBuf};

use super::common::{CgroupError, Limits, Stats};
use super::cpu_reader::CpuReader;
use super::detect::Layout;
use super::v1::V1Manager;
use super::v2::{self, V2Manager};
use crate::cleanup::Cleanup;

/// One cgroup isobench created: limit it, put processes in, read it, remove it.
pub trait CgroupManager {
    /// "v1" or "v2".
    fn version(&self) -> &'static str;
    /// Every directory of the cgroup (v1: one per hierarchy; v2: one).
    fn paths(&self) -> Vec<PathBuf>;
    /// Write the limits. Fields left `None` are not touched.
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError>;
    /// Move `pid` (its whole thread group) into the cgroup.
    fn attach(&self, pid: i32) -> Result<(), CgroupError>;
    /// CPU, memory and pids counters.
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// Where the CPU counters are, for reading them while the cgroup's tasks run.
    fn cpu_reader(&self) -> Result<CpuReader, CgroupError>;
    /// Processes in the cgroup.
    fn procs(&self) -> Result<Vec<i32>, CgroupError>;
    /// Kill every process left in it and remove it. Idempotent; also done on drop by the
    /// cleanup registry.
    fn remove(&mut self) -> Result<(), CgroupError>;

    /// The `cgroup.procs` files a child writes its own pid ("0") into before execve, so a
    /// payload runs inside the cgroup from its first instruction.
    fn procs_files(&self) -> Vec<PathBuf> {
        self.paths()
            .into_iter()
            .map(|p| p.join("cgroup.procs"))
            .collect()
    }
}

/// v1 or v2, chosen at run time.
#[derive(Debug)]
pub enum AnyManager {
    V1(V1Manager),
    V2(V2Manager),
}

/// Which version to drive on `layout`.
pub fn choose(layout: &Layout) -> Choice {
    match layout {
        Layout::V2 { root } => Choice::V2(root.clone()),
        Layout::V1 { .. } => Choice::V1,
        Layout::Hybrid { unified, .. } => {
            let ctrls = v2::controllers(unified, "cgroup.controllers").unwrap_or_default();
            if ["cpu", "memory"]
                .iter()
                .all(|c| ctrls.iter().any(|x| x == c))
            {
                Choice::V2(unified.clone())
            } else {
                Choice::V1
            }
        }
    }
}

/// The outcome of [`choose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    V1,
    /// v2 at this cgroup2 mount.
    V2(PathBuf),
}

impl AnyManager {
    /// Create cgroup `name` on this host (detected layout).
    pub fn create(cleanup: &Cleanup, name: &str) -> Result<AnyManager, CgroupError> {
        let layout = super::detect()?;
        Self::create_on(&layout, cleanup, name)
    }

    /// Cgroup `rel` (relative to the hierarchy roots) that a container runtime or engine
    /// created and will remove: for reading its counters; `remove` is a no-op.
    pub fn existing(rel: &str) -> Result<AnyManager, CgroupError> {
        match choose(&super::detect()?) {
            Choice::V1 => Ok(AnyManager::V1(V1Manager::existing(rel)?)),
            Choice::V2(root) => Ok(AnyManager::V2(V2Manager::existing(
                root.join(rel.trim_start_matches('/')),
            ))),
        }
    }

    pub fn create_on(
        layout: &Layout,
        cleanup: &Cleanup,
        name: &str,
    ) -> Result<AnyManager, CgroupError> {
        match choose(layout) {
            Choice::V1 => Ok(AnyManager::V1(V1Manager::create(cleanup, name)?)),
            Choice::V2(root) => Ok(AnyManager::V2(V2Manager::create(
                cleanup,
                Path::new(&root),
                name,
            )?)),
        }
    }
}

impl CgroupManager for AnyManager {
    fn version(&self) -> &'static str {
        match self {
            AnyManager::V1(_) => "v1",
            AnyManager::V2(_) => "v2",
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        match self {
            AnyManager::V1(m) => m.paths(),
            AnyManager::V2(m) => m.paths(),
        }
    }

    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        match self {
            AnyManager::V1(m) => m.apply(limits),
            AnyManager::V2(m) => m.apply(limits),
        }
    }

    fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        match self {
            AnyManager::V1(m) => m.attach(pid),
            AnyManager::V2(m) => m.attach(pid),
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        match self {
            AnyManager::V1(m) => m.stats(),
            AnyManager::V2(m) => m.stats(),
        }
    }

    fn cpu_reader(&self) -> Result<CpuReader, CgroupError> {
        match self {
            AnyManager::V1(m) => m.cpu_reader(),
            AnyManager::V2(m) => Ok(m.cpu_reader()),
        }
    }

    fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        match self {
            AnyManager::V1(m) => m.procs(),
            AnyManager::V2(m) => m.procs(),
        }
    }

    fn remove(&mut self) -> Result<(), CgroupError> {
        match self {
            AnyManager::V1(m) => m.remove(),
            AnyManager::V2(m) => m.remove(),
        }
    }
}

/// Capability probe (`doctor`, tests): create a throwaway cgroup, give it a CPU quota and
/// a memory limit, read its counters and remove it. Returns what was used, e.g.
/// "v1 (cpu, cpuacct, memory, pids hierarchies); cpu burst: yes".
pub fn self_test(cleanup: &Cleanup) -> Result<String, CgroupError> {
    let mut m = AnyManager::create(cleanup, &super::common::unique_name("doctor"))?;
    let result = (|| {
        m.apply(&Limits {
            cpu_quota: Some(std::time::Duration::from_millis(50)),
            cpu_period: Some(std::time::Duration::from_millis(100)),
            memory_bytes: Some(64 << 20),
            ..Limits::default()
        })?;
        m.stats()?;
        let burst = m.paths().iter().any(|p| {
            p.join(super::v1::cpu::BURST).exists() || p.join(super::v2::cpu::BURST).exists()
        });
        Ok(format!(
            "{} cgroup in {}; cpu burst: {}",
            m.version(),
            m.paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if burst { "yes" } else { "no" }
        ))
    })();
    m.remove()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_uses_v1_unless_unified_has_the_controllers() {
        let d = tempfile::tempdir().expect("tempdir");
        let unified = d.path().join("unified");
        std::fs::create_dir(&unified).expect("mkdir");
        std::fs::write(unified.join("cgroup.controllers"), "\n").expect("w");
        let hybrid = Layout::Hybrid {
            root: d.path().to_path_buf(),
            unified: unified.clone(),
        };
        assert_eq!(choose(&hybrid), Choice::V1);
        std::fs::write(unified.join("cgroup.controllers"), "cpu io memory pids\n").expect("w");
        assert_eq!(choose(&hybrid), Choice::V2(unified.clone()));
        assert_eq!(
            choose(&Layout::V2 {
                root: unified.clone()
            }),
            Choice::V2(unified)
        );
        assert_eq!(
            choose(&Layout::V1 {
                root: d.path().to_path_buf()
            }),
            Choice::V1
        );
    }
}

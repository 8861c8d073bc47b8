//! cgroup v2 (unified hierarchy): one directory per cgroup, controllers enabled for it by
//! the parent's `cgroup.subtree_control`.
//!
//! Where: directly below the cgroup2 mount's root. The harness's own cgroup cannot be the
//! parent on v2: it holds the harness's processes, and the "no internal processes" rule
//! forbids enabling controllers for children of a populated non-root cgroup (EBUSY).
//! The root is exempt from that rule.

pub mod cpu;
pub mod memory;

use std::path::{Path, PathBuf};

use super::common::{
    attach_pid, read_file, read_procs, write_file, CgroupError, Limits, Stats, WrapIoResult,
};
use crate::cgroup::pids;
use crate::cleanup::{Cleanup, Guard, Resource};

/// Controllers isobench needs, and whether a cgroup can do without each.
const CONTROLLERS: [(&str, bool); 3] = [("cpu", true), ("memory", true), ("pids", false)];

/// A v2 cgroup.
#[derive(Debug)]
pub struct V2Manager {
    dir: PathBuf,
    has_pids: bool,
    guard: Option<Guard>,
}

/// The controllers listed in `dir/cgroup.controllers` (or any space-separated list file).
pub fn controllers(dir: &Path, file: &str) -> Result<Vec<String>, CgroupError> {
    Ok(read_file(dir, file)?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Enable the controllers isobench needs for the children of `parent`; returns whether
/// `pids` is among them. Missing required controllers are an error naming the file.
pub fn enable_controllers(parent: &Path) -> Result<bool, CgroupError> {
    let available = controllers(parent, "cgroup.controllers")?;
    let enabled = controllers(parent, "cgroup.subtree_control")?;
    let mut has_pids = false;
    for (c, required) in CONTROLLERS {
        if !available.iter().any(|a| a == c) {
            if required {
                return Err(CgroupError::NoController {
                    controller: c.into(),
                    reason: format!(
                        "{} does not list it",
                        parent.join("cgroup.controllers").display()
                    ),
                    fix: "enable it in the parent cgroup's cgroup.subtree_control, or run on \
                          the host rather than in a container that hides it"
                        .into(),
                });
            }
            continue;
        }
        if c == "pids" {
            has_pids = true;
        }
        if !enabled.iter().any(|e| e == c) {
            write_file(parent, "cgroup.subtree_control", &format!("+{c}"))?;
        }
    }
    Ok(has_pids)
}

impl V2Manager {
    /// Create cgroup `name` below the cgroup2 root `root`, registered in `cleanup` before
    /// the mkdir.
    pub fn create(cleanup: &Cleanup, root: &Path, name: &str) -> Result<V2Manager, CgroupError> {
        let has_pids = enable_controllers(root)?;
        let dir = root.join(name);
        let guard = cleanup.register(Resource::Cgroup { path: dir.clone() })?;
        std::fs::create_dir(&dir).wrap_create_dir(&dir)?;
        Ok(V2Manager {
            dir,
            has_pids,
            guard: Some(guard),
        })
    }

    /// A cgroup someone else made and removes (a container runtime's): read only;
    /// `remove` leaves it alone.
    pub fn existing(dir: PathBuf) -> V2Manager {
        let has_pids = dir.join("pids.current").exists();
        V2Manager {
            dir,
            has_pids,
            guard: None,
        }
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    pub fn apply(&self, l: &Limits) -> Result<(), CgroupError> {
        if l.cpu_quota.is_some() || l.cpu_period.is_some() {
            cpu::set_bandwidth(&self.dir, l.cpu_quota, l.cpu_period)?;
        }
        if let Some(s) = l.cpu_shares {
            cpu::set_weight(&self.dir, s)?;
        }
        if let Some(b) = l.cpu_burst {
            cpu::set_burst(&self.dir, b)?;
        }
        if let Some(m) = l.memory_bytes {
            memory::set_limit(&self.dir, m, l.swap_bytes)?;
        }
        if l.pids_max.is_some() {
            pids::set_max(&self.dir, l.pids_max)?;
        }
        Ok(())
    }

    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        Ok(attach_pid(&self.dir, pid)?)
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(Stats {
            cpu: cpu::stats(&self.dir)?,
            memory: memory::stats(&self.dir)?,
            pids_current: if self.has_pids {
                Some(pids::current(&self.dir)?)
            } else {
                None
            },
        })
    }

    /// The directory, for polling the CPU counters.
    pub fn cpu_reader(&self) -> crate::cgroup::CpuReader {
        crate::cgroup::CpuReader::V2 {
            dir: self.dir.clone(),
        }
    }

    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        Ok(read_procs(&self.dir)?)
    }

    /// Kill what is left (cgroup.kill, then each pid) and rmdir, via the cleanup registry.
    pub fn remove(&mut self) -> Result<(), CgroupError> {
        match self.guard.take() {
            Some(g) => Ok(g.release()?),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn controllers_are_enabled_for_children_on_a_fake_cgroupfs() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        fs::write(p.join("cgroup.controllers"), "cpuset cpu io memory pids\n").expect("w");
        fs::write(p.join("cgroup.subtree_control"), "memory\n").expect("w");
        assert!(enable_controllers(p).expect("enable"));
        // A regular file keeps only the last write; the kernel's accumulates.
        assert_eq!(
            fs::read_to_string(p.join("cgroup.subtree_control")).expect("r"),
            "+pids"
        );

        fs::write(p.join("cgroup.controllers"), "io\n").expect("w");
        let e = enable_controllers(p).expect_err("must fail");
        assert!(e.to_string().contains("cgroup.controllers"), "{e}");
    }

    #[test]
    fn manager_on_a_fake_root() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = d.path();
        fs::write(root.join("cgroup.controllers"), "cpu memory\n").expect("w");
        fs::write(root.join("cgroup.subtree_control"), "cpu memory\n").expect("w");
        let c = Cleanup::in_memory();
        let mut m = V2Manager::create(&c, root, "t").expect("create");
        assert_eq!(c.live().len(), 1);
        let dir = root.join("t");
        m.apply(&Limits {
            cpu_quota: Some(std::time::Duration::from_millis(10)),
            memory_bytes: Some(1 << 20),
            ..Limits::default()
        })
        .expect("apply");
        assert_eq!(
            fs::read_to_string(dir.join(cpu::MAX)).expect("r"),
            "10000 100000"
        );
        assert_eq!(
            fs::read_to_string(dir.join(memory::MAX)).expect("r"),
            "1048576"
        );
        fs::write(dir.join(cpu::STAT), "usage_usec 5\n").expect("w");
        fs::write(dir.join(memory::CURRENT), "0\n").expect("w");
        fs::write(dir.join(memory::EVENTS), "oom_kill 0\n").expect("w");
        let s = m.stats().expect("stats");
        assert_eq!(s.cpu.usage.as_micros(), 5);
        assert_eq!(s.pids_current, None, "no pids controller");
        // The poller's reader reads the same cpu.stat.
        let r = m.cpu_reader();
        assert_eq!(r, crate::cgroup::CpuReader::V2 { dir: dir.clone() });
        assert_eq!(r.read().expect("read").usage.as_micros(), 5);
        for f in [
            cpu::MAX,
            cpu::STAT,
            memory::MAX,
            memory::CURRENT,
            memory::EVENTS,
        ] {
            fs::remove_file(dir.join(f)).expect("rm");
        }
        m.remove().expect("remove");
        assert!(!dir.exists());
    }
}

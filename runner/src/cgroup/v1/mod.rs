//! cgroup v1 (legacy and hybrid hosts): one hierarchy per controller (or per group of
//! co-mounted controllers), so one cgroup is one directory *per hierarchy*.
//!
//! Where: the new cgroup is created below the harness's own cgroup in each hierarchy
//! (from /proc/self/cgroup), so limits an outer sandbox put on the harness still apply to
//! the payload; the harness itself never joins it. The mount point of each controller
//! comes from /proc/self/mountinfo (fstype `cgroup`, controller in the super options).

pub mod cpu;
pub mod memory;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::common::{attach_pid, read_procs, CgroupError, Limits, Stats, WrapIoResult};
use crate::cgroup::pids;
use crate::cleanup::{Cleanup, Guard, Resource};

/// Controllers isobench needs, and whether a cgroup can do without each.
const CONTROLLERS: [(&str, bool); 4] = [
    ("cpu", true),
    ("cpuacct", true),
    ("memory", true),
    ("pids", false),
];

/// A v1 cgroup: a directory in each hierarchy isobench uses.
#[derive(Debug)]
pub struct V1Manager {
    /// Controller name → its directory (co-mounted controllers share one).
    dirs: BTreeMap<&'static str, PathBuf>,
    guards: Vec<Guard>,
}

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// The path inside the hierarchy that is mounted (normally `/`).
    pub mount_root: String,
    pub controllers: Vec<String>,
}

/// The v1 hierarchies in a /proc/self/mountinfo text.
pub fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent maj:min root mount-point options [optional...] - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split_whitespace().collect();
        let r: Vec<&str> = right.split_whitespace().collect();
        if l.len() < 5 || r.len() < 3 || r[0] != "cgroup" {
            continue;
        }
        let controllers = r[2]
            .split(',')
            .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
            .map(str::to_string)
            .collect();
        out.push(Hierarchy {
            mount_point: PathBuf::from(l[4]),
            mount_root: l[3].to_string(),
            controllers,
        });
    }
    out
}

/// controller → the caller's cgroup path in its hierarchy, from /proc/self/cgroup text
/// (`id:controller,list:/path`; the v2 line `0::/path` is ignored).
pub fn parse_proc_cgroup(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        for c in ctrls.split(',').filter(|c| !c.is_empty()) {
            out.insert(c.to_string(), path.to_string());
        }
    }
    out
}

/// The directory of the caller's own cgroup for `controller`.
fn own_dir(
    hierarchies: &[Hierarchy],
    own: &BTreeMap<String, String>,
    controller: &str,
) -> Option<PathBuf> {
    let h = hierarchies
        .iter()
        .find(|h| h.controllers.iter().any(|c| c == controller))?;
    let path = own.get(controller).map(String::as_str).unwrap_or("/");
    // A hierarchy mounted from a sub-path (a container's view) shows paths below it.
    let rel = path
        .strip_prefix(h.mount_root.as_str())
        .unwrap_or(path)
        .trim_start_matches('/');
    Some(h.mount_point.join(rel))
}

impl V1Manager {
    /// Create cgroup `name` below the harness's own cgroup in every hierarchy it needs.
    /// Each directory is registered in `cleanup` before it is made.
    pub fn create(cleanup: &Cleanup, name: &str) -> Result<V1Manager, CgroupError> {
        let read = |p: &str| std::fs::read_to_string(p).wrap_read(Path::new(p));
        let hierarchies = parse_mountinfo(&read("/proc/self/mountinfo")?);
        let own = parse_proc_cgroup(&read("/proc/self/cgroup")?);
        let mut parents = BTreeMap::new();
        for (c, required) in CONTROLLERS {
            match own_dir(&hierarchies, &own, c) {
                Some(p) => {
                    parents.insert(c, p);
                }
                None if required => {
                    return Err(CgroupError::NoController {
                        controller: c.into(),
                        reason: "no v1 hierarchy in /proc/self/mountinfo has it".into(),
                        fix: format!("mount -t cgroup -o {c} cgroup /sys/fs/cgroup/{c}"),
                    })
                }
                None => {}
            }
        }
        Self::create_in(cleanup, parents, name)
    }

    /// Create `name` below each given parent (controller → parent directory).
    pub fn create_in(
        cleanup: &Cleanup,
        parents: BTreeMap<&'static str, PathBuf>,
        name: &str,
    ) -> Result<V1Manager, CgroupError> {
        let mut mgr = V1Manager {
            dirs: BTreeMap::new(),
            guards: Vec::new(),
        };
        let mut made: Vec<PathBuf> = Vec::new();
        for (c, parent) in parents {
            let dir = parent.join(name);
            if !made.contains(&dir) {
                mgr.guards
                    .push(cleanup.register(Resource::Cgroup { path: dir.clone() })?);
                std::fs::create_dir(&dir).wrap_create_dir(&dir)?;
                made.push(dir.clone());
            }
            mgr.dirs.insert(c, dir);
        }
        Ok(mgr)
    }

    /// Cgroup `rel` (a path from each hierarchy's root, e.g. a runtime's `cgroupsPath`)
    /// that someone else made and removes (a container runtime): read only; `remove`
    /// leaves it alone. Hierarchies where it does not exist are left out.
    pub fn existing(rel: &str) -> Result<V1Manager, CgroupError> {
        let p = "/proc/self/mountinfo";
        let text = std::fs::read_to_string(p).wrap_read(Path::new(p))?;
        Ok(Self::existing_in(&parse_mountinfo(&text), rel))
    }

    fn existing_in(hierarchies: &[Hierarchy], rel: &str) -> V1Manager {
        let mut dirs = BTreeMap::new();
        for (c, _) in CONTROLLERS {
            let Some(h) = hierarchies
                .iter()
                .find(|h| h.controllers.iter().any(|x| x == c))
            else {
                continue;
            };
            let inner = rel
                .strip_prefix(h.mount_root.as_str())
                .unwrap_or(rel)
                .trim_start_matches('/');
            let dir = h.mount_point.join(inner);
            if dir.is_dir() {
                dirs.insert(c, dir);
            }
        }
        V1Manager {
            dirs,
            guards: Vec::new(),
        }
    }

    fn dir(&self, c: &str) -> Result<&Path, CgroupError> {
        self.dirs
            .get(c)
            .map(PathBuf::as_path)
            .ok_or_else(|| CgroupError::NoController {
                controller: c.into(),
                reason: "this cgroup has no directory in its hierarchy".into(),
                fix: format!("mount the v1 {c} controller"),
            })
    }

    /// Distinct directories of this cgroup (one per hierarchy).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.dirs.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn apply(&self, l: &Limits) -> Result<(), CgroupError> {
        if l.cpu_quota.is_some() || l.cpu_period.is_some() {
            cpu::set_bandwidth(self.dir("cpu")?, l.cpu_quota, l.cpu_period)?;
        }
        if let Some(s) = l.cpu_shares {
            cpu::set_shares(self.dir("cpu")?, s)?;
        }
        if let Some(b) = l.cpu_burst {
            cpu::set_burst(self.dir("cpu")?, b)?;
        }
        if let Some(m) = l.memory_bytes {
            memory::set_limit(self.dir("memory")?, m, l.swap_bytes)?;
        }
        if l.pids_max.is_some() {
            pids::set_max(self.dir("pids")?, l.pids_max)?;
        }
        Ok(())
    }

    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        for p in self.paths() {
            attach_pid(&p, pid)?;
        }
        Ok(())
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(Stats {
            cpu: cpu::stats(self.dir("cpu")?, self.dir("cpuacct")?)?,
            memory: memory::stats(self.dir("memory")?)?,
            pids_current: match self.dirs.get("pids") {
                Some(p) => Some(pids::current(p)?),
                None => None,
            },
        })
    }

    /// The `cpu` and `cpuacct` directories, for polling the CPU counters.
    pub fn cpu_reader(&self) -> Result<crate::cgroup::CpuReader, CgroupError> {
        Ok(crate::cgroup::CpuReader::V1 {
            cpu: self.dir("cpu")?.to_path_buf(),
            cpuacct: self.dir("cpuacct")?.to_path_buf(),
        })
    }

    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut v = Vec::new();
        for p in self.paths() {
            v.extend(read_procs(&p)?);
        }
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }

    /// Kill what is left inside and remove every directory (the cleanup registry's
    /// removal: SIGKILL each pid of cgroup.procs, rmdir, retry while busy).
    pub fn remove(&mut self) -> Result<(), CgroupError> {
        let mut first = None;
        for g in self.guards.drain(..).rev() {
            if let Err(e) = g.release() {
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:40 /docker/abc /sys/fs/cgroup/pids rw shared:5 - cgroup cgroup rw,pids
";

    #[test]
    fn hierarchies_and_own_cgroup_from_proc_text() {
        let h = parse_mountinfo(MOUNTINFO);
        assert_eq!(h.len(), 5, "{h:?}");
        assert_eq!(h[0].controllers, vec!["cpu"]);
        assert_eq!(h[3].controllers, vec!["xattr"]);
        let own = parse_proc_cgroup(
            "4:memory:/process_api/x\n2:cpuacct:/\n1:cpu:/\n8:pids:/docker/abc/y\n0::/\n",
        );
        assert_eq!(
            own_dir(&h, &own, "memory"),
            Some(PathBuf::from("/sys/fs/cgroup/memory/process_api/x"))
        );
        assert_eq!(
            own_dir(&h, &own, "cpu"),
            Some(PathBuf::from("/sys/fs/cgroup/cpu/"))
        );
        assert_eq!(
            own_dir(&h, &own, "pids"),
            Some(PathBuf::from("/sys/fs/cgroup/pids/y"))
        );
        assert_eq!(own_dir(&h, &own, "blkio"), None);
    }

    #[test]
    fn existing_cgroups_are_found_per_hierarchy_and_never_removed() {
        let d = tempfile::tempdir().expect("tempdir");
        let hierarchies: Vec<Hierarchy> = ["cpu", "cpuacct", "memory"]
            .iter()
            .map(|c| Hierarchy {
                mount_point: d.path().join(c),
                mount_root: "/".into(),
                controllers: vec![c.to_string()],
            })
            .collect();
        for c in ["cpu", "cpuacct", "memory"] {
            std::fs::create_dir_all(d.path().join(c).join("parent/ctr")).expect("mkdir");
        }
        let mut m = V1Manager::existing_in(&hierarchies, "/parent/ctr");
        assert_eq!(m.paths().len(), 3);
        // The CPU counters are read from two hierarchies here (cpu, cpuacct apart).
        assert_eq!(
            m.cpu_reader().expect("cpu and cpuacct"),
            crate::cgroup::CpuReader::V1 {
                cpu: d.path().join("cpu/parent/ctr"),
                cpuacct: d.path().join("cpuacct/parent/ctr"),
            }
        );
        assert!(m.paths().iter().all(|p| p.ends_with("parent/ctr")));
        m.remove().expect("remove is a no-op");
        assert!(d.path().join("memory/parent/ctr").is_dir());
        assert!(V1Manager::existing_in(&hierarchies, "/nope")
            .paths()
            .is_empty());
        let e = V1Manager::existing_in(&hierarchies, "/nope")
            .cpu_reader()
            .expect_err("no cpu directory");
        assert!(e.to_string().contains("cpu"), "{e}");
    }

    #[test]
    fn comounted_controllers_share_one_directory() {
        let d = tempfile::tempdir().expect("tempdir");
        let c = Cleanup::in_memory();
        let parents = BTreeMap::from([
            ("cpu", d.path().join("cpu,cpuacct")),
            ("cpuacct", d.path().join("cpu,cpuacct")),
            ("memory", d.path().join("memory")),
        ]);
        for p in parents.values() {
            std::fs::create_dir_all(p).expect("mkdir");
        }
        let mut m = V1Manager::create_in(&c, parents, "t").expect("create");
        assert_eq!(m.paths().len(), 2);
        assert_eq!(c.live().len(), 2, "each directory is registered");
        // The fake directories are empty, so the registry's rmdir removes them.
        m.remove().expect("remove");
        assert!(c.live().is_empty());
        assert!(!d.path().join("memory/t").exists());
    }
}

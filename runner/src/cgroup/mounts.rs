//! Where the cgroup hierarchies are mounted, and what a process's memory cgroup holds,
//! read from `/proc` (mountinfo, `/proc/PID/cgroup`).

use std::fs;
use std::path::{Path, PathBuf};

/// Mount points of cgroup hierarchies (v1 and v2), from /proc/self/mountinfo.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split_whitespace().next()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            pre.split_whitespace().nth(4).map(PathBuf::from)
        })
        .collect()
}

/// Memory charged to the memory cgroup of `pid` (v1 `memory.usage_in_bytes`, v2
/// `memory.current`), or `None` when it has none of its own (it shares ours).
pub fn cgroup_memory_of(pid: i32) -> Option<u64> {
    let theirs = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let ours = fs::read_to_string("/proc/self/cgroup").ok()?;
    let memory_path = |text: &str| -> Option<(bool, String)> {
        let mut v2 = None;
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            if ctrls.split(',').any(|c| c == "memory") {
                return Some((false, path.to_string()));
            }
            if id == "0" && ctrls.is_empty() {
                v2 = Some((true, path.to_string()));
            }
        }
        v2
    };
    let (v2, path) = memory_path(&theirs)?;
    if memory_path(&ours).is_some_and(|(_, p)| p == path) {
        return None;
    }
    let rel = path.trim_start_matches('/');
    let file = if v2 {
        if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            return None; // hybrid: the cgroup2 hierarchy has no memory controller
        }
        Path::new("/sys/fs/cgroup").join(rel).join("memory.current")
    } else {
        Path::new("/sys/fs/cgroup/memory")
            .join(rel)
            .join("memory.usage_in_bytes")
    };
    fs::read_to_string(file).ok()?.trim().parse().ok()
}

//! Engine helper processes (conmon, fuse-overlayfs, containerd-shim) that are re-parented
//! to the harness, a child subreaper, when their container goes: reaped so none is left a
//! zombie.

use std::fs::{self};

use crate::sys;

/// Processes an engine leaves to us as the child subreaper once they exit (podman's
/// conmon double-forks, so it is re-parented to the harness): reap those zombies. Only
/// zombies named like engine helpers are reaped, never a child someone else waits for.
pub fn reap_orphans() {
    let me = std::process::id() as i32;
    let Ok(rd) = fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let mut rest = stat[close + 1..].split_whitespace();
        let (state, ppid) = (rest.next(), rest.next().and_then(|p| p.parse::<i32>().ok()));
        if state == Some("Z") && ppid == Some(me) && ORPHAN_NAMES.contains(&comm) {
            let _ = sys::process::wait4(pid, false);
        }
    }
}

/// Helper processes of engines that end up as our children (see `reap_orphans`).
const ORPHAN_NAMES: &[&str] = &["conmon", "fuse-overlayfs", "containerd-shim"];

//! v2 `memory` controller: `memory.max`, `memory.swap.max`, `memory.current`,
//! `memory.peak` (Linux 5.19+) and `memory.events` (`oom_kill`).
//!
//! Kernel doc: Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files".

use std::path::Path;

use crate::cgroup::common::{key, read_flat_keyed, read_u64, write_file, CgroupError, MemoryStats};

pub const MAX: &str = "memory.max";
pub const SWAP_MAX: &str = "memory.swap.max";
pub const CURRENT: &str = "memory.current";
pub const PEAK: &str = "memory.peak";
pub const EVENTS: &str = "memory.events";

/// Set `memory.max` and, when the kernel accounts swap, `memory.swap.max`.
pub fn set_limit(path: &Path, bytes: u64, swap: Option<u64>) -> Result<(), CgroupError> {
    write_file(path, MAX, &bytes.to_string())?;
    if let Some(swap) = swap {
        if path.join(SWAP_MAX).exists() {
            write_file(path, SWAP_MAX, &swap.to_string())?;
        } else if swap > 0 {
            return Err(CgroupError::Unsupported {
                what: "a swap limit".into(),
                path: path.join(SWAP_MAX),
                fix: "enable swap accounting (CONFIG_MEMCG_SWAP) or run without a swap limit"
                    .into(),
            });
        }
    }
    Ok(())
}

pub fn stats(path: &Path) -> Result<MemoryStats, CgroupError> {
    let ev = read_flat_keyed(path, EVENTS)?;
    Ok(MemoryStats {
        usage_bytes: read_u64(path, CURRENT)?,
        max_usage_bytes: read_u64(path, PEAK).ok(),
        oom_kills: key(&ev, path, EVENTS, "oom_kill")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn limit_swap_and_events_on_a_fake_cgroupfs() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        set_limit(p, 32 << 20, Some(0)).expect("limit");
        assert_eq!(fs::read_to_string(p.join(MAX)).expect("r"), "33554432");
        assert!(!p.join(SWAP_MAX).exists());
        fs::write(p.join(SWAP_MAX), "max").expect("w");
        set_limit(p, 32 << 20, Some(0)).expect("limit");
        assert_eq!(fs::read_to_string(p.join(SWAP_MAX)).expect("r"), "0");

        fs::write(p.join(CURRENT), "4096\n").expect("w");
        fs::write(
            p.join(EVENTS),
            "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .expect("w");
        let s = stats(p).expect("stats");
        assert_eq!(s.usage_bytes, 4096);
        assert_eq!(s.max_usage_bytes, None);
        assert_eq!(s.oom_kills, 1);
    }
}

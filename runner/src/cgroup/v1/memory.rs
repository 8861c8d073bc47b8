//! v1 `memory` controller: limit (memory.limit_in_bytes), swap limit
//! (memory.memsw.limit_in_bytes = memory + swap, present when the kernel accounts swap),
//! usage (memory.usage_in_bytes, memory.max_usage_in_bytes) and OOM kills
//! (memory.oom_control `oom_kill`, Linux 4.13+).
//!
//! Kernel doc: Documentation/admin-guide/cgroup-v1/memory.rst.

use std::path::Path;

use crate::cgroup::common::{key, read_flat_keyed, read_u64, write_file, CgroupError, MemoryStats};

pub const LIMIT: &str = "memory.limit_in_bytes";
pub const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";
pub const USAGE: &str = "memory.usage_in_bytes";
pub const MAX_USAGE: &str = "memory.max_usage_in_bytes";
pub const OOM_CONTROL: &str = "memory.oom_control";

/// Set the memory limit and, where the kernel has memsw, the swap allowance on top of it.
/// memsw must never be below the memory limit, so the memory limit is written first
/// (a fresh cgroup's memsw is unlimited).
pub fn set_limit(path: &Path, bytes: u64, swap: Option<u64>) -> Result<(), CgroupError> {
    write_file(path, LIMIT, &bytes.to_string())?;
    if let Some(swap) = swap {
        if path.join(MEMSW_LIMIT).exists() {
            write_file(path, MEMSW_LIMIT, &bytes.saturating_add(swap).to_string())?;
        } else if swap > 0 {
            return Err(CgroupError::Unsupported {
                what: "a swap limit".into(),
                path: path.join(MEMSW_LIMIT),
                fix: "boot with swapaccount=1 or run without a swap limit".into(),
            });
        }
        // swap == 0 without memsw: swap is not accounted, nothing to limit.
    }
    Ok(())
}

pub fn stats(path: &Path) -> Result<MemoryStats, CgroupError> {
    let oom = read_flat_keyed(path, OOM_CONTROL)?;
    Ok(MemoryStats {
        usage_bytes: read_u64(path, USAGE)?,
        max_usage_bytes: read_u64(path, MAX_USAGE).ok(),
        oom_kills: key(&oom, path, OOM_CONTROL, "oom_kill")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn limit_swap_and_oom_on_a_fake_cgroupfs() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        // No memsw: swap 0 is accepted (nothing to limit), swap > 0 is refused.
        set_limit(p, 64 << 20, Some(0)).expect("limit");
        assert_eq!(fs::read_to_string(p.join(LIMIT)).expect("r"), "67108864");
        assert!(set_limit(p, 64 << 20, Some(1)).is_err());
        fs::write(p.join(MEMSW_LIMIT), "9223372036854771712").expect("w");
        set_limit(p, 64 << 20, Some(0)).expect("limit");
        assert_eq!(
            fs::read_to_string(p.join(MEMSW_LIMIT)).expect("r"),
            "67108864"
        );

        fs::write(p.join(USAGE), "1048576\n").expect("w");
        fs::write(p.join(MAX_USAGE), "67100000\n").expect("w");
        fs::write(
            p.join(OOM_CONTROL),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        )
        .expect("w");
        let s = stats(p).expect("stats");
        assert_eq!(s.usage_bytes, 1 << 20);
        assert_eq!(s.max_usage_bytes, Some(67_100_000));
        assert_eq!(s.oom_kills, 1);
    }
}

//! A cgroup's CPU counters, read again and again while its tasks run: what the
//! `throttle` scenario polls to see each CFS period's refill (see
//! `scenario/throttle/refills.rs`).
//!
//! A reader holds only the directories, so it can be moved to a polling thread while
//! the instance that owns the cgroup waits for its payload. The order of a read matters
//! to that poller and is the same in both versions: the throttling counters are read
//! before the usage (v1: `cpu.stat`, then `cpuacct.usage`; v2: one `cpu.stat`, whose
//! `usage_usec` line comes first but is flushed in the same read).

use std::path::PathBuf;

use super::common::{CgroupError, CpuStats};
use super::{v1, v2};

/// Where one cgroup's CPU counters are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuReader {
    /// v1: throttling counters in the `cpu` hierarchy, usage in `cpuacct` (the same
    /// directory where the two are co-mounted).
    V1 { cpu: PathBuf, cpuacct: PathBuf },
    /// v2: `cpu.stat` of the one directory.
    V2 { dir: PathBuf },
}

impl CpuReader {
    /// The counters now.
    pub fn read(&self) -> Result<CpuStats, CgroupError> {
        match self {
            CpuReader::V1 { cpu, cpuacct } => v1::cpu::stats(cpu, cpuacct),
            CpuReader::V2 { dir } => v2::cpu::stats(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Duration;

    #[test]
    fn v1_reads_usage_from_cpuacct_and_throttling_from_cpu() {
        let d = tempfile::tempdir().expect("tempdir");
        let (cpu, acct) = (d.path().join("cpu/g"), d.path().join("cpuacct/g"));
        fs::create_dir_all(&cpu).expect("mkdir");
        fs::create_dir_all(&acct).expect("mkdir");
        fs::write(
            cpu.join("cpu.stat"),
            "nr_periods 7\nnr_throttled 6\nthrottled_time 540000000\n",
        )
        .expect("w");
        fs::write(acct.join("cpuacct.usage"), "61000000\n").expect("w");
        let r = CpuReader::V1 {
            cpu: cpu.clone(),
            cpuacct: acct.clone(),
        };
        let s = r.read().expect("read");
        assert_eq!(s.usage, Duration::from_millis(61));
        assert_eq!((s.nr_periods, s.nr_throttled), (7, 6));
        assert_eq!(s.throttled, Duration::from_millis(540));
        // A second read sees what changed (nothing is cached).
        fs::write(acct.join("cpuacct.usage"), "71000000\n").expect("w");
        assert_eq!(r.read().expect("read").usage, Duration::from_millis(71));
        // A missing file is an error naming it.
        fs::remove_file(acct.join("cpuacct.usage")).expect("rm");
        let e = r.read().expect_err("no usage file");
        assert!(e.to_string().contains("cpuacct.usage"), "{e}");
    }

    #[test]
    fn v2_reads_one_cpu_stat() {
        let d = tempfile::tempdir().expect("tempdir");
        fs::write(
            d.path().join("cpu.stat"),
            "usage_usec 61000\nuser_usec 60000\nsystem_usec 1000\nnr_periods 7\n\
             nr_throttled 6\nthrottled_usec 540000\n",
        )
        .expect("w");
        let r = CpuReader::V2 {
            dir: d.path().to_path_buf(),
        };
        let s = r.read().expect("read");
        assert_eq!(s.usage, Duration::from_millis(61));
        assert_eq!((s.nr_periods, s.nr_throttled), (7, 6));
        assert_eq!(s.throttled, Duration::from_millis(540));
    }
}

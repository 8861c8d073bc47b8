//! v1 `cpu` and `cpuacct` controllers: CFS bandwidth (cpu.cfs_quota_us, cpu.cfs_period_us,
//! cpu.cfs_burst_us), throttling counters (cpu.stat) and usage (cpuacct.usage).
//!
//! Kernel doc: Documentation/scheduler/sched-bwc.rst. On hosts where `cpu` and `cpuacct`
//! are mounted separately (this one) usage lives in a different directory than the
//! throttling counters, hence the two paths of [`stats`].

use std::path::Path;
use std::time::Duration;

use crate::cgroup::common::{
    key, read_flat_keyed, read_u64, usec, write_file, CgroupError, CpuStats,
};

pub const QUOTA: &str = "cpu.cfs_quota_us";
pub const PERIOD: &str = "cpu.cfs_period_us";
pub const BURST: &str = "cpu.cfs_burst_us";
pub const STAT: &str = "cpu.stat";
pub const USAGE: &str = "cpuacct.usage";
pub const SHARES: &str = "cpu.shares";

/// Set the CFS weight (`cpu.shares`, 2..=262144; 1024 is one nice-0 task's weight).
pub fn set_shares(path: &Path, shares: u64) -> Result<(), CgroupError> {
    write_file(path, SHARES, &shares.clamp(2, 262_144).to_string())?;
    Ok(())
}

/// Set the CFS period and quota (`None`: unlimited, written as -1). The period is written
/// first: the kernel validates quota against the current period.
pub fn set_bandwidth(
    path: &Path,
    quota: Option<Duration>,
    period: Option<Duration>,
) -> Result<(), CgroupError> {
    if let Some(p) = period {
        write_file(path, PERIOD, &usec(p).to_string())?;
    }
    let q = match quota {
        Some(q) => usec(q).to_string(),
        None => "-1".to_string(),
    };
    write_file(path, QUOTA, &q)?;
    Ok(())
}

/// Set the burst (Linux 5.14+). A zero burst on a kernel without the file is a no-op.
pub fn set_burst(path: &Path, burst: Duration) -> Result<(), CgroupError> {
    if !path.join(BURST).exists() {
        if burst.is_zero() {
            return Ok(());
        }
        return Err(CgroupError::Unsupported {
            what: "CPU burst".into(),
            path: path.join(BURST),
            fix: "use Linux 5.14 or later, or run without a burst".into(),
        });
    }
    write_file(path, BURST, &(burst.as_micros() as u64).to_string())?;
    Ok(())
}

/// Throttling counters from `cpu_path/cpu.stat` (throttled_time is in ns in v1) and usage
/// from `cpuacct_path/cpuacct.usage` (ns).
pub fn stats(cpu_path: &Path, cpuacct_path: &Path) -> Result<CpuStats, CgroupError> {
    let m = read_flat_keyed(cpu_path, STAT)?;
    Ok(CpuStats {
        usage: Duration::from_nanos(read_u64(cpuacct_path, USAGE)?),
        nr_periods: key(&m, cpu_path, STAT, "nr_periods")?,
        nr_throttled: key(&m, cpu_path, STAT, "nr_throttled")?,
        throttled: Duration::from_nanos(key(&m, cpu_path, STAT, "throttled_time")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn bandwidth_burst_and_stats_on_a_fake_cgroupfs() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        set_bandwidth(
            p,
            Some(Duration::from_millis(25)),
            Some(Duration::from_millis(100)),
        )
        .expect("set");
        assert_eq!(fs::read_to_string(p.join(QUOTA)).expect("r"), "25000");
        assert_eq!(fs::read_to_string(p.join(PERIOD)).expect("r"), "100000");
        set_bandwidth(p, None, None).expect("unlimited");
        set_shares(p, 1 << 30).expect("shares");
        assert_eq!(fs::read_to_string(p.join(SHARES)).expect("r"), "262144");
        assert_eq!(fs::read_to_string(p.join(QUOTA)).expect("r"), "-1");

        // No burst file: zero is fine, non-zero says what is missing.
        set_burst(p, Duration::ZERO).expect("zero burst");
        let e = set_burst(p, Duration::from_millis(5)).expect_err("must fail");
        assert!(e.to_string().contains(BURST), "{e}");
        fs::write(p.join(BURST), "0").expect("w");
        set_burst(p, Duration::from_millis(5)).expect("burst");
        assert_eq!(fs::read_to_string(p.join(BURST)).expect("r"), "5000");

        fs::write(
            p.join(STAT),
            "nr_periods 20\nnr_throttled 18\nthrottled_time 1500000000\nnr_bursts 0\nburst_time 0\n",
        )
        .expect("w");
        fs::write(p.join(USAGE), "500000000\n").expect("w");
        let s = stats(p, p).expect("stats");
        assert_eq!(
            s,
            CpuStats {
                usage: Duration::from_millis(500),
                nr_periods: 20,
                nr_throttled: 18,
                throttled: Duration::from_millis(1500),
            }
        );
    }
}

//! v2 `cpu` controller: bandwidth (`cpu.max` = "QUOTA PERIOD" in µs, or "max PERIOD"),
//! burst (`cpu.max.burst`, Linux 5.14+) and `cpu.stat` (usage_usec, nr_periods,
//! nr_throttled, throttled_usec).
//!
//! Kernel doc: Documentation/admin-guide/cgroup-v2.rst, "CPU Interface Files".

use std::path::Path;
use std::time::Duration;

use crate::cgroup::common::{key, read_flat_keyed, usec, write_file, CgroupError, CpuStats};

pub const MAX: &str = "cpu.max";
pub const BURST: &str = "cpu.max.burst";
pub const STAT: &str = "cpu.stat";
pub const WEIGHT: &str = "cpu.weight";

/// v1 `cpu.shares` (2..=262144) to v2 `cpu.weight` (1..=10000), the mapping runc and
/// systemd use: 1024 → 39, 262144 → 10000.
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// Set `cpu.weight` from a v1-scale `shares` value.
pub fn set_weight(path: &Path, shares: u64) -> Result<(), CgroupError> {
    write_file(path, WEIGHT, &shares_to_weight(shares).to_string())?;
    Ok(())
}

/// Write `cpu.max`. Without a period the kernel default (100 ms) is written explicitly so
/// the file always says what was asked.
pub fn set_bandwidth(
    path: &Path,
    quota: Option<Duration>,
    period: Option<Duration>,
) -> Result<(), CgroupError> {
    let period = usec(period.unwrap_or(Duration::from_millis(100)));
    let v = match quota {
        Some(q) => format!("{} {period}", usec(q)),
        None => format!("max {period}"),
    };
    write_file(path, MAX, &v)?;
    Ok(())
}

/// Write `cpu.max.burst`; a zero burst on a kernel without the file is a no-op.
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

/// `cpu.stat`. The throttling keys exist only when the cpu controller is enabled for the
/// cgroup; without it they read as zero (usage_usec is always there).
pub fn stats(path: &Path) -> Result<CpuStats, CgroupError> {
    let m = read_flat_keyed(path, STAT)?;
    let opt = |k: &str| m.get(k).copied().unwrap_or(0);
    Ok(CpuStats {
        usage: Duration::from_micros(key(&m, path, STAT, "usage_usec")?),
        nr_periods: opt("nr_periods"),
        nr_throttled: opt("nr_throttled"),
        throttled: Duration::from_micros(opt("throttled_usec")),
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
            Some(Duration::from_millis(150)),
            Some(Duration::from_millis(100)),
        )
        .expect("set");
        assert_eq!(fs::read_to_string(p.join(MAX)).expect("r"), "150000 100000");
        set_bandwidth(p, None, Some(Duration::from_millis(50))).expect("set");
        assert_eq!(fs::read_to_string(p.join(MAX)).expect("r"), "max 50000");

        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        set_weight(p, 262_144).expect("weight");
        assert_eq!(fs::read_to_string(p.join(WEIGHT)).expect("r"), "10000");

        assert!(set_burst(p, Duration::from_millis(1)).is_err());
        fs::write(p.join(BURST), "0").expect("w");
        set_burst(p, Duration::from_millis(20)).expect("burst");
        assert_eq!(fs::read_to_string(p.join(BURST)).expect("r"), "20000");

        fs::write(
            p.join(STAT),
            "usage_usec 250000\nuser_usec 240000\nsystem_usec 10000\nnr_periods 10\n\
             nr_throttled 9\nthrottled_usec 700000\nnr_bursts 0\nburst_usec 0\n",
        )
        .expect("w");
        let s = stats(p).expect("stats");
        assert_eq!(
            s,
            CpuStats {
                usage: Duration::from_millis(250),
                nr_periods: 10,
                nr_throttled: 9,
                throttled: Duration::from_millis(700),
            }
        );
        fs::write(p.join(STAT), "user_usec 1\n").expect("w");
        assert!(stats(p).is_err(), "usage_usec is required");
    }
}

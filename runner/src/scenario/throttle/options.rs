//! Options of the `throttle` scenario: its command-line flags (flattened into
//! `isobench run`), their ranges, and what the run file records under `config.options`.

use clap::builder::RangedU64ValueParser;
use serde::Serialize;

/// The smallest CFS quota the kernel accepts (`cpu.cfs_quota_us` ≥ 1000 µs, `cpu.max`
/// likewise): a quota below it makes every point fail with EINVAL.
const MIN_QUOTA_US: f64 = 1000.0;

/// The quota sweep and its windows.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct ThrottleOptions {
    /// CPU quotas of the throttle sweep, in % of one CPU (comma list; each above 0 and at
    /// most 10000, and at least 1 ms of CPU per period: 1 % at the default period).
    #[arg(long, value_delimiter = ',', default_values_t = vec![10.0f64, 25.0, 50.0, 100.0, 150.0, 200.0],
          value_parser = parse_quota)]
    pub quotas: Vec<f64>,
    /// CFS period of the throttle sweep, in ms (1–1000: the kernel's CFS period range).
    #[arg(long, default_value_t = 100, value_parser = RangedU64ValueParser::<u64>::new().range(1..=1000))]
    pub period_ms: u64,
    /// Work window of one throttle run, in ms (100–600000; default: 1000 with --quick,
    /// else 5000).
    #[arg(long, value_parser = RangedU64ValueParser::<u64>::new().range(100..=600_000))]
    pub throttle_window_ms: Option<u64>,
}

impl Default for ThrottleOptions {
    fn default() -> Self {
        ThrottleOptions {
            quotas: vec![10.0, 25.0, 50.0, 100.0, 150.0, 200.0],
            period_ms: 100,
            throttle_window_ms: None,
        }
    }
}

/// Why a combination of throttle options cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ThrottleOptionsError {
    #[error(
        "--quotas {percent}: with --period-ms {period_ms} that is {quota_us:.1} µs of CPU per period, \
         below the kernel's minimum of 1000 µs; use a quota of at least {min_percent}% or a longer --period-ms"
    )]
    QuotaBelowKernelMinimum {
        percent: f64,
        period_ms: u64,
        quota_us: f64,
        min_percent: f64,
    },
}

impl ThrottleOptions {
    /// The checks that need more than one flag (each flag's own range is checked by clap).
    pub fn validate(&self) -> Result<(), ThrottleOptionsError> {
        let period_us = self.period_ms as f64 * 1000.0;
        for &q in &self.quotas {
            let quota_us = q / 100.0 * period_us;
            if quota_us < MIN_QUOTA_US {
                return Err(ThrottleOptionsError::QuotaBelowKernelMinimum {
                    percent: q,
                    period_ms: self.period_ms,
                    quota_us,
                    min_percent: 100.0 * MIN_QUOTA_US / period_us,
                });
            }
        }
        Ok(())
    }
}

/// One `--quotas` value: a finite percentage above 0 and at most 10000.
fn parse_quota(s: &str) -> Result<f64, String> {
    let q: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number (a CPU quota in % of one CPU)"))?;
    if q.is_finite() && q > 0.0 && q <= 10_000.0 {
        Ok(q)
    } else {
        Err(format!(
            "{s}: a quota must be above 0 and at most 10000 (% of one CPU)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_below_one_millisecond_per_period_are_refused() {
        let mut o = ThrottleOptions::default();
        assert_eq!(o.validate(), Ok(()));
        o.quotas = vec![0.0001];
        let e = o.validate().expect_err("0.0001 % of 100 ms is 0.1 µs");
        assert!(e.to_string().contains("at least 1%"), "{e}");
        o.period_ms = 1000;
        o.quotas = vec![0.1];
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn quota_values_are_parsed_with_their_range() {
        assert_eq!(parse_quota("25"), Ok(25.0));
        for bad in ["0", "-5", "10001", "nan", "inf", "fast"] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }
}

//! One run of a CPU point (a fresh cgroup with the quota, the probe's work window, the
//! cgroup's counters after it exited) and its measurements.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cgroup::Limits;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::scenario::Ctx;
use crate::subject::{Subject, SubjectError};

use super::{launch, PROBE_CPU_SHARES, UNIT_ITERS};

/// What one run of a CPU point measured.
#[derive(Debug)]
pub(super) struct CpuRun {
    pub(super) window: Duration,
    pub(super) units: u64,
    pub(super) latencies_ns: Vec<f64>,
    pub(super) usage: Duration,
    pub(super) rusage: Option<Duration>,
    pub(super) nr_periods: u64,
    pub(super) nr_throttled: u64,
    pub(super) throttled: Duration,
}

pub(super) fn run_cpu(
    subject: &mut dyn Subject,
    ctx: &Ctx<'_>,
    case: &str,
    percent: Option<f64>,
    period: Duration,
    window_ms: u64,
) -> Result<CpuRun, SubjectError> {
    let mut limits = match percent {
        Some(p) => Limits::cpu_percent(p, period),
        None => Limits::default(),
    };
    limits.cpu_shares = Some(PROBE_CPU_SHARES);
    let mode = ProbeMode::Work {
        window_ms,
        unit_iters: UNIT_ITERS,
    };
    let (mut inst, exit) = launch(subject, ctx, case, &mode, &limits)?;
    if exit.code != Some(0) {
        let _ = inst.teardown();
        return Err(SubjectError::PayloadFailed(format!(
            "probe work ended with code {:?} signal {:?}",
            exit.code, exit.signal
        )));
    }
    let stats = inst.cgroup_stats();
    let rusage = inst.payload_cpu();
    inst.teardown()?;
    let stats = stats?;
    let out = crate::probe::parse_output(&exit.output);
    let num = |key: &'static str| -> Result<u64, SubjectError> {
        let v = out.get(key);
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| SubjectError::ProbeOutput {
                key,
                found: v.cloned(),
            })
    };
    let latencies_ns = out
        .get("lat_ns")
        .map(|s| {
            s.split(',')
                .filter_map(|v| v.parse::<u64>().ok())
                .map(|v| v as f64)
                .collect()
        })
        .unwrap_or_default();
    Ok(CpuRun {
        window: Duration::from_nanos(num("window_ns")?),
        units: num("units")?,
        latencies_ns,
        usage: stats.cpu.usage,
        rusage,
        nr_periods: stats.cpu.nr_periods,
        nr_throttled: stats.cpu.nr_throttled,
        throttled: stats.cpu.throttled,
    })
}

pub(super) fn record_cpu(
    col: &mut Collector,
    subject: &str,
    case: &str,
    percent: Option<f64>,
    labels: &BTreeMap<String, String>,
    r: &CpuRun,
) {
    let window_s = r.window.as_secs_f64();
    if window_s <= 0.0 {
        return;
    }
    let share = r.usage.as_secs_f64() / window_s;
    col.add_value(subject, case, "cpu_share", labels, "ratio", share);
    if let Some(p) = percent {
        col.add_value(
            subject,
            case,
            "share_over_quota",
            labels,
            "ratio",
            share / (p / 100.0),
        );
    }
    if let Some(cpu) = r.rusage.filter(|c| !c.is_zero()) {
        col.add_value(
            subject,
            case,
            "usage_over_rusage",
            labels,
            "ratio",
            r.usage.as_secs_f64() / cpu.as_secs_f64(),
        );
    }
    col.add_value(
        subject,
        case,
        "throughput",
        labels,
        "ops/s",
        r.units as f64 / window_s,
    );
    for &l in &r.latencies_ns {
        col.add_value(subject, case, "latency", labels, "ns", l);
    }
    col.add_value(
        subject,
        case,
        "nr_periods",
        labels,
        "count",
        r.nr_periods as f64,
    );
    col.add_value(
        subject,
        case,
        "nr_throttled",
        labels,
        "count",
        r.nr_throttled as f64,
    );
    col.add_value(
        subject,
        case,
        "throttled_time",
        labels,
        "ns",
        r.throttled.as_nanos() as f64,
    );
}

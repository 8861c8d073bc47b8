//! One run of a CPU point (a fresh cgroup with the quota, the probe's work window, the
//! cgroup's counters after it exited) and its measurements.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cgroup::Limits;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::scenario::Ctx;
use crate::subject::{Subject, SubjectError};

use super::pauses::between_pauses;
use super::refills::Span;
use super::{launch, Launched, PROBE_CPU_SHARES, UNIT_ITERS};

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
    /// The share across the usable CFS refills and the time they span (`refills.rs`).
    pub(super) span: Option<Span>,
    /// Units per second across the units that held a throttling pause, and the time
    /// from the first to the last (`pauses.rs`).
    pub(super) paced: Option<(f64, Duration)>,
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
    // Only a quota can throttle: the unlimited point has no refills to watch.
    let Launched {
        mut inst,
        exit,
        refills,
    } = launch(subject, ctx, case, &mode, &limits, percent.is_some())?;
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
    let latencies_ns: Vec<f64> = out
        .get("lat_ns")
        .map(|s| {
            s.split(',')
                .filter_map(|v| v.parse::<u64>().ok())
                .map(|v| v as f64)
                .collect()
        })
        .unwrap_or_default();
    let window = Duration::from_nanos(num("window_ns")?);
    let span = refills.as_ref().and_then(|r| r.span(window / 2, period));
    // A quota under one CPU leaves a pause of P − Q in every throttled period.
    let paced = match limits.cpu_quota {
        Some(q) if q < period => {
            between_pauses(&latencies_ns, window, (period - q) / 2, window / 2)
        }
        _ => None,
    };
    if ctx.env.verbose {
        if let Some(r) = &refills {
            let whole = stats.cpu.usage.as_secs_f64() / window.as_secs_f64();
            eprintln!(
                "throttle: {} {case}: {} refill(s) seen, {} usable; cpu_share {}; throughput {}",
                subject.kind().name(),
                r.seen,
                r.usable,
                match span {
                    Some(s) => format!(
                        "{:.4} over {:.3} s between refills (whole window {whole:.4})",
                        s.share,
                        s.time.as_secs_f64()
                    ),
                    None => format!("{whole:.4} over the whole window"),
                },
                match paced {
                    Some((rate, t)) => format!(
                        "{rate:.1}/s over {:.3} s between pauses (whole window {:.1}/s)",
                        t.as_secs_f64(),
                        latencies_ns.len() as f64 / window.as_secs_f64()
                    ),
                    None => "over the whole window".into(),
                }
            );
        }
    }
    Ok(CpuRun {
        window,
        units: num("units")?,
        latencies_ns,
        usage: stats.cpu.usage,
        rusage,
        nr_periods: stats.cpu.nr_periods,
        nr_throttled: stats.cpu.nr_throttled,
        throttled: stats.cpu.throttled,
        span,
        paced,
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
    // Between CFS refills where the run was throttled (no edge effect, `refills.rs`);
    // else over the whole window.
    let share = match r.span {
        Some(s) => s.share,
        None => r.usage.as_secs_f64() / window_s,
    };
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
    // Between throttling pauses where there are some (no edge effect, `pauses.rs`).
    let throughput = match r.paced {
        Some((rate, _)) => rate,
        None => r.units as f64 / window_s,
    };
    col.add_value(subject, case, "throughput", labels, "ops/s", throughput);
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

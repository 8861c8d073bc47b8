//! The memory point: an allocation beyond the cgroup's memory limit, the OOM kill and
//! how it is reported.

use std::collections::BTreeMap;

use isobench_reports::model::{Measurement, Status};

use crate::cgroup::Limits;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::scenario::Ctx;
use crate::subject::{Subject, SubjectError};

use super::{launch, OOM, OOM_ALLOC_MIB, OOM_LIMIT_MIB};

/// What one run of the memory point measured.
#[derive(Debug)]
pub(super) struct OomRun {
    pub(super) killed_by: Option<i32>,
    pub(super) exit_code: Option<i32>,
    pub(super) oom_kills: u64,
    pub(super) allocated_mib: u64,
    /// The cgroup's memory high-water mark, where the kernel keeps one.
    pub(super) peak_bytes: Option<u64>,
}

pub(super) fn run_oom(subject: &mut dyn Subject, ctx: &Ctx<'_>) -> Result<OomRun, SubjectError> {
    let limits = Limits {
        memory_bytes: Some(OOM_LIMIT_MIB << 20),
        swap_bytes: Some(0),
        ..Limits::default()
    };
    let mode = ProbeMode::Alloc { mib: OOM_ALLOC_MIB };
    let super::Launched { mut inst, exit, .. } = launch(subject, ctx, OOM, &mode, &limits, false)?;
    let stats = inst.cgroup_stats();
    inst.teardown()?;
    let stats = stats?;
    let allocated_mib = exit
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("touched_mib="))
        .filter_map(|v| v.trim().parse().ok())
        .max()
        .unwrap_or(0);
    Ok(OomRun {
        killed_by: exit.signal,
        exit_code: exit.code,
        oom_kills: stats.memory.oom_kills,
        allocated_mib,
        peak_bytes: stats.memory.max_usage_bytes,
    })
}

/// Record one OOM run; returns its reason text.
pub(super) fn record_oom(
    col: &mut Collector,
    subject: &str,
    labels: &BTreeMap<String, String>,
    r: &OomRun,
) -> String {
    col.add_value(
        subject,
        OOM,
        "oom_kill",
        labels,
        "count",
        r.oom_kills as f64,
    );
    col.add_value(
        subject,
        OOM,
        "allocated_mib",
        labels,
        "MiB",
        r.allocated_mib as f64,
    );
    if let Some(b) = r.peak_bytes {
        col.add_value(subject, OOM, "memory_peak", labels, "bytes", b as f64);
    }
    oom_reason(r)
}

pub(super) fn oom_reason(r: &OomRun) -> String {
    match (r.killed_by, r.oom_kills) {
        (Some(libc::SIGKILL), n) if n > 0 => {
            format!("oom-killed after {} MiB", r.allocated_mib)
        }
        (Some(sig), n) => format!(
            "killed by signal {sig} after {} MiB with oom_kill={n}",
            r.allocated_mib
        ),
        (None, n) => format!(
            "NOT oom-killed: exit code {:?} after {} MiB, oom_kill={n}",
            r.exit_code, r.allocated_mib
        ),
    }
}

/// Put the OOM outcome into the measurements' reason; a run that was not OOM-killed
/// turns the `oom_kill` measurement into a failure.
pub(super) fn annotate_oom(ms: &mut [Measurement], reasons: &BTreeMap<String, Vec<String>>) {
    for m in ms
        .iter_mut()
        .filter(|m| m.case == OOM && m.status == Status::Ok)
    {
        let Some(rs) = reasons.get(&m.subject) else {
            continue;
        };
        let mut uniq: Vec<&String> = rs.iter().collect();
        uniq.sort();
        uniq.dedup();
        let text = uniq
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        if m.metric == "oom_kill" && rs.iter().any(|r| !r.starts_with("oom-killed")) {
            m.status = Status::Failed;
        }
        m.reason = Some(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_reasons() {
        let r = OomRun {
            killed_by: Some(libc::SIGKILL),
            exit_code: None,
            oom_kills: 1,
            allocated_mib: 30,
            peak_bytes: None,
        };
        assert_eq!(oom_reason(&r), "oom-killed after 30 MiB");
        let r = OomRun {
            killed_by: None,
            exit_code: Some(0),
            oom_kills: 0,
            allocated_mib: 256,
            peak_bytes: None,
        };
        assert!(oom_reason(&r).starts_with("NOT oom-killed"));
    }
}

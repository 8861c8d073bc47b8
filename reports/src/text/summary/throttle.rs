//! The throttle section: per subject and CPU quota how the quota was enforced (CPU share,
//! share/quota, throughput, latency, throttled periods), then the memory-limit (OOM) case.

use super::{drop_empty, grid, ok, p50_of, strings, tags, NONE};
use crate::model::{Measurement, Status};
use crate::report::select;
use crate::terminal::printable;
use crate::text::table::human;

/// Order of throttle cases: the unthrottled baseline first, then by quota.
fn case_rank(case: &str) -> (bool, f64) {
    (
        !select::is_unthrottled(case),
        if select::is_unthrottled(case) {
            0.0
        } else {
            select::quota_order(case)
        },
    )
}

/// Throttle: per subject and quota the CPU share (and share/quota: how exactly the quota
/// is enforced), throughput relative to unthrottled, p99 latency of one work unit and the
/// throttled periods; then the OOM case, one line per outcome.
pub(super) fn section(of: &[&Measurement]) -> String {
    const OOM: &str = "oom";
    // Series: subject plus its accelerator / OCI runtime (descriptive labels of the sweep
    // such as period_ms or cpu_shares are the same for every row).
    let who = |m: &Measurement| format!("{}{}", m.subject, tags(m));
    let mut series: Vec<String> = Vec::new();
    let mut points: Vec<(String, &str)> = Vec::new();
    for m in of {
        if m.case == OOM || ok(m).is_none() {
            continue;
        }
        let w = who(m);
        if !series.contains(&w) {
            series.push(w.clone());
        }
        if !points.iter().any(|(s, c)| *s == w && *c == m.case) {
            points.push((w, &m.case));
        }
    }
    points.sort_by(|a, b| {
        let sa = series.iter().position(|s| *s == a.0);
        let sb = series.iter().position(|s| *s == b.0);
        let (ra, rb) = (case_rank(a.1), case_rank(b.1));
        sa.cmp(&sb)
            .then(ra.0.cmp(&rb.0))
            .then(ra.1.total_cmp(&rb.1))
    });
    let get = |w: &str, case: &str, metric: &str| {
        of.iter()
            .find(|m| m.case == case && m.metric == metric && who(m) == w && ok(m).is_some())
            .copied()
    };
    let mut rows = Vec::new();
    let mut last = String::new();
    for (w, case) in &points {
        let throttled = match (
            get(w, case, "nr_throttled").and_then(ok),
            get(w, case, "nr_periods").and_then(ok),
        ) {
            // No CFS period elapsed under a quota: the unthrottled baseline.
            (Some(t), Some(p)) if t.p50 == 0.0 && p.p50 == 0.0 => NONE.to_string(),
            (Some(t), Some(p)) => format!("{}/{}", human(t.p50, "count"), human(p.p50, "count")),
            (Some(t), None) => human(t.p50, "count"),
            _ => NONE.to_string(),
        };
        let p99 = get(w, case, "latency")
            .and_then(|m| ok(m).map(|s| human(s.p99, &m.unit)))
            .unwrap_or_else(|| NONE.to_string());
        rows.push(vec![
            if *w == last { String::new() } else { w.clone() },
            case.to_string(),
            p50_of(get(w, case, "cpu_share")),
            p50_of(get(w, case, "share_over_quota")),
            p50_of(get(w, case, "throughput_rel")),
            p99,
            throttled,
        ]);
        last = w.clone();
    }
    let mut out = String::new();
    if !rows.is_empty() {
        let period = of
            .iter()
            .find_map(|m| m.labels.get("period_ms"))
            .map(|p| format!(" (period {} ms)", printable(p)))
            .unwrap_or_default();
        out.push_str(&format!(
            "throttle: CPU-bound work under a cgroup CPU quota{period}; cpu share = CPU time / wall time; \
             rel. throughput = vs unlimited\n"
        ));
        let header = strings(&[
            "subject",
            "quota",
            "cpu share",
            "share/quota",
            "rel. throughput",
            "latency p99",
            "throttled periods",
        ]);
        let (header, rows) = drop_empty(header, rows, 3);
        out.push_str(&grid(&header, &rows, 2));
    }
    out.push_str(&oom_lines(of));
    out
}

/// The memory-limit case, one line per distinct outcome naming the subjects that had it.
fn oom_lines(of: &[&Measurement]) -> String {
    let oom: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| m.case == "oom" && (ok(m).is_some() || m.metric == "oom_kill"))
        .filter(|m| m.status != Status::Skipped)
        .collect();
    let mut outcomes: Vec<(String, Vec<String>)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for m in &oom {
        let w = format!("{}{}", m.subject, tags(m));
        if seen.contains(&w) {
            continue;
        }
        seen.push(w.clone());
        // The oom_kill measurement carries the outcome (failed when not OOM-killed).
        let of_subject = |metric: &str| {
            oom.iter()
                .find(|x| x.subject == m.subject && x.labels == m.labels && x.metric == metric)
        };
        let text = of_subject("oom_kill")
            .and_then(|x| x.reason.clone())
            .or_else(|| m.reason.clone())
            .or_else(|| {
                of_subject("allocated_mib")
                    .and_then(|x| ok(x))
                    .map(|s| format!("allocated {} MiB", s.p50))
            })
            .unwrap_or_else(|| "outcome not recorded".into());
        match outcomes.iter_mut().find(|(t, _)| *t == text) {
            Some((_, who)) => who.push(w),
            None => outcomes.push((text, vec![w])),
        }
    }
    let what = oom
        .first()
        .and_then(|m| Some((m.labels.get("alloc_mib")?, m.labels.get("limit_mib")?)))
        .map(|(a, l)| format!(" ({} MiB under a {} MiB limit)", printable(a), printable(l)))
        .unwrap_or_default();
    outcomes
        .iter()
        .map(|(text, who)| {
            format!(
                "  oom{what}: {}: {}\n",
                printable(text),
                printable(&who.join(", "))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::model::Status;
    use crate::text::summary::render;
    use crate::text::summary::tests::m;
    use crate::text::summary::NONE;

    #[test]
    fn throttle_rows_per_subject_and_quota_and_one_oom_line_per_outcome() {
        let cpu = [("period_ms", "100")];
        let mut ms = Vec::new();
        for subject in ["process", "runc"] {
            for (case, share, quota) in [("25%", 0.257, Some(1.028)), ("unlimited", 1.0, None)] {
                ms.push(m(
                    "throttle",
                    subject,
                    case,
                    "cpu_share",
                    "ratio",
                    &cpu,
                    share,
                ));
                if let Some(q) = quota {
                    ms.push(m(
                        "throttle",
                        subject,
                        case,
                        "share_over_quota",
                        "ratio",
                        &cpu,
                        q,
                    ));
                }
                ms.push(m(
                    "throttle",
                    subject,
                    case,
                    "throughput_rel",
                    "ratio",
                    &cpu,
                    share,
                ));
                ms.push(m(
                    "throttle",
                    subject,
                    case,
                    "latency",
                    "ns",
                    &cpu,
                    78_250_000.0,
                ));
                let throttled = if quota.is_some() { 20.0 } else { 0.0 };
                ms.push(m(
                    "throttle",
                    subject,
                    case,
                    "nr_throttled",
                    "count",
                    &cpu,
                    throttled,
                ));
                ms.push(m(
                    "throttle",
                    subject,
                    case,
                    "nr_periods",
                    "count",
                    &cpu,
                    throttled,
                ));
            }
        }
        let oom = [("alloc_mib", "256"), ("limit_mib", "32")];
        for (subject, why, status) in [
            ("process", "oom-killed after 31 MiB", Status::Ok),
            ("runc", "oom-killed after 31 MiB", Status::Ok),
            (
                "crun",
                "NOT oom-killed: exit code Some(0) after 256 MiB, oom_kill=0",
                Status::Failed,
            ),
        ] {
            let mut k = m("throttle", subject, "oom", "oom_kill", "count", &oom, 1.0);
            k.status = status;
            k.reason = Some(why.into());
            ms.push(k);
        }
        let text = render(&ms);
        assert!(text.contains("(period 100 ms)"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("process"))
            .expect("process row");
        // Unthrottled baseline first, then the quotas.
        assert!(
            lines[at].contains("unlimited") && lines[at].trim_end().ends_with(NONE),
            "{text}"
        );
        let quota = lines[at + 1];
        assert!(
            quota.trim_start().starts_with("25%"),
            "subject said once: {text}"
        );
        for v in ["0.257", "1.028", "78.25 ms", "20/20"] {
            assert!(quota.contains(v), "{v} in {quota}");
        }
        assert!(
            text.contains(
                "  oom (256 MiB under a 32 MiB limit): oom-killed after 31 MiB: process, runc\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("NOT oom-killed: exit code Some(0) after 256 MiB, oom_kill=0: crun"),
            "{text}"
        );
        // The failure is also listed with the other problems.
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAILED  throttle crun/oom oom_kill: NOT oom-killed")),
            "{text}"
        );
    }
}

//! The headline summary printed at the end of `isobench run`: one short section per
//! scenario that ran — startup (ready p50, CI, p99, ratio to a plain process, footprint),
//! clone (per flag, the concurrency and mount-table sweeps on one line each), throttle (per
//! subject and quota) — and every skip or failure, one line per distinct reason.
//!
//! The full per-measurement table (`table.rs`) is what a person digs into; this is what they
//! read. It is a pure function of the measurements so it is tested without running anything.
//! Values are formatted with `table::human`, the same as the full table.

use isobench_reports::model::{Measurement, Status, Summary};
use isobench_reports::report::select::{self, Class};
use isobench_reports::terminal::printable;

use super::table::human;

/// Shown where a value does not exist (no process baseline, no footprint of that kind).
const NONE: &str = "—";

/// The summary of `ms`, one section per scenario in the order they first appear, then the
/// skipped and failed measurements. Empty when there is nothing to say.
pub fn render(ms: &[Measurement]) -> String {
    let mut scenarios: Vec<&str> = Vec::new();
    for m in ms {
        if !scenarios.contains(&m.scenario.as_str()) {
            scenarios.push(&m.scenario);
        }
    }
    let mut sections: Vec<String> = Vec::new();
    for scn in scenarios {
        let of: Vec<&Measurement> = ms.iter().filter(|m| m.scenario == scn).collect();
        let text = match scn {
            "startup" => startup(&of),
            "clone" => clone(&of),
            "throttle" => throttle(&of),
            _ => generic(scn, &of),
        };
        if !text.is_empty() {
            sections.push(text);
        }
    }
    let problems = problems(ms);
    if !problems.is_empty() {
        sections.push(problems);
    }
    sections.join("\n")
}

/// The summary of `m` when it is `ok` and has numbers.
fn ok(m: &Measurement) -> Option<Summary> {
    if m.status == Status::Ok && select::has_data(m) {
        m.summary
    } else {
        None
    }
}

/// The measurement of `metric` that belongs to the row of `row` (same subject and case):
/// the one with the same labels if there is one, else any unswept one.
fn sibling<'a>(of: &[&'a Measurement], row: &Measurement, metric: &str) -> Option<&'a Measurement> {
    let same = |m: &&&Measurement| {
        m.subject == row.subject && m.case == row.case && m.metric == metric && ok(m).is_some()
    };
    of.iter()
        .filter(same)
        .find(|m| m.labels == row.labels)
        .or_else(|| of.iter().filter(same).find(|m| select::unswept(m)))
        .copied()
}

fn p50_of(m: Option<&Measurement>) -> String {
    m.and_then(|m| ok(m).map(|s| human(s.p50, &m.unit)))
        .unwrap_or_else(|| NONE.to_string())
}

fn ci_of(s: &Summary, unit: &str) -> String {
    format!(
        "{} – {}",
        human(s.p50_ci[0], unit),
        human(s.p50_ci[1], unit)
    )
}

/// "×12.3": how many times `base` a value is; "—" when either is not a usable number.
fn factor(value: f64, base: f64) -> String {
    let r = value / base;
    if !(r.is_finite() && r > 0.0) {
        NONE.to_string()
    } else if r < 10.0 {
        format!("×{r:.2}")
    } else if r < 100.0 {
        format!("×{r:.1}")
    } else if r < isobench_reports::units::PLAIN_MAX {
        format!("×{r:.0}")
    } else {
        format!("×{r:.2e}")
    }
}

/// Labels worth a reader's eye next to a subject, kept short: the accelerator of a VM and
/// the OCI runtime behind an engine. The rest (cgroup manager, CPU weight, ...) is in the
/// full table.
fn tags(m: &Measurement) -> String {
    let mut s = String::new();
    for key in ["accel", "oci_runtime"] {
        if let Some(v) = m.labels.get(key) {
            s.push_str(&format!(" [{v}]"));
        }
    }
    s
}

/// Row names of one table: `select::series_name` plus the OCI runtime; where two rows
/// would still read the same, their remaining labels are added.
fn row_names(rows: &[&Measurement]) -> Vec<String> {
    let base: Vec<String> = rows
        .iter()
        .map(|m| {
            let mut s = select::series_name(m);
            if let Some(r) = m.labels.get("oci_runtime") {
                s.push_str(&format!(" [{r}]"));
            }
            s
        })
        .collect();
    base.iter()
        .zip(rows)
        .map(|(name, m)| {
            if base.iter().filter(|b| *b == name).count() > 1 {
                let rest: Vec<String> = m
                    .labels
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "accel" | "oci_runtime"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{name} {}", rest.join(","))
            } else {
                name.clone()
            }
        })
        .collect()
}

/// An aligned text table, indented by two spaces: the first `left` columns are
/// left-aligned (names), the others right-aligned (numbers).
fn grid(header: &[String], rows: &[Vec<String>], left: usize) -> String {
    // Text from the run file made visible (`terminal::printable`) before it is measured.
    let esc =
        |r: &[String]| -> Vec<String> { r.iter().map(|c| printable(c).into_owned()).collect() };
    let header = esc(header);
    let rows: Vec<Vec<String>> = rows.iter().map(|r| esc(r)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for r in std::iter::once(header.as_slice()).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::from("  ");
        for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if i < left {
                line.push_str(c);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `header` and `rows` without the columns (after the first `always`) in which no row has
/// a value: a run without footprints, or from before a metric existed, gets no empty column.
fn drop_empty(
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    always: usize,
) -> (Vec<String>, Vec<Vec<String>>) {
    let keep: Vec<bool> = (0..header.len())
        .map(|i| i < always || rows.iter().any(|r| r.get(i).is_some_and(|c| c != NONE)))
        .collect();
    let pick = |r: Vec<String>| -> Vec<String> {
        r.into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect()
    };
    (pick(header), rows.into_iter().map(pick).collect())
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// The harness's own timer overhead in `of`, for a section's title line.
fn overhead(of: &[&Measurement]) -> String {
    of.iter()
        .find(|m| select::class_of(&m.subject) == Class::Harness && m.metric == "ready")
        .and_then(|m| ok(m).map(|s| format!("; timer overhead {}", human(s.p50, &m.unit))))
        .unwrap_or_default()
}

/// Startup: one row per subject and case, `ready` p50 with its CI and p99, the ratio to
/// the plain process's `ready` p50, `total` p50, and the footprint where it was measured.
fn startup(of: &[&Measurement]) -> String {
    let rows: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| {
            m.metric == "ready"
                && ok(m).is_some()
                && select::unswept(m)
                && select::class_of(&m.subject) != Class::Harness
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let base = rows
        .iter()
        .find(|m| select::class_of(&m.subject) == Class::Process)
        .and_then(|m| ok(m))
        .map(|s| s.p50);
    let names = row_names(&rows);
    let mut table = Vec::new();
    for (m, name) in rows.iter().zip(names) {
        let Some(s) = ok(m) else { continue };
        let u = m.unit.as_str();
        table.push(vec![
            name,
            human(s.p50, u),
            ci_of(&s, u),
            human(s.p99, u),
            base.map_or_else(|| NONE.to_string(), |b| factor(s.p50, b)),
            p50_of(sibling(of, m, "total")),
            p50_of(sibling(of, m, "payload_pss")),
            runtime_footprint(of, m),
        ]);
    }
    let header = strings(&[
        "subject",
        "ready p50",
        "95% CI of p50",
        "p99",
        "vs process",
        "total p50",
        "payload PSS",
        "runtime PSS",
    ]);
    let (header, table) = drop_empty(header, table, 5);
    let baseline = if base.is_some() {
        "vs process = ready p50 ÷ the process's"
    } else {
        "no process baseline in this run"
    };
    format!(
        "startup: launch → payload ready{}; {baseline}\n{}",
        overhead(of),
        grid(&header, &table, 1)
    )
}

/// What the runtime or VMM of a startup row keeps resident: `runtime_pss` (containers), or
/// the PSS — failing that the RSS — of whatever else than the payload and the engine
/// client was measured (`qemu_pss` of a VM).
fn runtime_footprint(of: &[&Measurement], row: &Measurement) -> String {
    let candidates: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| {
            m.subject == row.subject
                && m.case == row.case
                && select::is_footprint(m)
                && ok(m).is_some()
                && !m.metric.starts_with("payload_")
                && !m.metric.starts_with("client_")
        })
        .collect();
    let pick = candidates
        .iter()
        .find(|m| m.metric == "runtime_pss")
        .or_else(|| candidates.iter().find(|m| m.metric.ends_with("_pss")))
        .map(|m| (*m, ""))
        .or_else(|| candidates.first().map(|m| (*m, " (RSS)")));
    match pick {
        Some((m, suffix)) => format!("{}{suffix}", p50_of(Some(m))),
        None => NONE.to_string(),
    }
}

/// Numeric order of a sweep label's values ("2" before "10"); non-numbers last.
fn sweep_values(ms: &[&Measurement], label: &str) -> Vec<String> {
    let mut v: Vec<String> = ms
        .iter()
        .filter_map(|m| m.labels.get(label).cloned())
        .collect();
    v.sort_by(|a, b| {
        let n = |s: &str| s.parse::<f64>().unwrap_or(f64::INFINITY);
        n(a).total_cmp(&n(b)).then_with(|| a.cmp(b))
    });
    v.dedup();
    v
}

/// One line per case of a sweep over `label`: `metric` p50 at each value.
fn sweep(of: &[&Measurement], label: &str, metric: &str, title: &str, col: &str) -> String {
    let points: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| m.metric == metric && m.labels.contains_key(label) && ok(m).is_some())
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let values = sweep_values(&points, label);
    let mut cases: Vec<&str> = Vec::new();
    for m in &points {
        if !cases.contains(&m.case.as_str()) {
            cases.push(&m.case);
        }
    }
    let mut header = vec![title.to_string()];
    header.extend(values.iter().map(|v| col.replace("{}", v)));
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|case| {
            let mut r = vec![case.to_string()];
            for v in &values {
                let m = points
                    .iter()
                    .find(|m| m.case == *case && m.labels.get(label) == Some(v))
                    .copied();
                r.push(p50_of(m));
            }
            r
        })
        .collect();
    grid(&header, &rows, 1)
}

/// Clone: per flag `total` p50 with its CI, the cost over a plain clone, unshare and setns;
/// then the concurrency sweep (ops/s) and the mount-table sweep (per-op total), one line
/// per flag.
fn clone(of: &[&Measurement]) -> String {
    let flag_metrics = ["total", "over_plain", "unshare", "setns"];
    let mut cases: Vec<(&str, &str)> = Vec::new();
    for m in of {
        if select::class_of(&m.subject) != Class::Harness
            && flag_metrics.contains(&m.metric.as_str())
            && select::unswept(m)
            && ok(m).is_some()
            && !cases.contains(&(m.subject.as_str(), m.case.as_str()))
        {
            cases.push((&m.subject, &m.case));
        }
    }
    let one_subject = cases
        .iter()
        .all(|(s, _)| Some(s) == cases.first().map(|c| &c.0));
    let find = |subject: &str, case: &str, metric: &str| {
        of.iter()
            .find(|m| {
                m.subject == subject
                    && m.case == case
                    && m.metric == metric
                    && select::unswept(m)
                    && ok(m).is_some()
            })
            .copied()
    };
    let mut rows = Vec::new();
    for (subject, case) in &cases {
        let total = find(subject, case, "total");
        let name = if one_subject {
            case.to_string()
        } else {
            format!("{subject}/{case}")
        };
        let (p50, ci) = match total.and_then(|m| ok(m).map(|s| (m, s))) {
            Some((m, s)) => (human(s.p50, &m.unit), ci_of(&s, &m.unit)),
            None => (NONE.to_string(), NONE.to_string()),
        };
        rows.push(vec![
            name,
            p50,
            ci,
            p50_of(find(subject, case, "over_plain")),
            p50_of(find(subject, case, "unshare")),
            p50_of(find(subject, case, "setns")),
        ]);
    }
    let mut out = String::new();
    if !rows.is_empty() {
        // Where the creator ran (`--pin`), as the scenario remarked on its measurements.
        let placement = find("namespaces", "none", "total")
            .and_then(|m| m.reason.as_deref())
            .map(|r| format!("; {}", printable(r)))
            .unwrap_or_default();
        out.push_str(&format!(
            "clone: clone3(CLONE_VM | flag) → child reaped (total); over plain = total − total(none){}{placement}\n",
            overhead(of)
        ));
        let header = strings(&[
            "flag",
            "total p50",
            "95% CI of p50",
            "over plain",
            "unshare",
            "setns",
        ]);
        let (header, rows) = drop_empty(header, rows, 3);
        out.push_str(&grid(&header, &rows, 1));
    }
    let conc = sweep(of, "concurrency", "throughput", "ops/s by threads", "{}");
    let mounts = sweep(of, "mounts", "total", "total p50 by extra mounts", "+{}");
    if !(conc.is_empty() && mounts.is_empty()) && out.is_empty() {
        out.push_str("clone: sweeps\n");
    }
    out.push_str(&conc);
    out.push_str(&mounts);
    out
}

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
fn throttle(of: &[&Measurement]) -> String {
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

/// A scenario this view has no special layout for: every `ok` measurement, one row each.
fn generic(scenario: &str, of: &[&Measurement]) -> String {
    let rows: Vec<Vec<String>> = of
        .iter()
        .filter_map(|m| {
            let s = ok(m)?;
            let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Some(vec![
                select::series_name(m),
                m.metric.clone(),
                labels.join(","),
                human(s.p50, &m.unit),
                ci_of(&s, &m.unit),
                human(s.p99, &m.unit),
            ])
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let header = strings(&["subject", "metric", "labels", "p50", "95% CI of p50", "p99"]);
    format!("{}:\n{}", printable(scenario), grid(&header, &rows, 3))
}

/// Every skipped or failed measurement (and any `ok` one without numbers), one line per
/// (status, scenario, subject, reason): the cases and metrics that share a reason are
/// listed together instead of repeating it.
fn problems(ms: &[Measurement]) -> String {
    struct Group<'a> {
        word: &'static str,
        scenario: &'a str,
        subject: &'a str,
        reason: &'a str,
        cases: Vec<&'a str>,
        metrics: Vec<&'a str>,
    }
    let mut groups: Vec<Group<'_>> = Vec::new();
    for m in ms {
        let word = match m.status {
            Status::Skipped => "SKIPPED",
            Status::Failed => "FAILED ",
            Status::Ok if !select::has_data(m) => "NO DATA",
            Status::Ok => continue,
        };
        let reason = m.reason.as_deref().unwrap_or("no reason recorded");
        let g = match groups.iter().position(|g| {
            g.word == word
                && g.scenario == m.scenario
                && g.subject == m.subject
                && g.reason == reason
        }) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Group {
                    word,
                    scenario: &m.scenario,
                    subject: &m.subject,
                    reason,
                    cases: Vec::new(),
                    metrics: Vec::new(),
                });
                let last = groups.len() - 1;
                &mut groups[last]
            }
        };
        if !g.cases.contains(&m.case.as_str()) {
            g.cases.push(&m.case);
        }
        if !g.metrics.contains(&m.metric.as_str()) {
            g.metrics.push(&m.metric);
        }
    }
    groups
        .iter()
        .map(|g| {
            format!(
                "{} {} {}/{} {}: {}\n",
                g.word,
                printable(g.scenario),
                printable(g.subject),
                printable(&g.cases.join(",")),
                printable(&g.metrics.join(",")),
                printable(g.reason)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use isobench_reports::model::{MeasurementKey, Run};

    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// An `ok` measurement whose every sample is `value` (so p50 and its CI are `value`).
    fn m(
        scenario: &str,
        subject: &str,
        case: &str,
        metric: &str,
        unit: &str,
        l: &[(&str, &str)],
        value: f64,
    ) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new(scenario, subject, case, metric),
            unit,
            labels(l),
            vec![value; 5],
        )
    }

    fn skipped(scenario: &str, subject: &str, case: &str, metric: &str, why: &str) -> Measurement {
        Measurement::not_ok(
            MeasurementKey::new(scenario, subject, case, metric),
            "ns",
            Status::Skipped,
            why,
        )
    }

    /// The line of `text` whose first column (after the indent) is `name`.
    fn row<'a>(text: &'a str, name: &str) -> &'a str {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}  ")))
            .unwrap_or_else(|| panic!("no row {name:?} in:\n{text}"))
    }

    fn load(name: &str) -> Run {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/results")
            .join(name);
        Run::load(&p).expect("fixture run file")
    }

    #[test]
    fn startup_rows_carry_the_ratio_to_the_process() {
        let ms = vec![
            m("startup", "harness", "empty", "ready", "ns", &[], 4_000.0),
            m(
                "startup",
                "process",
                "default",
                "ready",
                "ns",
                &[],
                2_000_000.0,
            ),
            m(
                "startup",
                "process",
                "default",
                "total",
                "ns",
                &[],
                2_500_000.0,
            ),
            m(
                "startup",
                "process",
                "default",
                "payload_pss",
                "bytes",
                &[],
                1_258_291.0,
            ),
            m(
                "startup",
                "runc",
                "run",
                "ready",
                "ns",
                &[("cgroup_manager", "cgroupfs")],
                24_600_000.0,
            ),
            m(
                "startup",
                "runc",
                "run",
                "runtime_pss",
                "bytes",
                &[("cgroup_manager", "cgroupfs")],
                9_437_184.0,
            ),
            m(
                "startup",
                "docker",
                "default",
                "ready",
                "ns",
                &[("oci_runtime", "runc")],
                500_000_000.0,
            ),
            m(
                "startup",
                "qemu",
                "microvm",
                "ready",
                "ns",
                &[("accel", "tcg"), ("machine", "microvm")],
                3.0e9,
            ),
            m(
                "startup",
                "qemu",
                "microvm",
                "qemu_rss",
                "bytes",
                &[("accel", "tcg"), ("machine", "microvm")],
                104_857_600.0,
            ),
        ];
        let text = render(&ms);
        assert!(text.contains("timer overhead 4.0 µs"), "{text}");
        let process = row(&text, "process");
        assert!(
            process.contains("2.00 ms") && process.contains("×1.00"),
            "{process}"
        );
        assert!(process.contains("2.50 ms"), "total p50: {process}");
        assert!(process.contains("1.2 MiB"), "payload PSS: {process}");
        let runc = row(&text, "runc/run");
        assert!(
            runc.contains("24.60 ms") && runc.contains("×12.3"),
            "{runc}"
        );
        assert!(runc.contains("9.0 MiB"), "runtime PSS: {runc}");
        assert!(row(&text, "docker [runc]").contains("×250"), "{text}");
        let qemu = row(&text, "qemu/microvm [tcg]");
        assert!(
            qemu.contains("×1500") && qemu.contains("100.0 MiB (RSS)"),
            "{qemu}"
        );
        // The harness is the timer's overhead, not a subject.
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("harness")),
            "{text}"
        );
    }

    #[test]
    fn without_a_process_baseline_the_ratio_is_a_dash() {
        let ms = vec![
            m("startup", "runc", "run", "ready", "ns", &[], 24_600_000.0),
            // A zero baseline is no baseline either.
            m("startup", "crun", "run", "ready", "ns", &[], 0.0),
        ];
        let text = render(&ms);
        assert!(text.contains("no process baseline"), "{text}");
        assert!(row(&text, "runc/run").contains(NONE), "{text}");
        assert!(!text.contains('×'), "{text}");
        let ms = vec![
            m("startup", "process", "default", "ready", "ns", &[], 0.0),
            m("startup", "runc", "run", "ready", "ns", &[], 24_600_000.0),
        ];
        let text = render(&ms);
        assert!(row(&text, "runc/run").ends_with(NONE) || row(&text, "runc/run").contains(NONE));
        assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
    }

    #[test]
    fn skips_are_grouped_by_reason_and_none_is_dropped() {
        let kernel = "no guest kernel found; fix: run fixtures/setup-kernel.sh";
        let mut ms = Vec::new();
        for metric in ["ready", "total", "kernel_at", "kernel_boot", "qemu_pss"] {
            for case in ["pc", "microvm"] {
                ms.push(skipped("startup", "qemu", case, metric, kernel));
            }
        }
        ms.push(skipped(
            "startup",
            "docker",
            "default",
            "ready",
            "docker: no daemon",
        ));
        ms.push(Measurement::not_ok(
            MeasurementKey::new("throttle", "runc", "25%", "*"),
            "ns",
            Status::Failed,
            "2 run(s) failed; last error: runc create exited 1",
        ));
        ms.push(skipped("throttle", "qemu", "*", "cpu_share", kernel));
        let text = render(&ms);
        let problems: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("SKIPPED") || l.starts_with("FAILED"))
            .collect();
        assert_eq!(problems.len(), 4, "{text}");
        assert_eq!(
            problems[0],
            format!(
                "SKIPPED startup qemu/pc,microvm ready,total,kernel_at,kernel_boot,qemu_pss: {kernel}"
            )
        );
        assert!(problems[1].contains("docker/default ready: docker: no daemon"));
        assert!(problems[2].starts_with("FAILED  throttle runc/25% *: 2 run(s) failed"));
        assert_eq!(
            problems[3],
            format!("SKIPPED throttle qemu/* cpu_share: {kernel}")
        );
    }

    #[test]
    fn clone_condenses_flags_and_sweeps() {
        let mut ms = vec![
            m("clone", "harness", "empty", "ready", "ns", &[], 2_800.0),
            m("clone", "namespaces", "none", "total", "ns", &[], 27_600.0),
        ];
        for (case, total, over, unshare) in [
            ("net", 513e3, 377e3, 524e3),
            ("mnt", 119.5e3, 67.6e3, 46.5e3),
        ] {
            ms.push(m("clone", "namespaces", case, "total", "ns", &[], total));
            ms.push(m(
                "clone",
                "namespaces",
                case,
                "over_plain",
                "ns",
                &[],
                over,
            ));
            ms.push(m(
                "clone",
                "namespaces",
                case,
                "unshare",
                "ns",
                &[],
                unshare,
            ));
            ms.push(m("clone", "namespaces", case, "setns", "ns", &[], 3_000.0));
            // Given out of order: the columns are sorted by value.
            for (c, ops) in [("8", 2400.0), ("1", 450.0), ("2", 1400.0)] {
                ms.push(m(
                    "clone",
                    "namespaces",
                    case,
                    "throughput",
                    "ops/s",
                    &[("concurrency", c)],
                    ops,
                ));
                ms.push(m(
                    "clone",
                    "namespaces",
                    case,
                    "total",
                    "ns",
                    &[("concurrency", c)],
                    1e6,
                ));
            }
        }
        for (n, t) in [("0", 123.4e3), ("100", 276.9e3), ("1000", 2.29e6)] {
            ms.push(m(
                "clone",
                "namespaces",
                "mnt",
                "total",
                "ns",
                &[("mounts", n)],
                t,
            ));
        }
        let plain = ms.iter().position(|x| x.case == "none").expect("none row");
        ms[plain].reason = Some("pinned to CPU 1 (creator and children; --pin)".into());
        let text = render(&ms);
        assert!(text.contains("timer overhead 2.8 µs"), "{text}");
        // The placement the scenario remarked on is part of the method line.
        assert!(
            text.lines().any(|l| l.starts_with("clone:")
                && l.ends_with("; pinned to CPU 1 (creator and children; --pin)")),
            "{text}"
        );
        let net = row(&text, "net");
        for v in ["513.0 µs", "377.0 µs", "524.0 µs", "3.0 µs"] {
            assert!(net.contains(v), "{v} in {net}");
        }
        assert!(row(&text, "none").contains("27.6 µs"), "{text}");
        let header = row(&text, "ops/s by threads");
        let cols: Vec<&str> = header.split_whitespace().skip(3).collect();
        assert_eq!(cols, ["1", "2", "8"], "{header}");
        // One line per flag for each sweep; the first is the per-flag row.
        let net_rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("net "))
            .collect();
        assert_eq!(net_rows.len(), 2, "{text}");
        assert!(
            net_rows[1].contains("450/s") && net_rows[1].contains("2400/s"),
            "{text}"
        );
        let mounts = text
            .lines()
            .skip_while(|l| !l.contains("by extra mounts"))
            .nth(1)
            .expect("mount sweep row");
        assert!(
            mounts.contains("123.4 µs") && mounts.ends_with("2.29 ms"),
            "{mounts}"
        );
        // Per-op totals of the concurrency sweep stay in the full table.
        assert!(!text.contains("1.00 ms"), "{text}");
    }

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

    #[test]
    fn odd_input_does_not_panic() {
        assert_eq!(render(&[]), "");
        let mut no_numbers = m("startup", "process", "default", "ready", "ns", &[], 1.0);
        no_numbers.summary = None;
        no_numbers.samples.clear();
        let nan = m("clone", "namespaces", "net", "total", "ns", &[], f64::NAN);
        let text = render(&[
            no_numbers,
            nan,
            m("footprint", "runc", "run", "rss", "bytes", &[], 2048.0),
        ]);
        assert!(
            text.contains("NO DATA startup process/default ready: no reason recorded"),
            "{text}"
        );
        // A scenario without its own layout is still shown.
        assert!(
            text.contains("footprint:") && text.contains("2 KiB"),
            "{text}"
        );
    }

    #[test]
    fn the_handcrafted_run_fits_a_screen_and_keeps_every_problem() {
        let run = load("handcrafted-run.json");
        let text = render(&run.measurements);
        let lines = text.lines().count();
        assert!((20..=70).contains(&lines), "{lines} lines:\n{text}");
        for m in run.measurements.iter().filter(|m| m.status != Status::Ok) {
            let reason = m.reason.as_deref().unwrap_or_default();
            assert!(text.contains(reason), "{reason:?} missing:\n{text}");
        }
        // Every startup subject with a ready figure has a row with a ratio.
        for name in ["process", "runc", "crun", "qemu/microvm [tcg]"] {
            assert!(row(&text, name).contains('×'), "{name}:\n{text}");
        }
        assert!(
            text.contains("throttle:") && text.contains("clone:"),
            "{text}"
        );
    }

    #[test]
    fn the_real_sample_run_is_a_fraction_of_the_full_table() {
        let run = load("sample-run.json");
        let text = render(&run.measurements);
        let full =
            super::super::table::render(&run.measurements, super::super::table::FULL_TABLE_METRICS);
        let (short, long) = (text.lines().count(), full.lines().count());
        assert!(
            short * 2 < long && short <= 40,
            "{short} vs {long} lines:\n{text}"
        );
        let ready = run
            .measurements
            .iter()
            .find(|m| m.subject == "process" && m.metric == "ready")
            .and_then(|m| m.summary)
            .expect("process ready");
        assert!(
            row(&text, "process").contains(&human(ready.p50, "ns")),
            "{text}"
        );
    }
}

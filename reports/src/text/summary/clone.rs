//! The clone section: per namespace flag the `clone3()` cost over a plain clone, unshare
//! and setns; then the concurrency and mount-table sweeps, one line per flag.

use super::{ci_of, drop_empty, grid, ok, overhead, p50_of, strings, NONE};
use crate::model::Measurement;
use crate::report::select::{self, Class};
use crate::terminal::printable;
use crate::text::table::human;

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
pub(super) fn section(of: &[&Measurement]) -> String {
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

#[cfg(test)]
mod tests {
    use crate::text::summary::render;
    use crate::text::summary::tests::{m, row};

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
}

//! The density section: instances per GiB of each class (the headline rows), then one row
//! per subject and level — memory per instance by each method (p50 with its 95% CI for
//! MemAvailable, the noisiest, and its drift: how far MemAvailable moved over the level on
//! its own, before − after teardown), `launch_k` at k = 0 and k = N−1, the burst's rate and
//! the settles that hit their limit.

use super::{ci_of, grid, ok, strings, NONE};
use crate::model::Measurement;
use crate::report::density::{self as d, DensityRow};
use crate::text::table::human;

fn per_gib_text(r: &DensityRow) -> String {
    let tcg = if r.emulated { " (TCG)" } else { "" };
    let avail = match (r.per_gib, r.per_gib_ci) {
        (Some(v), Some((lo, hi))) if hi.is_finite() => format!("{v:.0} ({lo:.0}–{hi:.0})"),
        (Some(v), _) => format!("{v:.0}"),
        (None, _) => {
            "not resolved (its CI reaches zero: the host's own drift exceeded the use)".into()
        }
    };
    let pss = r
        .per_gib_pss
        .map_or_else(|| "—".to_string(), |p| format!("{p:.0}"));
    format!(
        "{} {}{tcg} at N={}: {pss} by PSS + slab; by MemAvailable {avail}",
        r.class, r.subject, r.instances
    )
}

pub(super) fn section(of: &[&Measurement]) -> String {
    let all: Vec<Measurement> = of.iter().map(|m| (*m).clone()).collect();
    let rows_of: Vec<&Measurement> = d::of_metric(&all, "mem_available");
    let launches: Vec<&Measurement> = d::of_metric(&all, "launch_k");
    // One row per subject × level: the level's MemAvailable figure, or its launch_k.
    let mut rows: Vec<&Measurement> = rows_of.clone();
    for l in &launches {
        if !rows
            .iter()
            .any(|m| m.subject == l.subject && m.case == l.case && m.labels == l.labels)
        {
            rows.push(l);
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    rows.sort_by_key(|m| {
        (
            of.iter().position(|o| o.subject == m.subject).unwrap_or(0),
            d::level(m),
        )
    });
    // The level is its own column; the other labels are in the full table.
    let names: Vec<String> = rows
        .iter()
        .map(|m| {
            let mut s = crate::report::select::series_name(m);
            if let Some(r) = m.labels.get("oci_runtime") {
                s.push_str(&format!(" [{r}]"));
            }
            s
        })
        .collect();
    let value = |m: &Measurement, metric: &str| -> String {
        d::sibling(&all, m, metric)
            .and_then(|s| ok(s).map(|x| human(x.p50, &s.unit)))
            .unwrap_or_else(|| NONE.to_string())
    };
    let burst = |m: &Measurement| -> String {
        all.iter()
            .find(|b| {
                b.scenario == d::SCENARIO
                    && b.metric == "burst_rate"
                    && b.subject == m.subject
                    && d::level(b) == d::level(m)
            })
            .and_then(|b| ok(b).map(|s| format!("{:.1}/s", s.p50)))
            .unwrap_or_else(|| NONE.to_string())
    };
    let table: Vec<Vec<String>> = rows
        .iter()
        .zip(names)
        .map(|(m, name)| {
            let avail = d::sibling(&all, m, "mem_available");
            let (p50, ci) = match avail.and_then(|a| ok(a).map(|s| (a, s))) {
                Some((a, s)) => (human(s.p50, &a.unit), ci_of(&s, &a.unit)),
                None => (NONE.into(), NONE.into()),
            };
            let k_last = if d::level(m) > Some(1) {
                value(m, "launch_last")
            } else {
                NONE.into()
            };
            vec![
                name,
                d::level(m).map_or_else(|| NONE.into(), |n| n.to_string()),
                p50,
                ci,
                value(m, "mem_available_drift"),
                value(m, "mem_pss_sum"),
                value(m, "mem_cgroup"),
                value(m, "mem_slab"),
                value(m, "launch_first"),
                k_last,
                burst(m),
                value(m, "unsettled"),
            ]
        })
        .collect();
    let header = strings(&[
        "subject",
        "N",
        "MemAvailable/N",
        "95% CI",
        "drift/N",
        "PSS/N",
        "cgroup/N",
        "slab/N",
        "launch k=0",
        "k=N−1",
        "burst",
        "unsettled",
    ]);
    let mut out = String::from(
        "density (memory per instance with N alive, p50 over trials; launch = ready latency with k running):\n",
    );
    for r in d::instances_per_gib_of(&all, crate::report::select::class_of) {
        out.push_str(&format!(
            "  instances per GiB, {}\n",
            crate::terminal::printable(&per_gib_text(&r))
        ));
    }
    out.push_str(&grid(&header, &table, 1));
    out
}

#[cfg(test)]
mod tests {
    use crate::model::{Measurement, MeasurementKey};
    use std::collections::BTreeMap;

    fn m(subject: &str, metric: &str, n: u64, unit: &str, samples: Vec<f64>) -> Measurement {
        let labels = BTreeMap::from([("instances".to_string(), n.to_string())]);
        Measurement::from_samples(
            MeasurementKey::new("density", subject, "default", metric),
            unit,
            labels,
            samples,
        )
    }

    #[test]
    fn memavailable_inside_the_hosts_drift_neither_ranks_nor_is_shown_as_a_figure() {
        let kib = 1024.0;
        // sandbox: MemAvailable/N of 61 KiB whose CI reaches 0 (noise), PSS 300 KiB;
        // runc: resolved, 1 MiB, PSS 400 KiB. By noise sandbox would read 17000 per GiB.
        let ms = vec![
            m(
                "sandbox",
                "mem_available",
                8,
                "bytes",
                vec![-50.0 * kib, 61.0 * kib, 120.0 * kib],
            ),
            m("sandbox", "mem_pss_sum", 8, "bytes", vec![300.0 * kib; 3]),
            m("runc", "mem_available", 8, "bytes", vec![1024.0 * kib; 3]),
            m("runc", "mem_pss_sum", 8, "bytes", vec![400.0 * kib; 3]),
        ];
        let text = crate::text::summary::render(&ms);
        let line = text
            .lines()
            .find(|l| l.contains("instances per GiB, containers"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.contains("sandbox at N=8: 3495 by PSS + slab; by MemAvailable not resolved"),
            "{line}"
        );
    }

    #[test]
    fn prints_the_headline_rows_and_one_row_per_level() {
        let mib = (1u64 << 20) as f64;
        let ms = vec![
            m("runc", "mem_available", 1, "bytes", vec![2.0 * mib; 3]),
            m("runc", "launch_first", 1, "ns", vec![6e7; 3]),
            m("runc", "mem_available", 8, "bytes", vec![1.0 * mib; 3]),
            m("runc", "mem_pss_sum", 8, "bytes", vec![0.5 * mib; 3]),
            m("runc", "launch_first", 8, "ns", vec![6e7; 3]),
            m("runc", "launch_last", 8, "ns", vec![9e7; 3]),
        ];
        let text = crate::text::summary::render(&ms);
        assert!(text.contains("density (memory per instance"), "{text}");
        assert!(
            text.contains(
                "instances per GiB, containers runc at N=8: 2048 by PSS + slab; by MemAvailable 1024 (1024–1024)"
            ),
            "{text}"
        );
        let row8 = text
            .lines()
            .find(|l| l.trim_start().starts_with("runc") && l.contains(" 8 "))
            .unwrap_or_else(|| panic!("no N=8 row: {text}"));
        assert!(
            row8.contains("1.0 MiB") && row8.contains("512 KiB"),
            "{row8}"
        );
        assert!(
            row8.contains("60.00 ms") && row8.contains("90.00 ms"),
            "{row8}"
        );
    }
}

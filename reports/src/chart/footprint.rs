//! Memory footprint: one stacked bar per subject/case — payload, runtime, engine client,
//! QEMU for VMs — the p50 of each part, on a log axis (`stacked_log`) so a 1 MiB process
//! and a 150 MiB VM are both readable. PSS is stacked where it was measured (it splits
//! shared pages between sharers, so the parts add up); a subject with RSS only is stacked
//! in RSS and says so in its name. A part measured at 0 B (the runtime of a create-start
//! case has exited by the time memory is read) is not drawn: the caption says it in words.

use std::collections::BTreeMap;

use super::stacked_log::{self, LogStacks};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run, Status};
use crate::report::select;

/// The parts of a footprint, in stacking order: (metric prefix, legend name).
const PARTS: [(&str, &str); 6] = [
    ("payload", "payload"),
    ("runtime", "runtime"),
    ("client", "engine client"),
    ("qemu", "QEMU"),
    ("vmm", "QEMU"),
    ("total", "whole subject (total PSS)"),
];

fn part_name(prefix: &str) -> String {
    PARTS
        .iter()
        .find(|(p, _)| *p == prefix)
        .map_or_else(|| prefix.to_string(), |(_, n)| n.to_string())
}

/// The bar of one subject/case: (part, p50) and whether it is RSS.
fn bar(ms: &[&Measurement]) -> (Vec<(String, f64)>, bool) {
    let of = |suffix: &str| -> Vec<(String, f64)> {
        ms.iter()
            .filter_map(|m| {
                let prefix = m.metric.strip_suffix(suffix)?;
                Some((prefix.to_string(), m.summary?.p50))
            })
            .collect()
    };
    let pss = of("_pss");
    let parts: Vec<&(String, f64)> = pss.iter().filter(|(p, _)| p != "total").collect();
    if !parts.is_empty() {
        return (parts.into_iter().cloned().collect(), false);
    }
    if !pss.is_empty() {
        return (pss, false);
    }
    (of("_rss"), true)
}

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let cat = select::Catalog::of(run);
    let mut series_of: BTreeMap<String, Vec<&Measurement>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for m in run.measurements.iter().filter(|m| {
        select::is_footprint(m)
            && m.status == Status::Ok
            && select::has_data(m)
            && cat.class(&m.subject) != select::Class::Harness
    }) {
        let key = select::series_name(m);
        if !series_of.contains_key(&key) {
            order.push(key.clone());
        }
        series_of.entry(key).or_default().push(m);
    }
    if order.is_empty() {
        return Ok(Vec::new());
    }
    let mut categories = Vec::new();
    let mut values: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut parts: Vec<String> = Vec::new();
    let mut zeros: Vec<String> = Vec::new();
    for key in &order {
        let (bar, rss) = bar(&series_of[key]);
        let name = if rss {
            format!("{key} (RSS)")
        } else {
            key.clone()
        };
        let mut drawn = false;
        for (prefix, p50) in bar {
            let part = part_name(&prefix);
            if p50 <= 0.0 {
                zeros.push(format!("the {part} of {key}"));
                continue;
            }
            if !parts.contains(&part) {
                parts.push(part.clone());
            }
            values.insert((name.clone(), part), p50);
            drawn = true;
        }
        if drawn {
            categories.push(name);
        }
    }
    parts.sort_by_key(|p| PARTS.iter().position(|(_, n)| n == p));
    let series = parts
        .iter()
        .map(|p| {
            let vals = categories
                .iter()
                .map(|c| {
                    values
                        .get(&(c.clone(), p.clone()))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect();
            (p.clone(), vals)
        })
        .collect();
    let mut caption = "Proportional memory (PSS) while the payload was alive, medians, one bar \
                       per subject stacked from its parts (payload, runtime, engine client; \
                       QEMU for VMs); log axis, each part from the sum before it to the sum \
                       after it, the total printed at the end. Subjects measured in RSS only \
                       say so."
        .to_string();
    if !zeros.is_empty() {
        caption.push_str(&format!(
            " Measured at 0 B and not drawn: {} (a runtime that had exited when memory was \
             read, as in a create-start case).",
            zeros.join(", ")
        ));
    }
    let svg = stacked_log::draw(
        "footprint",
        &LogStacks {
            categories,
            series,
            unit: "bytes".into(),
            value_desc: "memory, p50, parts stacked".into(),
        },
    )?;
    Ok(vec![Chart {
        id: "footprint".into(),
        title: "Memory footprint".into(),
        caption,
        svg,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;

    fn mem(subject: &str, case: &str, metric: &str, p50: f64) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("startup", subject, case, metric),
            "bytes",
            Default::default(),
            vec![p50; 5],
        )
    }

    #[test]
    fn one_stacked_bar_per_subject_and_zero_parts_said_in_words() {
        let run = Run::of_measurements(vec![
            mem("runc", "run", "payload_pss", 1e6),
            mem("runc", "run", "payload_rss", 2e6),
            mem("runc", "run", "runtime_pss", 5e6),
            mem("runc", "create-start", "payload_pss", 1e6),
            mem("runc", "create-start", "runtime_pss", 0.0),
            mem("docker", "default", "client_pss", 3e7),
            mem("docker", "default", "payload_pss", 1e6),
            mem("qemu", "microvm", "qemu_rss", 1.5e8),
        ]);
        let c = &chart(&run).expect("chart")[0];
        for name in [
            "runc/run",
            "runc/create-start",
            "docker",
            "qemu/microvm (RSS)",
        ] {
            assert!(c.svg.contains(&format!(">\n{name}\n<")), "{name} missing");
        }
        assert!(c.svg.contains("engine client") && c.svg.contains("QEMU"));
        assert!(!c.svg.contains("payload_rss"));
        assert!(
            c.caption
                .contains("0 B and not drawn: the runtime of runc/create-start"),
            "{}",
            c.caption
        );
    }
}

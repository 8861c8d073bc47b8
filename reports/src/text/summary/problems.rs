//! The last section: every skipped or failed measurement (and any `ok` one without
//! numbers), grouped so a reason shared by many cases and metrics is printed once.

use crate::model::{Measurement, Status};
use crate::report::select;
use crate::terminal::printable;

/// Every skipped or failed measurement (and any `ok` one without numbers), one line per
/// (status, scenario, subject, reason): the cases and metrics that share a reason are
/// listed together instead of repeating it.
pub(super) fn section(ms: &[Measurement]) -> String {
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
    use crate::model::{Measurement, MeasurementKey, Status};
    use crate::text::summary::render;
    use crate::text::summary::tests::skipped;

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
}

//! Where a run's wall time went (`Run::time_spent`), for the end of `isobench run`: per
//! scenario, its slowest subjects with their preparation, measuring and teardown, so a
//! user can see what to trim.

use std::fmt::Write;

use crate::model::ScenarioTime;
use crate::terminal::printable;

/// Subjects named per scenario; the rest are summed into one figure.
const SHOWN: usize = 3;

/// "2 min 05 s", "12.3 s", "0.41 s".
pub fn duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".into();
    }
    if s >= 60.0 {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:02.0} s", (s - m * 60.0).floor())
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

/// The block printed at the end of a run; empty for a run file without `time_spent`.
pub fn render(times: &[ScenarioTime]) -> String {
    if times.is_empty() {
        return String::new();
    }
    let all: f64 = times.iter().map(|t| t.total_s + t.settle_s).sum();
    let mut out = format!("where the time went (wall clock): {}\n", duration(all));
    let width = times
        .iter()
        .map(|t| printable(&t.scenario).chars().count())
        .max()
        .unwrap_or(0);
    for t in times {
        let mut subjects: Vec<_> = t.subjects.iter().collect();
        subjects.sort_by(|a, b| {
            let total = |s: &crate::model::SubjectTime| s.prepare_s + s.measure_s + s.teardown_s;
            total(b).total_cmp(&total(a))
        });
        let mut parts: Vec<String> = subjects
            .iter()
            .take(SHOWN)
            .map(|s| {
                format!(
                    "{} {} (prepare {}, measure {}, teardown {})",
                    printable(&s.subject),
                    duration(s.prepare_s + s.measure_s + s.teardown_s),
                    duration(s.prepare_s),
                    duration(s.measure_s),
                    duration(s.teardown_s)
                )
            })
            .collect();
        if subjects.len() > SHOWN {
            let rest: f64 = subjects[SHOWN..]
                .iter()
                .map(|s| s.prepare_s + s.measure_s + s.teardown_s)
                .sum();
            parts.push(format!(
                "{} others {}",
                subjects.len() - SHOWN,
                duration(rest)
            ));
        }
        if t.settle_s > 0.0 {
            parts.push(format!(
                "settling before it {}{}",
                duration(t.settle_s),
                if t.settle_quiet == Some(false) {
                    " (the machine stayed busy)"
                } else {
                    ""
                }
            ));
        }
        let _ = writeln!(
            out,
            "  {:<width$}  {:>10}  {}",
            printable(&t.scenario),
            duration(t.total_s),
            parts.join("; ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SubjectTime;

    fn st(subject: &str, p: f64, m: f64, t: f64) -> SubjectTime {
        SubjectTime {
            subject: subject.into(),
            prepare_s: p,
            measure_s: m,
            teardown_s: t,
        }
    }

    #[test]
    fn slowest_subjects_first_and_the_rest_summed() {
        let times = vec![
            ScenarioTime {
                scenario: "startup".into(),
                total_s: 130.0,
                subjects: vec![
                    st("process", 0.0, 1.0, 0.0),
                    st("qemu", 1.5, 58.0, 2.5),
                    st("docker", 3.0, 30.0, 7.0),
                    st("runc", 0.5, 15.0, 4.5),
                    st("sandbox", 0.2, 2.0, 0.3),
                ],
                ..Default::default()
            },
            ScenarioTime {
                scenario: "clone".into(),
                total_s: 12.34,
                subjects: vec![st("namespaces", 0.0, 12.3, 0.0)],
                ..Default::default()
            },
        ];
        let text = render(&times);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "where the time went (wall clock): 2 min 22 s");
        assert!(
            lines[1].starts_with("  startup  2 min 10 s  qemu 1 min 02 s (prepare 1.50 s, measure 58.0 s, teardown 2.50 s); docker 40.0 s"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with("; 2 others 3.50 s"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("  clone        12.3 s  namespaces"),
            "{}",
            lines[2]
        );
        assert_eq!(render(&[]), "");
    }
}

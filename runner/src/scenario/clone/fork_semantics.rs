//! Section 1b of the `clone` scenario: the per-flag cases with fork semantics (label
//! `semantics=fork`), the way a runtime creates its container's init:
//! `clone(fn, stack, CLONE_NEW* | SIGCHLD, arg)` without `CLONE_VM`, so the kernel copies
//! the creator's page tables and the child writes to copies of its pages.
//!
//! What is copied depends on the creator's size, so the creator is not the harness (tens
//! of MiB, many threads) but the small static probe (`bench --bench-groups fork`,
//! fixtures/probe/src/modes/bench.rs), run once as a plain process on the pinned CPU (it
//! inherits the creating thread's affinity): it runs every case once per round in a
//! seeded shuffled order and times each with CLOCK_MONOTONIC — `t0` before clone3,
//! `ready` when the child's byte is read, `total` when wait4 returns — and prints
//! checksummed lines (`measure::bench_lines`); a line that fails its check fails its
//! measurement. The probe's own two warm-up rounds are discarded.

use std::collections::BTreeMap;
use std::process::Command;

use isobench_reports::model::Status;

use super::SUBJECT;
use crate::measure::bench_lines;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::scenario::Ctx;

/// The probe's command line for `rounds` rounds.
fn mode(rounds: usize, seed: u64) -> ProbeMode {
    ProbeMode::Bench {
        rounds: rounds as u64,
        seed,
        groups: vec!["fork".into()],
    }
}

/// Run the probe's fork-semantics loop and collect its lines.
pub(super) fn measure(ctx: &Ctx<'_>, rounds: usize, col: &mut Collector) {
    let fork = BTreeMap::from([("semantics".to_string(), "fork".to_string())]);
    let mut cmd = Command::new(&ctx.env.probe);
    cmd.args(mode(rounds, ctx.plan.seed).args());
    let out = match crate::subprocess::run(&mut cmd, ctx.env.timeouts.command) {
        Ok(o) => o,
        Err(e) => {
            col.problem_labeled(
                SUBJECT,
                "all",
                "total",
                &fork,
                Status::Failed,
                &format!("the probe's fork-semantics loop: {e}"),
            );
            return;
        }
    };
    let mut parsed = bench_lines::parse(&String::from_utf8_lossy(&out.stdout));
    if !ctx.env.is_root {
        for p in parsed
            .problems
            .iter_mut()
            .filter(|p| p.reason.contains("EPERM"))
        {
            p.reason
                .push_str("; new namespaces need CAP_SYS_ADMIN: run as root");
        }
    }
    add(&parsed, col);
}

/// Put one parsed probe output into the collector (rejected lines fail what they claim).
pub(super) fn add(parsed: &bench_lines::BenchOutput, col: &mut Collector) {
    let mut failed: Vec<(String, String, BTreeMap<String, String>, String)> = Vec::new();
    for r in &parsed.rejected {
        let why = format!("probe result line {} rejected: {}", r.line, r.why);
        match &r.claims {
            Some((c, m, l)) => failed.push((c.clone(), m.clone(), l.clone(), why)),
            None => failed.push((
                "all".into(),
                "total".into(),
                BTreeMap::from([("semantics".to_string(), "fork".to_string())]),
                why,
            )),
        }
    }
    if let Some(why) = &parsed.incomplete {
        failed.push((
            "all".into(),
            "total".into(),
            BTreeMap::from([("semantics".to_string(), "fork".to_string())]),
            format!("the probe's output: {why}"),
        ));
    }
    for r in &parsed.results {
        if failed
            .iter()
            .any(|f| f.0 == r.case && f.1 == r.metric && f.2 == r.labels)
        {
            continue;
        }
        for v in &r.values {
            col.add_value(SUBJECT, &r.case, &r.metric, &r.labels, r.unit, *v);
        }
    }
    for (c, m, l, why) in &failed {
        col.problem_labeled(SUBJECT, c, m, l, Status::Failed, why);
    }
    for p in &parsed.problems {
        let status = if p.failed {
            Status::Failed
        } else {
            Status::Skipped
        };
        col.problem_labeled(SUBJECT, &p.case, &p.metric, &p.labels, status, &p.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_line_fails_its_measurement_only() {
        let line = |t: &str| format!("{t} {:08x}\n", bench_lines::fnv1a32(t.as_bytes()));
        let text = [
            line("U 6.18"),
            line("B none total ns semantics=fork 2 100,200"),
            line("B pid total ns semantics=fork 2 300,400").replace("400", "401"),
            line("S time total semantics=fork EPERM (errno 1)"),
            line("E 4"),
        ]
        .concat();
        let mut col = Collector::new("clone");
        add(&bench_lines::parse(&text), &mut col);
        let ms = col.finish();
        let find = |case: &str| {
            ms.iter()
                .find(|m| m.case == case && m.metric == "total")
                .unwrap_or_else(|| panic!("{case}"))
        };
        assert_eq!(find("none").status, Status::Ok);
        assert_eq!(find("none").labels["semantics"], "fork");
        assert_eq!(find("pid").status, Status::Failed);
        assert_eq!(find("time").status, Status::Skipped);
        assert_eq!(find("all").status, Status::Failed, "one line was lost");
    }
}

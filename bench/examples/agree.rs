//! Do the criterion benches and `isobench run --scenario clone` agree?
//!
//! Usage: `agree RUN1.json,RUN2.json,... CRITERION_DIR BASELINE1,BASELINE2,... [TOLERANCE]`
//! (`bench/agree.sh` alternates the two measurements REPEATS times, then calls this).
//!
//! For every per-namespace figure both produce — clone() per flag (`clone/<flag>` vs the
//! run's `namespaces/<flag>/total`), `unshare/<type>` and `setns/<type>` (vs the run's
//! `unshare` / `setns` metrics) — it prints, per repeat, the ratio of the bench's median
//! per-operation time (criterion's `median.point_estimate` of that repeat's baseline) to
//! the run's p50, and the pooled ratio: the median over repeats of the bench figure over
//! the median over repeats of the run figure. Pooling alternated repeats is what makes
//! the check fair on a host whose speed drifts by tens of percent from minute to minute
//! (one repeat alone swung from 0.80× to 1.22× here, with the same code).
//! Exit status 1 when a pooled clone() ratio leaves 1 ± TOLERANCE (default 0.15);
//! unshare/setns ratios are marked the same way but do not fail: see the README for
//! their 2–5 µs figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use isobench_reports::model::{Measurement, Run, Status};
use isobench_reports::stats::median;

const TYPES: [&str; 8] = ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"];

fn bench_median(dir: &Path, group: &str, id: &str, baseline: &str) -> Result<f64, String> {
    let path = dir
        .join(group)
        .join(id)
        .join(baseline)
        .join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (run `cargo bench -- --save-baseline {baseline}` first)",
            path.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median.point_estimate", path.display()))
}

fn run_p50<'a>(run: &'a Run, case: &str, metric: &str) -> Option<&'a Measurement> {
    run.measurements.iter().find(|m| {
        m.scenario == "clone"
            && m.subject == "namespaces"
            && m.case == case
            && m.metric == metric
            && m.labels.is_empty()
            && m.status == Status::Ok
            && m.summary.is_some()
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: agree RUN.json[,RUN2.json...] CRITERION_DIR BASELINE[,BASELINE2...] [TOLERANCE]");
        return ExitCode::from(2);
    }
    let mut runs = Vec::new();
    for path in args[0].split(',') {
        match Run::load(Path::new(path)) {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("agree: {path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let dir = PathBuf::from(&args[1]);
    let baselines: Vec<&str> = args[2].split(',').collect();
    if baselines.len() != runs.len() {
        eprintln!(
            "agree: {} run files but {} baselines: give one baseline per run (repeat i = run i + baseline i)",
            runs.len(),
            baselines.len()
        );
        return ExitCode::from(2);
    }
    let tol: f64 = match args.get(3).map(|t| t.parse()) {
        None => 0.15,
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("agree: tolerance {}: {e}", args[3]);
            return ExitCode::from(2);
        }
    };
    let mut rows: Vec<(String, String, &str, bool)> = Vec::new();
    for flag in std::iter::once("none").chain(TYPES).chain(["all"]) {
        rows.push((format!("clone/{flag}"), flag.into(), "total", true));
    }
    for group in ["unshare", "setns"] {
        for t in TYPES {
            rows.push((format!("{group}/{t}"), t.into(), group, false));
        }
    }
    let k = runs.len();
    println!(
        "{:<16} {:>11} {:>11}  {:<width$}  {:>7}",
        "figure",
        "bench p50",
        "run p50",
        "ratio per repeat",
        "pooled",
        width = 7 * k
    );
    let (mut failed, mut off) = (Vec::new(), 0usize);
    for (id, case, metric, gating) in rows {
        let (group, name) = id.split_once('/').expect("id has a group");
        let mut bench = Vec::new();
        let mut run = Vec::new();
        let mut missing = None;
        for (r, b) in runs.iter().zip(&baselines) {
            let Some(m) = run_p50(r, &case, metric) else {
                missing = Some("not in a run file: skipped or not measured there".to_string());
                break;
            };
            match bench_median(&dir, group, name, b) {
                Ok(v) => bench.push(v),
                Err(e) => {
                    missing = Some(format!("no bench figure: {e}"));
                    break;
                }
            }
            run.push(m.summary.expect("filtered on summary").p50);
        }
        if let Some(why) = missing {
            println!("{id:<16} ({why})");
            continue;
        }
        let per: Vec<String> = bench
            .iter()
            .zip(&run)
            .map(|(b, r)| format!("{:>6.2}", b / r))
            .collect();
        let (bench_p50, run_p50) = (median(&bench), median(&run));
        let ratio = bench_p50 / run_p50;
        let within = (ratio - 1.0).abs() <= tol;
        if !within {
            off += 1;
            if gating {
                failed.push(id.clone());
            }
        }
        println!(
            "{id:<16} {:>8.2} µs {:>8.2} µs  {:<width$}  {:>7.3}{}",
            bench_p50 / 1e3,
            run_p50 / 1e3,
            per.join(" "),
            ratio,
            if within { "" } else { "  *" },
            width = 7 * k
        );
    }
    println!(
        "\nbench p50 / run p50: medians over the {k} repeat(s) of criterion's median and of the run's p50; \
         pooled = their ratio. * = pooled ratio outside 1 ± {tol}; {off} figure(s) marked. \
         clone() figures gate the exit status{}.",
        if failed.is_empty() {
            String::new()
        } else {
            format!(": {} outside", failed.join(", "))
        }
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

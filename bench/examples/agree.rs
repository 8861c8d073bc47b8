//! Do the criterion benches and `isobench run --scenario clone` agree?
//!
//! Usage: `cargo run -p isobench-bench --example agree -- RUN.json CRITERION_DIR BASELINE [TOLERANCE]`
//! (`bench/agree.sh` runs both measurements back to back and then this).
//!
//! For every per-namespace figure both produce — clone() per flag (`clone/<flag>` vs the
//! run's `namespaces/<flag>/total`), `unshare/<type>` and `setns/<type>` (vs the run's
//! `unshare` / `setns` metrics) — it prints the bench's median per-operation time
//! (criterion's `median.point_estimate` of the saved baseline), the run's p50 with its 95 %
//! CI, and their ratio. Exit status 1 when a clone() ratio leaves 1 ± TOLERANCE
//! (default 0.15); unshare/setns ratios are printed with the same mark but do not fail
//! (see the README: their 2–5 µs figures sit at this method's noise floor).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use isobench_reports::model::{Measurement, Run, Status};

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
        eprintln!("usage: agree RUN.json CRITERION_DIR BASELINE [TOLERANCE]");
        return ExitCode::from(2);
    }
    let run = match Run::load(Path::new(&args[0])) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agree: {}: {e}", args[0]);
            return ExitCode::from(2);
        }
    };
    let dir = PathBuf::from(&args[1]);
    let baseline = &args[2];
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
    println!(
        "{:<16} {:>11} {:>11} {:>25} {:>7}",
        "figure", "bench p50", "run p50", "run 95% CI", "ratio"
    );
    let (mut failed, mut off) = (Vec::new(), 0usize);
    for (id, case, metric, gating) in rows {
        let (group, name) = id.split_once('/').expect("id has a group");
        let Some(m) = run_p50(&run, &case, metric) else {
            println!("{id:<16} (not in the run file: skipped or not measured there)");
            continue;
        };
        let s = m.summary.expect("filtered on summary");
        let bench = match bench_median(&dir, group, name, baseline) {
            Ok(v) => v,
            Err(e) => {
                println!("{id:<16} (no bench figure: {e})");
                continue;
            }
        };
        let ratio = bench / s.p50;
        let within = (ratio - 1.0).abs() <= tol;
        if !within {
            off += 1;
            if gating {
                failed.push(id.clone());
            }
        }
        println!(
            "{id:<16} {:>8.2} µs {:>8.2} µs {:>10.2} – {:>7.2} µs {:>7.3}{}",
            bench / 1e3,
            s.p50 / 1e3,
            s.p50_ci[0] / 1e3,
            s.p50_ci[1] / 1e3,
            ratio,
            if within { "" } else { "  *" }
        );
    }
    println!(
        "\n* = ratio outside 1 ± {tol}; {off} figure(s) marked. clone() figures gate the exit status{}.",
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

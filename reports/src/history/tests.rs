use std::collections::BTreeMap;

use super::*;
use crate::model::{Host, Measurement, MeasurementKey, Tool};

fn run(day: u32, scale: f64) -> Run {
    let samples: Vec<f64> = (0..30)
        .map(|i| scale * (1000.0 + f64::from(i % 7)))
        .collect();
    let thr: Vec<f64> = (0..5).map(|i| 500.0 + f64::from(i)).collect();
    Run {
        schema: crate::RUN_SCHEMA.into(),
        started_at: format!("2026-01-{day:02}T00:00:00Z"),
        finished_at: None,
        tool: Tool {
            name: "isobench".into(),
            version: "0.1.0".into(),
            git: None,
        },
        host: Host {
            hostname: "h".into(),
            kernel: "6.1".into(),
            cpu_model: "cpu".into(),
            cpus: 2,
            ..Host::default()
        },
        config: serde_json::Value::Null,
        interrupted: false,
        subjects: Default::default(),
        time_spent: Vec::new(),
        measurements: vec![
            Measurement::from_samples(
                MeasurementKey::new("startup", "process", "default", "ready"),
                "ns",
                BTreeMap::new(),
                samples,
            ),
            Measurement::from_samples(
                MeasurementKey::new("clone", "namespaces", "all", "throughput"),
                "ops/s",
                BTreeMap::new(),
                thr,
            ),
            Measurement::not_ok(
                MeasurementKey::new("startup", "qemu", "default", "ready"),
                "ns",
                Status::Skipped,
                "no KVM",
            ),
        ],
    }
}

#[test]
fn record_is_idempotent_and_lists() {
    let mut h = History::in_memory().expect("db");
    let r = run(1, 1.0);
    let Recorded::New(id) = h.record(&r).expect("record") else {
        panic!("first record must be new");
    };
    assert_eq!(h.record(&r).expect("again"), Recorded::AlreadyThere(id));
    h.record(&run(2, 1.0)).expect("record");
    let l = h.list(10).expect("list");
    assert_eq!(l.len(), 2);
    assert_eq!(l[0].started_at, "2026-01-02T00:00:00Z");
    assert_eq!(l[0].measurements, 3);
}

#[test]
fn series_is_oldest_first_and_bounded() {
    let mut h = History::in_memory().expect("db");
    for d in 1..=5 {
        h.record(&run(d, f64::from(d))).expect("record");
    }
    let s = h
        .series("startup/process/default/ready", 3, None, None)
        .expect("series");
    assert_eq!(s.len(), 3);
    assert!(s[0].p50 < s[1].p50 && s[1].p50 < s[2].p50);
    assert_eq!(s[2].started_at, "2026-01-05T00:00:00Z");
    let all = h.all_series(10).expect("all");
    assert_eq!(
        all.len(),
        2,
        "skipped measurements have no series: {:?}",
        all.keys()
    );
}

#[test]
fn check_flags_a_slower_night_only() {
    let mut h = History::in_memory().expect("db");
    // Night-to-night jitter of about 1 %.
    for (d, s) in [(1, 1.0), (2, 1.01), (3, 0.99), (4, 1.005), (5, 0.995)] {
        h.record(&run(d, s)).expect("record");
    }
    let same = run(6, 1.002);
    let rep = check(&h, &same, &CheckOptions::default()).expect("check");
    assert_eq!(rep.count(CheckVerdict::Regressed), 0, "{rep:?}");
    assert_eq!(rep.count(CheckVerdict::WithinBand), 2);
    assert_eq!(rep.count(CheckVerdict::NotChecked), 1);

    let slow = run(7, 1.3);
    h.record(&slow).expect("record");
    let rep = check(&h, &slow, &CheckOptions::default()).expect("check");
    let flagged: Vec<_> = rep.regressions().map(|r| r.identity.as_str()).collect();
    assert_eq!(flagged, ["startup/process/default/ready"]);
    assert_eq!(
        rep.rows[0].baseline_runs, 5,
        "the run itself is not its own baseline"
    );
}

#[test]
fn check_needs_history_and_a_comparable_host() {
    let mut h = History::in_memory().expect("db");
    h.record(&run(1, 1.0)).expect("record");
    let rep = check(&h, &run(2, 2.0), &CheckOptions::default()).expect("check");
    assert_eq!(rep.count(CheckVerdict::InsufficientHistory), 2);
    for d in 3..=6 {
        h.record(&run(d, 1.0)).expect("record");
    }
    let mut other = run(7, 2.0);
    other.host.cpus = 64;
    let rep = check(&h, &other, &CheckOptions::default()).expect("check");
    assert_eq!(rep.count(CheckVerdict::InsufficientHistory), 2);
    let any = CheckOptions {
        any_host: true,
        ..CheckOptions::default()
    };
    assert_eq!(
        check(&h, &other, &any)
            .expect("check")
            .count(CheckVerdict::Regressed),
        1
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = std::env::temp_dir().join(format!("isobench-history-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("h.sqlite");
    {
        let c = Connection::open(&path).expect("open");
        c.pragma_update(None, "user_version", 99).expect("pragma");
    }
    let e = History::open(&path).expect_err("too new");
    assert!(e.to_string().contains("newer"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `run(day, scale)` plus the harness's empty iteration of `startup`, scaled by `witness`.
fn run_with_witness(day: u32, scale: f64, witness: f64) -> Run {
    let mut r = run(day, scale);
    r.measurements.push(Measurement::from_samples(
        MeasurementKey::new("startup", "harness", "empty", "ready"),
        "ns",
        BTreeMap::new(),
        (0..30)
            .map(|i| witness * (5000.0 + f64::from(i % 5)))
            .collect(),
    ));
    r
}

#[test]
fn a_night_on_a_slower_machine_is_inconclusive_not_regressed() {
    use crate::compare::Gate;
    let mut h = History::in_memory().expect("db");
    for (d, s) in [(1, 1.0), (2, 1.01), (3, 0.99), (4, 1.005), (5, 0.995)] {
        h.record(&run_with_witness(d, s, s)).expect("record");
    }
    // The whole machine 30 % slower, the witness with it.
    let slow_machine = run_with_witness(6, 1.3, 1.3);
    let rep = check(&h, &slow_machine, &CheckOptions::default()).expect("check");
    assert_eq!(rep.count(CheckVerdict::Regressed), 1, "{rep:?}");
    assert_eq!(rep.gate(), Gate::Inconclusive);
    assert!(
        rep.verdict_line().starts_with("INCONCLUSIVE"),
        "{}",
        rep.verdict_line()
    );
    // Only the build slower: the witness held still.
    let slow_build = run_with_witness(7, 1.3, 1.0);
    let rep = check(&h, &slow_build, &CheckOptions::default()).expect("check");
    assert_eq!(rep.gate(), Gate::Regressed);
    assert!(
        rep.verdict_line().starts_with(
            "REGRESSED: 1 measurement(s) outside their band: startup/process/default/ready +30"
        ),
        "{}",
        rep.verdict_line()
    );
    // Far slower than the machine moved: still the build.
    let much_slower = run_with_witness(8, 3.0, 1.3);
    let rep = check(&h, &much_slower, &CheckOptions::default()).expect("check");
    assert_eq!(rep.gate(), Gate::Regressed);
}

/// A night with `clone/namespaces/<case>/setns` for five cases, each scaled by `f(case)`
/// on top of the night's jitter `scale`, on `kernel`.
fn family_night(day: u32, scale: f64, kernel: &str, f: impl Fn(&str) -> f64) -> Run {
    let mut r = run(day, scale);
    r.host.kernel = kernel.into();
    for case in ["pid", "mnt", "uts", "ipc", "net"] {
        r.measurements.push(Measurement::from_samples(
            MeasurementKey::new("clone", "namespaces", case, "setns"),
            "ns",
            BTreeMap::new(),
            (0..30)
                .map(|i| scale * f(case) * (2000.0 + f64::from(i % 7)))
                .collect(),
        ));
    }
    r
}

#[test]
fn families_judge_a_lone_jump_and_a_shift_together_on_one_kernel() {
    use crate::compare::{Gate, FAMILY_DRIFT, ISOLATED};
    let mut h = History::in_memory().expect("db");
    for (d, s) in [(1, 1.0), (2, 1.01), (3, 0.99), (4, 1.005), (5, 0.995)] {
        h.record(&family_night(d, s, "6.1", |_| 1.0))
            .expect("record");
    }
    // One setns +30 % alone: isolated, the gate passes.
    let alone = family_night(6, 1.0, "6.1", |c| if c == "uts" { 1.3 } else { 1.0 });
    let rep = check(&h, &alone, &CheckOptions::default()).expect("check");
    assert_eq!(rep.gate(), Gate::Pass, "{}", rep.verdict_line());
    let uts = rep
        .rows
        .iter()
        .find(|r| r.identity == "clone/namespaces/uts/setns")
        .expect("uts row");
    assert_eq!(uts.verdict, CheckVerdict::Changed);
    assert_eq!(uts.family.as_ref().map(|f| f.judgement), Some(ISOLATED));
    assert!(
        rep.verdict_line().contains("1 isolated change(s)"),
        "{}",
        rep.verdict_line()
    );
    // The whole family +20 %: the machine.
    let together = family_night(7, 1.0, "6.1", |_| 1.2);
    let rep = check(&h, &together, &CheckOptions::default()).expect("check");
    assert_eq!(rep.count(CheckVerdict::Regressed), 5);
    assert!(rep
        .rows
        .iter()
        .filter_map(|r| r.family.as_ref())
        .all(|f| f.judgement == FAMILY_DRIFT));
    assert_eq!(rep.gate(), Gate::Inconclusive, "{}", rep.verdict_line());
    // A new kernel tonight: no family rules, the lone jump is a regression.
    let new_kernel = family_night(8, 1.0, "6.6", |c| if c == "uts" { 1.3 } else { 1.0 });
    let rep = check(&h, &new_kernel, &CheckOptions::default()).expect("check");
    assert_eq!(rep.gate(), Gate::Regressed, "{}", rep.verdict_line());
    // And without family rules, the lone jump on the same kernel is one too.
    let strict = CheckOptions {
        families: false,
        ..CheckOptions::default()
    };
    assert_eq!(
        check(&h, &alone, &strict).expect("check").gate(),
        Gate::Regressed
    );
}

#[test]
fn a_faster_witness_explains_no_slower_night() {
    use crate::compare::Gate;
    let mut h = History::in_memory().expect("db");
    for (d, s) in [(1, 1.0), (2, 1.01), (3, 0.99), (4, 1.005), (5, 0.995)] {
        h.record(&run_with_witness(d, s, s)).expect("record");
    }
    let rep = check(&h, &run_with_witness(6, 1.3, 0.6), &CheckOptions::default()).expect("check");
    assert_eq!(rep.drift("startup"), None);
    assert_eq!(rep.gate(), Gate::Regressed, "{}", rep.verdict_line());
}

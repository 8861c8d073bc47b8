//! Inconsistent run files are refused on load, naming the file and the measurement
//! (issue 13 item 13): a summary the samples do not give (report and compare would
//! disagree), a measurement present twice, negative durations, values whose statistics
//! overflow. A missing summary is recomputed from the samples. Absurd magnitudes print in
//! a bounded form, and an infinite change is not "no change".

use std::collections::BTreeMap;
use std::path::PathBuf;

use isobench_reports::compare::{self, CompareOptions, Input, Verdict};
use isobench_reports::model::{Measurement, MeasurementKey, RunFileError};
use isobench_reports::{stats, units, Run};
use serde_json::Value;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
}

fn fixture() -> Value {
    let p = fixture_path("fixtures/runs/small-startup-clone.json");
    serde_json::from_slice(&std::fs::read(&p).expect("read fixture")).expect("fixture json")
}

/// Index of the first ok measurement with samples of `metric`.
fn find(v: &Value, metric: &str) -> usize {
    v["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .position(|m| m["metric"] == metric && m["status"] == "ok" && m["samples"][0].is_number())
        .unwrap_or_else(|| panic!("no ok {metric} measurement in the fixture"))
}

fn parse(v: &Value) -> Result<Run, RunFileError> {
    Run::parse(&serde_json::to_vec(v).expect("serialise"), "edited.json")
}

/// The load error of `v`, which must name the file, the measurement and `what`.
fn refused(v: &Value, identity: &str, what: &str) {
    match parse(v) {
        Ok(_) => panic!("an inconsistent file ({what}) was loaded"),
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains("edited.json") && m.contains(identity) && m.contains(what),
                "the error should name edited.json, {identity} and {what:?}: {m}"
            );
        }
    }
}

fn identity(v: &Value, i: usize) -> String {
    let m = &v["measurements"][i];
    format!(
        "{}/{}/{}/{}",
        m["scenario"].as_str().expect("scenario"),
        m["subject"].as_str().expect("subject"),
        m["case"].as_str().expect("case"),
        m["metric"].as_str().expect("metric")
    )
}

/// Replace the samples of measurement `i` and give it the summary they have.
fn set_samples(v: &mut Value, i: usize, samples: &[f64]) {
    let m = &mut v["measurements"][i];
    m["samples"] = serde_json::to_value(samples).expect("samples");
    m["summary"] = serde_json::to_value(stats::summarize(samples)).expect("summary");
}

#[test]
fn every_fixture_run_loads() {
    for name in [
        "fixtures/results/handcrafted-run.json",
        "fixtures/results/sample-run.json",
        "fixtures/runs/small-startup-clone.json",
    ] {
        if let Err(e) = Run::load(&fixture_path(name)) {
            panic!("{name} no longer loads: {e}");
        }
    }
}

#[test]
fn samples_changed_without_their_summary_are_refused() {
    let mut v = fixture();
    let i = find(&v, "ready");
    let id = identity(&v, i);
    for x in v["measurements"][i]["samples"]
        .as_array_mut()
        .expect("samples")
    {
        *x = Value::from(x.as_f64().expect("number") * 1000.0);
    }
    refused(&v, &id, "summary");

    // One sample more than the summary counts.
    let mut v = fixture();
    let extra = v["measurements"][i]["samples"][0].clone();
    v["measurements"][i]["samples"]
        .as_array_mut()
        .expect("samples")
        .push(extra);
    refused(&v, &id, "summary n");
}

#[test]
fn a_measurement_present_twice_is_refused() {
    let mut v = fixture();
    let i = find(&v, "ready");
    let id = identity(&v, i);
    let twin = v["measurements"][i].clone();
    v["measurements"].as_array_mut().expect("array").push(twin);
    refused(&v, &id, "more than once");
}

#[test]
fn negative_durations_are_refused_but_differences_may_be_negative() {
    let mut v = fixture();
    let i = find(&v, "ready");
    let id = identity(&v, i);
    set_samples(&mut v, i, &[-5000.0, 1000.0, 1200.0]);
    refused(&v, &id, "negative duration");

    // `over_plain` is total(case) - total(none) of one round: a noisy `none` makes it
    // negative, and the real fixture has such rounds.
    let j = find(&v, "over_plain");
    let mut ok = fixture();
    set_samples(&mut ok, j, &[-5000.0, 1000.0, 1200.0]);
    parse(&ok).expect("a negative difference is a valid value");
}

#[test]
fn statistics_that_overflow_are_refused() {
    let mut v = fixture();
    let i = find(&v, "ready");
    let id = identity(&v, i);
    let m = &mut v["measurements"][i];
    m["samples"] = serde_json::json!([1.7e308, 1.7e308, 1.7e308]);
    m["summary"] = serde_json::json!({
        "n": 3, "min": 1.7e308, "p50": 1.7e308, "p90": 1.7e308, "p99": 1.7e308,
        "p999": 1.7e308, "max": 1.7e308, "mean": 1.7e308, "stddev": 0.0,
        "p50_ci": [1.7e308, 1.7e308]
    });
    refused(&v, &id, "not a finite number");
}

#[test]
fn a_summary_without_samples_must_be_ordered() {
    let mut v = fixture();
    let i = find(&v, "ready");
    let id = identity(&v, i);
    let m = &mut v["measurements"][i];
    m["samples"] = serde_json::json!([]);
    m["summary"]["min"] = Value::from(m["summary"]["max"].as_f64().expect("max") * 2.0);
    refused(&v, &id, "not ordered");
}

#[test]
fn a_missing_summary_is_recomputed_from_the_samples() {
    let mut v = fixture();
    let i = find(&v, "ready");
    v["measurements"][i]
        .as_object_mut()
        .expect("object")
        .remove("summary");
    let run = parse(&v).expect("samples without a summary load");
    let m = &run.measurements[i];
    assert_eq!(m.summary, stats::summarize(&m.samples));
}

#[test]
fn absurd_magnitudes_print_bounded() {
    for (v, unit) in [
        (1.7e308, "ns"),
        (-1.7e308, "ns"),
        (1.7e308, "bytes"),
        (1.7e308, "ops/s"),
        (1.7e308, "ratio"),
        (1.7e308, "count"),
    ] {
        let s = units::format_value(v, unit);
        assert!(s.chars().count() <= 16, "{v} {unit} printed as {s:?}");
    }
    assert!(units::format_factor(1.7e308).chars().count() <= 12);
    assert_eq!(units::format_value(2_500.0, "ns"), "2.50 µs");

    // In a comparison: a 1e142 % change prints short (larger values overflow the stddev).
    let m = |scale: f64| {
        Measurement::from_samples(
            MeasurementKey::new("startup", "process", "default", "ready"),
            "ns",
            BTreeMap::new(),
            (0..40)
                .map(|i| scale * (1000.0 + f64::from(i % 7)))
                .collect(),
        )
    };
    let a = run_of(m(1.0));
    let b = run_of(m(1e140));
    let c = compare_two(&a, &b);
    let text = compare::table::render(&c);
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest < 300, "a {widest}-character line:\n{text}");
}

#[test]
fn an_infinite_change_is_not_no_change() {
    let m = |scale: f64| {
        Measurement::from_samples(
            MeasurementKey::new("startup", "process", "default", "ready"),
            "ns",
            BTreeMap::new(),
            (0..40).map(|i| scale * (1.0 + f64::from(i % 7))).collect(),
        )
    };
    // A base median of ~4e-300 ns and a new one of ~4e10: the ratio overflows.
    let a = run_of(m(1e-300));
    let b = run_of(m(1e10));
    let c = compare_two(&a, &b);
    let d = &c.rows[0].deltas[0];
    assert_ne!(
        d.verdict,
        Verdict::NoChange,
        "an infinite change read as no change: {d:?}"
    );
    assert_eq!(d.verdict, Verdict::NotCompared, "{d:?}");
    assert!(
        d.note.as_deref().is_some_and(|n| n.contains("finite")),
        "{d:?}"
    );
}

fn run_of(m: Measurement) -> Run {
    let mut v = fixture();
    v["measurements"] = serde_json::to_value(vec![m]).expect("measurement");
    parse(&v).expect("a consistent run")
}

fn compare_two(a: &Run, b: &Run) -> compare::Comparison {
    compare::compare(
        &[
            Input {
                origin: "a.json",
                run: a,
            },
            Input {
                origin: "b.json",
                run: b,
            },
        ],
        &CompareOptions::default(),
    )
    .expect("compare")
}

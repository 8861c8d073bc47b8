//! The test helpers the section tests share (measurements with constant samples, a row
//! of the rendered text, the fixture runs) and the tests of the summary as a whole.

use std::collections::BTreeMap;
use std::path::Path;

use super::{render, render_run};
use crate::model::{Measurement, MeasurementKey, Run, Status};
use crate::text::table::{self, human};

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An `ok` measurement whose every sample is `value` (so p50 and its CI are `value`).
pub(super) fn m(
    scenario: &str,
    subject: &str,
    case: &str,
    metric: &str,
    unit: &str,
    l: &[(&str, &str)],
    value: f64,
) -> Measurement {
    Measurement::from_samples(
        MeasurementKey::new(scenario, subject, case, metric),
        unit,
        labels(l),
        vec![value; 5],
    )
}

pub(super) fn skipped(
    scenario: &str,
    subject: &str,
    case: &str,
    metric: &str,
    why: &str,
) -> Measurement {
    Measurement::not_ok(
        MeasurementKey::new(scenario, subject, case, metric),
        "ns",
        Status::Skipped,
        why,
    )
}

/// The line of `text` whose first column (after the indent) is `name`.
pub(super) fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{name}  ")))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{text}"))
}

pub(super) fn load(name: &str) -> Run {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/results")
        .join(name);
    Run::load(&p).expect("fixture run file")
}

#[test]
fn odd_input_does_not_panic() {
    assert_eq!(render(&[]), "");
    let mut no_numbers = m("startup", "process", "default", "ready", "ns", &[], 1.0);
    no_numbers.summary = None;
    no_numbers.samples.clear();
    let nan = m("clone", "namespaces", "net", "total", "ns", &[], f64::NAN);
    let text = render(&[
        no_numbers,
        nan,
        m("footprint", "runc", "run", "rss", "bytes", &[], 2048.0),
    ]);
    assert!(
        text.contains("NO DATA startup process/default ready: no reason recorded"),
        "{text}"
    );
    // A scenario without its own layout is still shown.
    assert!(
        text.contains("footprint:") && text.contains("2 KiB"),
        "{text}"
    );
}

#[test]
fn the_handcrafted_run_fits_a_screen_and_keeps_every_problem() {
    let run = load("handcrafted-run.json");
    let text = render_run(&run);
    // The same three-row verdict as the HTML report's first screen opens the summary.
    let head: Vec<&str> = text.lines().take(5).collect();
    assert!(
        head[0].starts_with("containers vs VMs on this host"),
        "{text}"
    );
    for (line, aspect) in head[1..4].iter().zip(["startup", "memory", "performance"]) {
        assert!(
            line.trim_start().starts_with(aspect) && line.contains('×'),
            "{line}"
        );
    }
    assert!(head[4].contains("QEMU TCG"), "the TCG caveat, once: {text}");
    assert_eq!(text.matches("TCG").count(), 1, "{text}");
    let lines = text.lines().count();
    assert!((20..=70).contains(&lines), "{lines} lines:\n{text}");
    for m in run.measurements.iter().filter(|m| m.status != Status::Ok) {
        let reason = m.reason.as_deref().unwrap_or_default();
        assert!(text.contains(reason), "{reason:?} missing:\n{text}");
    }
    // Every startup subject with a ready figure has a row with a ratio.
    for name in ["process", "runc", "crun", "qemu/microvm [tcg]"] {
        assert!(row(&text, name).contains('×'), "{name}:\n{text}");
    }
    assert!(
        text.contains("throttle:") && text.contains("clone:"),
        "{text}"
    );
}

#[test]
fn the_real_sample_run_is_a_fraction_of_the_full_table() {
    let run = load("sample-run.json");
    let text = render_run(&run);
    let full = table::render(&run.measurements, table::FULL_TABLE_METRICS);
    let (short, long) = (text.lines().count(), full.lines().count());
    assert!(
        short * 2 < long && short <= 40,
        "{short} vs {long} lines:\n{text}"
    );
    let ready = run
        .measurements
        .iter()
        .find(|m| m.subject == "process" && m.metric == "ready")
        .and_then(|m| m.summary)
        .expect("process ready");
    assert!(
        row(&text, "process").contains(&human(ready.p50, "ns")),
        "{text}"
    );
}

//! Golden outputs of the statistics behind `compare`, the run summaries and the headline,
//! recorded with the implementation of 2026-12-01 (full sort of every bootstrap resample)
//! before it was made faster. Any speed-up must reproduce them BIT FOR BIT: every
//! interval end point, p-value, adjusted p-value and verdict. The snapshot holds floats as
//! serde_json writes them (shortest text that parses back to the same f64), so equal
//! text means equal bits; a NaN is written as `null`.
//!
//! Cases: the two real fixture runs against each other with the default options, with 3
//! blocks and Benjamini–Hochberg, with one sample per block (1000 blocks: the ordinary
//! bootstrap and Mann–Whitney on the samples) and no correction; pooled groups; the
//! handcrafted run against the real one; the summary (`stats::summarize`, with its
//! bootstrap CI of the median) of every measurement of the handcrafted run; its
//! headline; and seeded synthetic series of 20 000 samples (a drifting machine,
//! integral nanoseconds with ties), large enough for every fast path of the bootstraps.
//!
//! A missing or different snapshot fails; `UPDATE_GOLDEN=1` rewrites it — only ever do
//! that for an intended change of the statistics, never for a speed-up.

mod common;

use std::path::Path;

use isobench_reports::compare::{self, CompareOptions, Comparison, Correction, Group, Input};
use isobench_reports::report::headline::headline;
use isobench_reports::stats::{self, SplitMix64};
use isobench_reports::Run;
use serde_json::{json, Value};

fn load(name: &str) -> Run {
    let path = if name.starts_with("small-") {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/runs")
            .join(name)
    } else {
        common::fixture(name)
    };
    Run::load(&path).expect("fixture run file loads")
}

/// What a comparison decides, one compact line per measurement: the medians, the
/// change, the CI, the test, its units, p, adjusted p, verdict and note; then the tallies
/// and warnings.
fn decisions(c: &Comparison) -> Vec<Value> {
    let mut out: Vec<Value> = c
        .rows
        .iter()
        .map(|r| {
            let deltas: Vec<Value> = r
                .deltas
                .iter()
                .map(|d| {
                    json!([
                        d.side.median,
                        d.change_pct,
                        d.ratio_ci,
                        d.test,
                        d.units,
                        d.p,
                        d.p_adjusted,
                        d.verdict,
                        d.note
                    ])
                })
                .collect();
            json!([r.identity, r.base.median, deltas])
        })
        .collect();
    out.push(json!({ "tallies": c.tallies, "warnings": c.warnings }));
    out
}

fn compare_pair(a: &Run, b: &Run, opts: &CompareOptions) -> Vec<Value> {
    let c = compare::compare(
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
        opts,
    )
    .expect("compare");
    decisions(&c)
}

/// A drifting, tailed, integral series: `n` samples around `median`.
fn series(seed: u64, n: usize, median: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (0..n)
        .map(|i| {
            let drift = 1.0 + 0.04 * ((i * 7 / n) as f64 - 3.0) / 3.0;
            let body = 1.0 + 0.2 * (unit() + unit() + unit() - 1.5);
            let tail = if unit() < 0.02 { 1.5 + unit() } else { 1.0 };
            (median * drift * body * tail).round()
        })
        .collect()
}

fn golden() -> Value {
    let sample = load("sample-run.json");
    let small = load("small-startup-clone.json");
    let hand = load("handcrafted-run.json");
    // The statistics alone, as recorded before the speed-up: the family rules (which
    // only add judgements on top of the same CIs and p-values) and the block count that
    // grows with the samples are off here and tested in the compare module.
    let default = CompareOptions {
        families: false,
        auto_blocks: false,
        ..CompareOptions::default()
    };
    let three_bh = CompareOptions {
        blocks: 3,
        correction: Correction::Bh,
        ..default
    };
    let iid = CompareOptions {
        blocks: 1000,
        correction: Correction::None,
        ..default
    };
    let pooled = compare::compare_groups(
        &[
            Group {
                origins: vec!["sample.json", "small.json"],
                runs: vec![&sample, &small],
            },
            Group {
                origins: vec!["small.json", "hand.json"],
                runs: vec![&small, &hand],
            },
        ],
        &default,
    )
    .expect("pooled compare");
    let summaries: Vec<Value> = hand
        .measurements
        .iter()
        .map(|m| json!([m.identity(), stats::summarize(&m.samples)]))
        .collect();
    let a = series(1, 20_000, 50_000.0);
    let b = series(2, 20_000, 51_500.0);
    let large = json!({
        "median_ci": stats::median_ci(&a, 0.95),
        "ratio_of_medians_ci": stats::ratio_of_medians_ci(&a, &b, 0.95),
        "block_ci_10": stats::blocks::block_ratio_of_medians_ci(&a, &b, 10, 0.95),
        "block_ci_3": stats::blocks::ratio_of_medians_ci_over_blocks(&stats::blocks::split(&a, 3), &stats::blocks::split(&b, 3), 0.9),
        "block_ci_uneven": stats::blocks::ratio_of_medians_ci_over_blocks(
            &[&a[..7], &a[7..12_000], &a[12_000..]],
            &stats::blocks::split(&b[..9_999], 7),
            0.95,
        ),
        "summary": stats::summarize(&b),
    });
    json!({
        "sample_vs_small_default": compare_pair(&sample, &small, &default),
        "sample_vs_small_3_blocks_bh": compare_pair(&sample, &small, &three_bh),
        "sample_vs_small_iid_none": compare_pair(&sample, &small, &iid),
        "small_vs_sample_default": compare_pair(&small, &sample, &default),
        "sample_vs_handcrafted_default": compare_pair(&sample, &hand, &default),
        "pooled": decisions(&pooled),
        "handcrafted_summaries": summaries,
        "handcrafted_headline": headline(&hand)
            .rows
            .iter()
            .map(|r| json!([r.aspect, r.lighter, r.heavier, r.ratio, r.ci, r.ci_text]))
            .collect::<Vec<_>>(),
        "synthetic_20000": large,
    })
}

/// One line per case name and one compact JSON line per entry of its list, so a
/// difference points at the measurement.
fn render(golden: &Value) -> String {
    let mut out = String::new();
    for (case, v) in golden.as_object().expect("object of cases") {
        out.push_str(case);
        out.push('\n');
        match v {
            Value::Array(items) => {
                for item in items {
                    out.push_str(&format!("  {item}\n"));
                }
            }
            Value::Object(fields) => {
                for (k, item) in fields {
                    out.push_str(&format!("  {k}: {item}\n"));
                }
            }
            other => out.push_str(&format!("  {other}\n")),
        }
    }
    out
}

#[test]
fn statistics_match_the_recorded_outputs_bit_for_bit() {
    let actual = render(&golden());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/compare-golden.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden snapshot");
        eprintln!("golden snapshot {} written", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden snapshot {} unreadable ({e}); it is recorded once with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "statistics differ from the golden snapshot {} at line {}:\n expected: {:?}\n   actual: {:?}",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

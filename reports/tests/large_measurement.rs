//! A report of one measurement with 200 000 samples (issue 13, item 8: 1e5 samples took
//! 23 s, 1e7 did not finish). What made it slow is asserted structurally, not timed:
//! the startup CDF draws at most `MAX_CDF_STEPS` steps per curve (it drew every sample:
//! 2 points each), and the markdown export (whose headline bootstraps the ratio of
//! medians) and the HTML report come out with the large measurement in them. The
//! bootstrap's own bound — random numbers per resample growing with sqrt(n) beyond
//! `stats::bootstrap::LARGE_SAMPLE` — is a unit test of `stats::bootstrap`. Before the
//! fix this file alone took minutes (the summary's and headline's bootstraps sorted
//! every resample of 200 000 values).

mod common;

use std::collections::BTreeMap;

use isobench_reports::chart::{self, MAX_CDF_STEPS};
use isobench_reports::export::ExportFormat;
use isobench_reports::model::{Measurement, MeasurementKey};
use isobench_reports::report::{self, Input};
use isobench_reports::stats::SplitMix64;

const N: usize = 200_000;

// The bound the test relies on lies far below the samples drawn.
const _: () = assert!(MAX_CDF_STEPS <= 5_000);

/// The handcrafted run with `startup/process/default/ready` replaced by N samples.
fn large_run() -> isobench_reports::Run {
    let mut run = common::input("handcrafted-run.json").run;
    let mut rng = SplitMix64::new(13);
    let samples: Vec<f64> = (0..N)
        .map(|_| (1.1e6 * (0.3 * (rng.uniform() + rng.uniform() - 1.0)).exp()).round())
        .collect();
    let m = run
        .measurements
        .iter_mut()
        .find(|m| m.identity() == "startup/process/default/ready")
        .expect("the fixture measures process startup");
    *m = Measurement::from_samples(
        MeasurementKey::new("startup", "process", "default", "ready"),
        "ns",
        BTreeMap::new(),
        samples,
    );
    run
}

/// Point counts of every `<polyline>` in `svg`.
fn polyline_points(svg: &str) -> Vec<usize> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| {
            let pts = p.split("points=\"").nth(1)?;
            Some(pts.split('"').next()?.split_whitespace().count())
        })
        .collect()
}

#[test]
fn a_large_measurement_is_drawn_and_summarised_in_bounded_work() {
    let run = large_run();
    let (charts, errors) = chart::all(&run);
    assert!(errors.is_empty(), "{errors:?}");
    let startup = charts
        .iter()
        .find(|c| c.id == "startup")
        .expect("a startup chart");
    let longest = polyline_points(&startup.svg).into_iter().max().unwrap_or(0);
    assert!(
        longest <= 2 * MAX_CDF_STEPS,
        "a CDF curve of {N} samples draws {longest} points"
    );
    assert!(
        startup.svg.contains(&format!("n={N}")),
        "legend names the n"
    );

    let md = String::from_utf8(
        ExportFormat::Markdown
            .exporter()
            .serialize(&run)
            .expect("markdown"),
    )
    .expect("utf-8");
    assert!(
        md.contains(&format!("| {N} |")),
        "the key numbers list n = {N}"
    );
    assert!(
        md.contains("| startup | process"),
        "the headline compares process startup"
    );

    let html = report::html(&[Input {
        name: "large.json".into(),
        run,
    }])
    .expect("report");
    let longest = polyline_points(&html).into_iter().max().unwrap_or(0);
    assert!(
        longest <= 2 * MAX_CDF_STEPS,
        "{longest} points in the report"
    );
}

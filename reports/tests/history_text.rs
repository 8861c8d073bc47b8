//! What `isobench history` prints, rendered from a history of the fixture run files: the
//! list, a trend, and a nightly check as text and as Markdown, against snapshots. The
//! snapshots are byte-for-byte what `isobench history` printed before this rendering moved
//! out of the runner's command code (with the run path given relative to the workspace).

mod common;

use std::path::Path;

use isobench_reports::history::{self, markdown, table, CheckOptions, History};
use isobench_reports::Run;

/// The fixture runs in the order they were recorded for the snapshots (ids 1, 2, 3).
const RUNS: [&str; 3] = [
    "fixtures/results/handcrafted-run.json",
    "fixtures/results/sample-run.json",
    "fixtures/runs/small-startup-clone.json",
];

fn load(rel: &str) -> Run {
    Run::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel))
        .expect("fixture run file loads")
}

fn recorded() -> History {
    let mut h = History::in_memory().expect("in-memory history");
    for rel in RUNS {
        h.record(&load(rel)).expect("record fixture run");
    }
    h
}

#[test]
fn list_of_recorded_runs() {
    let h = recorded();
    let runs = h.list(20).expect("list");
    common::snapshot(
        "history-list.txt",
        &table::list(&runs, Path::new("hist.sqlite")),
    );
    let empty = History::in_memory().expect("in-memory history");
    assert_eq!(
        table::list(&empty.list(20).expect("list"), Path::new("empty.sqlite")),
        "   id  started                         kernel                    host           cpus  meas  tool\n\
         (no runs recorded in empty.sqlite)\n"
    );
}

#[test]
fn trend_of_one_metric() {
    let h = recorded();
    let metric = "startup/process/default/ready";
    let s = h.series(metric, 30, None, None).expect("series");
    assert_eq!(s.len(), 3);
    common::snapshot("history-trend.txt", &table::trend(metric, &s));
}

#[test]
fn check_as_text_and_markdown() {
    let h = recorded();
    let rel = RUNS[1];
    let opts = CheckOptions {
        min_runs: 1,
        any_host: true,
        ..CheckOptions::default()
    };
    let rep = history::check(&h, &load(rel), &opts).expect("check");
    common::snapshot("history-check.txt", &table::check(&rep, Path::new(rel)));
    common::snapshot("history-check.md", &markdown::check(&rep, Path::new(rel)));
}

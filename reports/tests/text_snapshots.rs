//! The terminal views (`text::summary`, `text::table`) of every fixture run file against
//! their snapshots. The snapshots were captured from `isobench report FILE --summary` and
//! `--table` before the renderers moved from the runner into this crate, so this test is
//! what says the move (and any later refactoring) left the output byte-for-byte the same.

mod common;

use std::path::{Path, PathBuf};

use isobench_reports::text::{summary, table};
use isobench_reports::Run;

/// Every run file under `fixtures/results/` and `fixtures/runs/`, sorted: a fixture added
/// later is covered too (and fails until its snapshots are written).
fn fixture_runs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut files: Vec<PathBuf> = ["results", "runs"]
        .iter()
        .flat_map(|dir| {
            let dir = root.join(dir);
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
                .map(|entry| entry.expect("directory entry").path())
        })
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("fixture file name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fixture_run_is_covered_once() {
    let runs = fixture_runs();
    assert!(runs.len() >= 3, "fixture run files: {runs:?}");
    let mut stems: Vec<String> = runs.iter().map(|p| stem(p)).collect();
    stems.sort();
    stems.dedup();
    assert_eq!(stems.len(), runs.len(), "snapshot names collide: {runs:?}");
}

#[test]
fn summary_of_every_fixture_run_matches_its_snapshot() {
    for path in fixture_runs() {
        let run = Run::load(&path).expect("fixture run file loads");
        common::snapshot(
            &format!("{}.summary.txt", stem(&path)),
            &summary::render_run(&run),
        );
    }
}

#[test]
fn full_table_of_every_fixture_run_matches_its_snapshot() {
    for path in fixture_runs() {
        let run = Run::load(&path).expect("fixture run file loads");
        common::snapshot(
            &format!("{}.table.txt", stem(&path)),
            &table::render(&run.measurements, table::FULL_TABLE_METRICS),
        );
    }
}

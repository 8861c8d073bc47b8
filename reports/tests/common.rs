//! Shared by the report tests: the fixtures and the snapshot helper.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use isobench_reports::report::Input;
use isobench_reports::Run;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/results")
        .join(name)
}

/// A fixture run file as a report input.
pub fn input(name: &str) -> Input {
    let run = Run::load(&fixture(name)).expect("fixture run file loads");
    Input {
        name: name.to_string(),
        run,
    }
}

/// Compare `actual` with `tests/snapshots/<name>`.
///
/// `UPDATE_SNAPSHOTS=1` (`UPDATE_SNAPSHOTS=1 cargo test -p isobench-reports`) writes
/// `actual` as the snapshot instead, creating it when missing; review the diff before
/// committing it. Without it a missing snapshot is a failure, not a silent first write: a
/// snapshot that was never committed (or a renamed fixture) must not turn the test into
/// one that cannot fail.
pub fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, actual)
            .unwrap_or_else(|e| panic!("write snapshot {}: {e}", path.display()));
        eprintln!("snapshot {} written", path.display());
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!(
            "snapshot {} cannot be read ({e}); if it is new, write it with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        ),
    };
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs at line {}:\n expected: {:?}\n   actual: {:?}\n(run with UPDATE_SNAPSHOTS=1 to accept)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

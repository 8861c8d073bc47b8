//! Concurrent writers of one history database (issue 13 item 9): eight `isobench history
//! DB record` processes started at once, on a fresh database (all of them migrate it) and
//! then on an existing one, must all succeed; SQLite's busy timeout only helps writers
//! that take the write lock before they read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WRITERS: usize = 8;

fn fixture() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/results/handcrafted-run.json");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    serde_json::from_slice(&bytes).expect("fixture is JSON")
}

/// `WRITERS` distinct runs (their start times differ) of the fixture, written to `dir`.
fn runs(dir: &Path, round: usize) -> Vec<PathBuf> {
    let base = fixture();
    (0..WRITERS)
        .map(|i| {
            let mut v = base.clone();
            v["started_at"] = format!("2026-02-{:02}T00:00:{i:02}Z", round + 1).into();
            let p = dir.join(format!("run-{round}-{i}.json"));
            std::fs::write(&p, serde_json::to_vec(&v).expect("serialise")).expect("write run");
            p
        })
        .collect()
}

/// Start one `history record` per run at once; the failures, with their stderr.
fn record_all(db: &Path, runs: &[PathBuf]) -> Vec<String> {
    let children: Vec<_> = runs
        .iter()
        .map(|r| {
            Command::new(env!("CARGO_BIN_EXE_isobench"))
                .arg("history")
                .arg(db)
                .arg("record")
                .arg(r)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start isobench")
        })
        .collect();
    children
        .into_iter()
        .zip(runs)
        .filter_map(|(c, r)| {
            let out = c.wait_with_output().expect("wait for isobench");
            (!out.status.success()).then(|| {
                format!(
                    "{}: {:?}: {}",
                    r.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            })
        })
        .collect()
}

fn recorded(db: &Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_isobench"))
        .arg("history")
        .arg(db)
        .args(["list", "--limit", "1000", "--json"])
        .output()
        .expect("history list");
    assert!(out.status.success(), "history list: {out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list json");
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn eight_writers_at_once_all_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("history.sqlite");
    let mut failed = Vec::new();
    let rounds = 4;
    for round in 0..rounds {
        // Round 0 races on creating the schema; the others on recording.
        failed.extend(record_all(&db, &runs(dir.path(), round)));
    }
    assert!(
        failed.is_empty(),
        "{} of {} concurrent records failed:\n{}",
        failed.len(),
        WRITERS * rounds,
        failed.join("\n")
    );
    assert_eq!(recorded(&db), WRITERS * rounds);
}

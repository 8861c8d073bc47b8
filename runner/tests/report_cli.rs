//! `isobench report`, `isobench export` and the after-run hook, driven through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/results")
        .join(name)
}

fn isobench() -> Command {
    Command::cargo_bin("isobench").expect("isobench binary")
}

#[test]
fn export_formats_to_stdout_and_file() {
    let f = fixture("handcrafted-run.json");
    let out = isobench()
        .args(["export"])
        .arg(&f)
        .args(["--format", "bmf"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bmf json");
    assert!(v.is_object());
    let out = isobench()
        .args(["export"])
        .arg(&f)
        .args(["--format", "gab"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("gab json");
    assert!(v.is_array());
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("x.csv");
    isobench()
        .args(["export"])
        .arg(&f)
        .args(["--format", "csv", "-o"])
        .arg(&csv)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&csv)
        .expect("csv")
        .starts_with("scenario,subject,"));
    let out = isobench()
        .args(["export"])
        .arg(&f)
        .args(["--format", "markdown"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("### Headline"));
}

#[test]
fn report_of_a_missing_or_foreign_file_fails_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.json");
    std::fs::write(&bogus, br#"{"schema":"other/v9"}"#).expect("write");
    let out = isobench().arg("report").arg(&bogus).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bogus.json") && err.contains("other/v9"),
        "{err}"
    );
}

#[test]
fn report_defaults_to_html_beside_a_single_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("r.json");
    std::fs::copy(fixture("sample-run.json"), &run).expect("copy");
    let out = isobench().arg("report").arg(&run).output().expect("run");
    assert!(out.status.success());
    let html = dir.path().join("r.html");
    assert!(String::from_utf8_lossy(&out.stdout).contains("r.html"));
    let text = std::fs::read_to_string(&html).expect("r.html written");
    assert!(text.starts_with("<!DOCTYPE html>"));
}

#[test]
fn run_writes_its_html_report_beside_the_json() {
    // The process subject needs no privilege: fork/exec of the probe.
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("quick.json");
    let out = isobench()
        .args([
            "run",
            "--scenario",
            "startup",
            "--subject",
            "process",
            "--quick",
            "--iterations",
            "3",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", dir.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "isobench run of the process subject failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = dir.path().join("quick.html");
    assert!(html.exists(), "no report beside the run file");
    assert!(String::from_utf8_lossy(&out.stdout).contains("report: "));
    let text = std::fs::read_to_string(&html).expect("read html");
    assert!(
        text.contains("id=\"run1-startup\""),
        "startup chart missing"
    );
}

#[test]
fn report_prints_the_full_table_or_the_summary_of_a_run_file() {
    let f = fixture("handcrafted-run.json");
    let report = |view: &str| {
        let out = isobench()
            .arg("report")
            .arg(&f)
            .arg(view)
            .output()
            .expect("run");
        assert!(out.status.success(), "{view}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = report("--table");
    assert!(table.starts_with("scenario  subject"), "{table}");
    assert!(
        table.contains("95% CI of p50") && table.contains("SKIPPED startup docker/default ready"),
        "{table}"
    );
    let summary = report("--summary");
    // The verdict (containers vs VMs, three rows) first, then the scenario sections.
    assert!(
        summary.starts_with("containers vs VMs on this host") && summary.contains("\n\nstartup: "),
        "{summary}"
    );
    assert!(
        summary.lines().count() * 2 < table.lines().count(),
        "{summary}"
    );
    assert!(
        summary.contains("FAILED  startup podman/default ready"),
        "{summary}"
    );
    // Neither writes HTML; asking for both, or for an HTML file too, is a usage error.
    assert!(!f.with_extension("html").exists());
    for extra in [&["--summary"][..], &["-o", "x.html"][..]] {
        let out = isobench()
            .arg("report")
            .arg(&f)
            .arg("--table")
            .args(extra)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {out:?}");
    }
}

#[test]
fn run_ends_with_the_summary_or_with_the_full_table() {
    // The process subject needs no privilege: fork/exec of the probe.
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |json: &str, extra: &[&str]| {
        isobench()
            .args([
                "run",
                "--scenario",
                "startup",
                "--subject",
                "process",
                "--iterations",
                "3",
                "--warmup",
                "0",
                "--no-progress",
                "--json",
            ])
            .arg(dir.path().join(json))
            .args(extra)
            .env("ISOBENCH_WORKDIR", dir.path())
            .output()
            .expect("run")
    };
    let out = run("summary.json", &[]);
    assert!(
        out.status.success(),
        "isobench run of the process subject failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A process alone: the verdict says in one line that nothing compares, then startup.
    assert!(
        stdout.starts_with("containers vs VMs on this host: not measured")
            && stdout.contains("\n\nstartup: "),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("process ") && l.contains("×1.00")),
        "{stdout}"
    );
    let hint = format!(
        "full table: isobench report {} --table",
        dir.path().join("summary.json").display()
    );
    assert!(stdout.contains(&hint), "{stdout}");
    let out = run("table.json", &["--full-table"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("scenario  subject"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l
            .split_whitespace()
            .take(4)
            .eq(["startup", "process", "default", "ready"])),
        "{stdout}"
    );
    assert!(!stdout.contains("full table:"), "{stdout}");
}

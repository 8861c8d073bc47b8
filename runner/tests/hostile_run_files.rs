//! Hostile run files through the binary: every text output of `report`, `compare`,
//! `export` and `history` escapes control and bidi characters from the file (issue 13
//! item 7); `history check` of a 70,000-character case name prints a bounded table, not a
//! panic (item 10); a FIFO or a character device given as a run file or a history input
//! is refused at once, naming it (item 5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use isobench_reports::model::{Measurement, MeasurementKey, Status};
use isobench_reports::terminal::has_unprintable;
use isobench_reports::{Host, Run, RUN_SCHEMA};

/// Retitles the terminal, rings, overwrites the line, clears the screen (C1 CSI), and
/// reverses the text after it.
const EVIL: &str = "x\x1b]0;owned\x07\r\0\u{9b}2J\u{202e}desserger\u{2066}\u{200f}\u{7f}";

/// The binary, with a deadline and, through the shell, a 2 GiB address-space limit: a
/// regression that reads /dev/zero without end fails here instead of eating the machine.
fn isobench(args: &[&std::ffi::OsStr]) -> Output {
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", "ulimit -v 2097152 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_isobench"))
        .args(args);
    assert_cmd::Command::from_std(sh)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run isobench")
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn run_with(case: &str, text: &str, started_at: &str) -> Run {
    let labels: BTreeMap<String, String> = [(format!("k{text}"), format!("v{text}"))]
        .into_iter()
        .collect();
    let samples: Vec<f64> = (0..40).map(|i| 1000.0 + f64::from(i % 7)).collect();
    let mut ok = Measurement::from_samples(
        MeasurementKey::new("startup", &format!("process{text}"), case, "ready"),
        "ns",
        labels.clone(),
        samples,
    );
    ok.reason = Some(format!("pinned{text}"));
    let skipped = Measurement::not_ok(
        MeasurementKey::new("startup", "qemu", &format!("c{text}"), "ready"),
        "ns",
        Status::Skipped,
        format!("no KVM{text}"),
    )
    .with_labels(labels);
    Run {
        schema: RUN_SCHEMA.into(),
        started_at: started_at.into(),
        finished_at: None,
        tool: isobench_reports::Tool {
            name: "isobench".into(),
            version: format!("0.1{text}"),
            git: Some(format!("g{text}")),
        },
        host: Host {
            hostname: format!("host{text}"),
            kernel: format!("6.1{text}"),
            os: format!("os{text}"),
            cpu_model: format!("cpu{text}"),
            cpus: 2,
            ..Host::default()
        },
        config: serde_json::Value::Null,
        interrupted: false,
        subjects: Default::default(),
        time_spent: Vec::new(),
        measurements: vec![ok, skipped],
    }
}

fn write(dir: &Path, name: &str, run: &Run) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(run).expect("serialise")).expect("write run file");
    p
}

/// Output streams of `args` that hold a raw control or bidi character (line breaks the
/// renderer writes, CRLF of CSV rows included, aside).
fn leaks(what: &str, out: &Output) -> Vec<String> {
    let mut bad = Vec::new();
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if has_unprintable(&text.replace("\r\n", "\n").replace('\n', "")) {
            eprintln!("{what} {stream}:\n{text:?}");
            bad.push(format!("{what} ({stream})"));
        }
    }
    bad
}

#[test]
fn hostile_text_reaches_no_terminal_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = write(
        d,
        "run.json",
        &run_with(&format!("case{EVIL}"), EVIL, "2026-01-02T00:00:00Z"),
    );
    let db = d.join("h.sqlite");
    let dbs = db.to_str().expect("utf-8 temp path");
    let runs = run.to_str().expect("utf-8 temp path");
    let out = isobench(&[os("history"), os(dbs), os("record"), os(runs)]);
    assert!(out.status.success(), "record: {out:?}");
    let mut leaked = Vec::new();
    for args in [
        vec!["report", runs, "--table"],
        vec!["report", runs, "--summary"],
        vec!["compare", runs, runs],
        vec!["compare", runs, runs, "--format", "markdown"],
        vec!["export", runs, "--format", "markdown"],
        vec!["export", runs, "--format", "csv"],
        vec!["history", dbs, "list"],
        vec!["history", dbs, "check", runs, "--min-runs", "0"],
        vec![
            "history",
            dbs,
            "check",
            runs,
            "--min-runs",
            "0",
            "--format",
            "markdown",
        ],
    ] {
        let argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| os(a)).collect();
        let out = isobench(&argv);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?} did not exit 0 or 1: {out:?}"
        );
        leaked.extend(leaks(&args.join(" "), &out));
    }
    // A field serde quotes in its error message (an unknown status) is escaped there too.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run).expect("read")).expect("json");
    v["measurements"][0]["status"] = serde_json::Value::from(EVIL);
    let bad = d.join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&v).expect("ser")).expect("write");
    let out = isobench(&[os("report"), bad.as_os_str(), os("--table")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    leaked.extend(leaks("report of an unknown status", &out));
    assert!(leaked.is_empty(), "raw controls in: {leaked:?}");
}

#[test]
fn history_check_of_a_huge_case_name_is_bounded_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let huge = "n".repeat(70_000);
    let db = d.join("h.sqlite");
    let mut last = PathBuf::new();
    for night in 1..=4 {
        last = write(
            d,
            &format!("night{night}.json"),
            &run_with(&huge, "", &format!("2026-01-0{night}T00:00:00Z")),
        );
        let out = isobench(&[
            os("history"),
            db.as_os_str(),
            os("record"),
            last.as_os_str(),
        ]);
        assert!(out.status.success(), "record: {out:?}");
    }
    for format in ["table", "markdown"] {
        let out = isobench(&[
            os("history"),
            db.as_os_str(),
            os("check"),
            last.as_os_str(),
            os("--format"),
            os(format),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some_and(|c| c <= 1) && !stderr.contains("panicked"),
            "history check --format {format} failed: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains('…'), "the name is not cut: {stdout:.300}");
        let widest = stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest < 400, "a {widest}-character line");
    }
    // The comparison table bounds it as well.
    let out = isobench(&[os("compare"), last.as_os_str(), last.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let widest = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest < 400, "compare printed a {widest}-character line");
}

#[test]
fn fifos_and_devices_are_refused_by_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let fifo = d.join("fifo.json");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) is needed to make the FIFO");
    assert!(st.success(), "mkfifo {} failed", fifo.display());
    let good = write(
        d,
        "good.json",
        &run_with("default", "", "2026-01-01T00:00:00Z"),
    );
    let db = d.join("h.sqlite");
    let html = d.join("r.html");
    let out = isobench(&[
        os("history"),
        db.as_os_str(),
        os("record"),
        good.as_os_str(),
    ]);
    assert!(out.status.success(), "record: {out:?}");
    for (bad, kind) in [
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/zero"), "a character device"),
        (Path::new("/dev/urandom"), "a character device"),
    ] {
        let b = bad.as_os_str();
        for args in [
            vec![os("report"), b, os("--table")],
            vec![os("report"), b, os("-o"), html.as_os_str()],
            vec![os("compare"), good.as_os_str(), b],
            vec![os("export"), b, os("--format"), os("csv")],
            vec![os("history"), db.as_os_str(), os("check"), b],
            vec![os("history"), db.as_os_str(), os("record"), b],
            // The database itself.
            vec![os("history"), b, os("list")],
            vec![os("history"), b, os("record"), good.as_os_str()],
        ] {
            let out = isobench(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code() == Some(1)
                    && stderr.contains(&bad.display().to_string())
                    && stderr.contains(kind),
                "{args:?}: expected exit 1 naming {} as {kind}, got {:?}: {stderr}",
                bad.display(),
                out.status
            );
        }
    }
}

#[test]
fn absurd_magnitudes_print_bounded_in_every_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let db = d.join("h.sqlite");
    let mut last = PathBuf::new();
    // 10^140 ns: finite, consistent, and absurd; larger values overflow the stddev and
    // are refused on load.
    for night in 1..=4 {
        let mut run = run_with("default", "", &format!("2026-01-0{night}T00:00:00Z"));
        let m = &mut run.measurements[0];
        let scale = if night == 4 { 1e140 } else { 1.0 };
        m.samples = m.samples.iter().map(|x| x * scale).collect();
        m.summary = isobench_reports::stats::summarize(&m.samples);
        last = write(d, &format!("night{night}.json"), &run);
        let out = isobench(&[
            os("history"),
            db.as_os_str(),
            os("record"),
            last.as_os_str(),
        ]);
        assert!(out.status.success(), "record: {out:?}");
    }
    let first = d.join("night1.json");
    let mut wide = Vec::new();
    for args in [
        vec![os("report"), last.as_os_str(), os("--table")],
        vec![os("report"), last.as_os_str(), os("--summary")],
        vec![os("compare"), first.as_os_str(), last.as_os_str()],
        vec![os("history"), db.as_os_str(), os("check"), last.as_os_str()],
    ] {
        let out = isobench(&args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {out:?}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        if widest >= 300 {
            eprintln!("{args:?}:\n{text}");
            wide.push(format!("{args:?}: {widest} characters"));
        }
    }
    assert!(wide.is_empty(), "unbounded numbers: {wide:?}");
}

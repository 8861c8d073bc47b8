//! Issue 13, item 14: the disk holding the run file fills up during a run. What was
//! measured must still reach the user (printed), the exit status must say it failed and
//! name the file, and the file, if it can still be written at all, must say the run was
//! cut short. The "disk" is a 64 KiB tmpfs the test mounts (and unmounts on every path).

use std::path::PathBuf;
use std::process::Command;

use isobench_reports::Run;

mod common;
use common::hostile::TestMount;

#[test]
fn a_full_disk_prints_the_results_and_names_the_run_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let full = match TestMount::sized(&tmp.path().join("full"), "64k") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipping: no small file system to fill: {why}");
            return;
        }
    };
    let json = full.0.join("run.json");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    // The first write (host, config: ~5 KB) fits; 2000 samples per metric do not.
    let out = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_isobench")))
        .args(["run", "--scenario", "startup", "--subject", "process"])
        .args([
            "--iterations",
            "2000",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", &work)
        .env("ISOBENCH_JOURNAL_DIR", tmp.path().join("journal"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&json.display().to_string()) && stderr.contains("No space left"),
        "the error names the file and why: {stderr}"
    );
    assert!(
        stdout.contains("process") && stdout.contains("ready p50"),
        "what was measured is printed: {stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("run file: "),
        "no run file is announced: {stdout}"
    );
    if json.exists() {
        let run = Run::load(&json).expect("the file left is a valid run file");
        assert!(run.interrupted, "the file left says the run was cut short");
    }
    assert!(std::fs::read_dir(&work).expect("work").next().is_none());
}

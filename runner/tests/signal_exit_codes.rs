//! The exit code names the signal that stopped a run (README: 130 SIGINT, 143 SIGTERM,
//! 129 SIGHUP), whichever scenario was running: the scenarios used to record a generic
//! "signal", which the command line mapped to 130.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// Start a long run of `scenario` over the process subject, send `sig` once it measures,
/// and return (exit code, the run file's `interrupted`).
fn interrupt(scenario: &str, sig: i32) -> (Option<i32>, bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let json = tmp.path().join("run.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_isobench"))
        .args(["run", "--scenario", scenario, "--subject", "process"])
        .args(["--iterations", "100000", "--no-progress", "--json"])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", &work)
        .env("ISOBENCH_JOURNAL_DIR", tmp.path().join("journal"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn isobench");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The run file is first written before any scenario starts.
    while !json.exists() {
        assert!(Instant::now() < deadline, "no run file within 60 s");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    isobench::sys::process::kill(child.id() as i32, sig).expect("kill");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("isobench did not stop within 60 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("run file")).expect("json");
    (status.code(), run["interrupted"] == true)
}

#[test]
fn sigterm_during_startup_exits_143() {
    assert_eq!(interrupt("startup", libc::SIGTERM), (Some(143), true));
}

#[test]
fn sighup_during_throttle_exits_129() {
    if !common::is_root() {
        eprintln!("skipping: the throttle scenario's cgroups need root");
        return;
    }
    assert_eq!(interrupt("throttle", libc::SIGHUP), (Some(129), true));
}

//! The `throttle` scenario for containers, through the real binary: one quota point for
//! `sandbox` and `runc` must give a CPU share near the quota (a loose band: the host is
//! shared, timing is never asserted tightly), throttling counters, an OOM-killed memory
//! point, ONE skipped line for `bwrap` (no cgroups), and leave no cgroup or container
//! state behind. A subject that cannot run here is skipped with its printed reason (the
//! run's own `available()` probe, reported as `status: skipped`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// The quota of the point, in % of one CPU.
const QUOTA: f64 = 50.0;

fn run_isobench(workdir: &Path, json: &Path) -> (u32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("isobench"))
        .args([
            "run",
            "--scenario",
            "throttle",
            "--subject",
            "sandbox,runc,bwrap",
            "--quotas",
            &QUOTA.to_string(),
            "--throttle-window-ms",
            "1000",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(json)
        .env("ISOBENCH_WORKDIR", workdir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let pid = child.id();
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(240));
    assert!(status.success(), "{stderr}");
    (pid, stderr)
}

/// The measurement of subject/case/metric, if any.
fn find<'a>(ms: &'a [Value], subject: &str, case: &str, metric: &str) -> Option<&'a Value> {
    ms.iter()
        .find(|m| m["subject"] == subject && m["case"] == case && m["metric"] == metric)
}

fn check_subject(ms: &[Value], subject: &str) {
    if let Some(skip) = find(ms, subject, "*", "cpu_share") {
        eprintln!(
            "skipping {subject}: {}",
            skip["reason"].as_str().unwrap_or("(no reason)")
        );
        assert_eq!(skip["status"], "skipped", "{skip}");
        return;
    }
    let case = format!("{QUOTA}%");
    let share = find(ms, subject, &case, "cpu_share")
        .unwrap_or_else(|| panic!("no {subject}/{case}/cpu_share in {ms:?}"));
    assert_eq!(share["status"], "ok", "{share}");
    let p50 = share["summary"]["p50"].as_f64().expect("p50");
    let quota = QUOTA / 100.0;
    assert!(
        (0.5 * quota..=1.5 * quota).contains(&p50),
        "{subject}: cpu_share {p50} is not within 0.5x-1.5x of the quota {quota}"
    );
    let throttled = find(ms, subject, &case, "nr_throttled").expect("nr_throttled");
    assert!(
        throttled["summary"]["max"].as_f64() > Some(0.0),
        "{subject}: never throttled at {case}: {throttled}"
    );
    let unlimited = find(ms, subject, "unlimited", "cpu_share").expect("unlimited");
    assert_eq!(unlimited["status"], "ok", "{unlimited}");
    let oom = find(ms, subject, "oom", "oom_kill").expect("oom_kill");
    assert_eq!(oom["status"], "ok", "{oom}");
    assert!(
        oom["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("oom-killed after")),
        "{subject}: {oom}"
    );
}

#[test]
fn sandbox_and_runc_are_throttled_bwrap_skips_once_nothing_is_left() {
    if let Some(why) = common::cgroups_usable("sweep") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let json = tmp.path().join("run.json");
    let (pid, stderr) = run_isobench(tmp.path(), &json);
    let run: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");

    check_subject(ms, "sandbox");
    check_subject(ms, "runc");

    // bwrap: exactly one line for the whole scenario.
    let bwrap: Vec<&Value> = ms.iter().filter(|m| m["subject"] == "bwrap").collect();
    assert_eq!(bwrap.len(), 1, "{bwrap:?}");
    assert_eq!(bwrap[0]["status"], "skipped");
    assert_eq!(bwrap[0]["case"], "*");
    if bwrap[0]["reason"]
        .as_str()
        .is_some_and(|r| !r.contains("not installed"))
    {
        assert!(
            bwrap[0]["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("bubblewrap does not use cgroups")),
            "{}",
            bwrap[0]
        );
    }

    // Nothing left: the run's cgroups (process-layer, sandbox and runtime parents all
    // carry its pid) and no runc container state.
    let mut left = common::cgroup_dirs_containing(&format!("isobench-{pid}-"));
    left.extend(common::cgroup_dirs_containing(&format!(
        "isobench-sandbox-{pid}-"
    )));
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");
    let state = std::fs::read_dir(tmp.path())
        .expect("workdir")
        .flatten()
        .flat_map(|run| {
            std::fs::read_dir(run.path().join("runc-state"))
                .into_iter()
                .flatten()
        })
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect::<Vec<_>>();
    assert!(state.is_empty(), "runc state left: {state:?}");
}

#[test]
fn sigint_during_a_limited_container_leaves_nothing() {
    if let Some(why) = common::cgroups_usable("sigint") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    if isobench::subprocess::which("runc").is_none() {
        eprintln!("skipping: runc is not installed");
        return;
    }
    let with_docker = common::engine_usable("docker");
    if !with_docker {
        eprintln!("note: docker does not answer here; interrupting a runc container");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let subjects = if with_docker { "docker" } else { "runc" };
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("isobench"))
        .args(["run", "--scenario", "throttle", "--subject", subjects])
        .args(["--quotas", "30", "--throttle-window-ms", "3000"])
        .args(["--iterations", "3", "--no-progress", "--json"])
        .arg(tmp.path().join("run.json"))
        .env("ISOBENCH_WORKDIR", &work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let pid = child.id();
    // A limited container is in flight: docker's --cidfile, or runc's pid file.
    let marker = if with_docker { ".cid" } else { "container.pid" };
    let deadline = Instant::now() + Duration::from_secs(180);
    while !common::has_entry(&work, &|n| n.ends_with(marker)) {
        assert!(Instant::now() < deadline, "no launch started within 180 s");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "isobench exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "isobench exited before the interrupt"
    );
    isobench::sys::process::kill(pid as i32, libc::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");

    let left = common::cgroup_dirs_containing(&format!("isobench-{pid}-"));
    assert!(left.is_empty(), "cgroups left: {left:?}");
    if with_docker {
        let mine = common::labelled_containers("docker", &format!("isobench-{pid}-"));
        assert!(mine.is_empty(), "containers left: {mine:?}");
    }
}

/// podman's monitor (conmon) writes a file named `oom` into its working directory when
/// the container is OOM-killed; a run must not leave it in the user's directory (it did,
/// in the directory `isobench run` was started from, until the engine's commands got the
/// run's work directory as their cwd).
#[test]
fn podman_oom_point_writes_nothing_into_the_working_directory() {
    if let Some(why) = common::cgroups_usable("podman-oom") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    if !common::engine_usable("podman") {
        eprintln!("skipping: podman is not installed or does not answer (podman info)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (cwd, work) = (tmp.path().join("cwd"), tmp.path().join("work"));
    std::fs::create_dir_all(&cwd).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    let json = tmp.path().join("run.json");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("isobench"))
        .args(["run", "--scenario", "throttle", "--subject", "podman"])
        .args(["--quotas", "50", "--throttle-window-ms", "500"])
        .args([
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", &work)
        .current_dir(&cwd)
        .output()
        .expect("run isobench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");
    let oom = find(ms, "podman", "oom", "oom_kill").expect("oom_kill");
    assert_eq!(oom["status"], "ok", "{oom}");
    let left: Vec<_> = std::fs::read_dir(&cwd)
        .expect("cwd")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the run wrote into its cwd: {left:?}");
}

//! The `throttle` scenario end to end through the real binary: a short sweep (one quota,
//! one round) must produce CPU-share and throttling measurements, an OOM-killed memory
//! point, and leave no cgroup behind. Skips with the reason when cgroups cannot be
//! created here (capability probe).

mod common;

#[test]
fn short_sweep_measures_throttling_and_oom_and_cleans_up() {
    if let Some(why) = common::cgroups_usable("cli") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let json = tmp.path().join("run.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("isobench"))
        .args([
            "run",
            "--scenario",
            "throttle",
            "--subject",
            "process",
            "--quotas",
            "20",
            "--period-ms",
            "50",
            "--throttle-window-ms",
            "500",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let pid = child.id();
    let (status, stderr) = common::wait_run(&mut child, std::time::Duration::from_secs(120));
    assert!(status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");
    let find = |case: &str, metric: &str| {
        ms.iter()
            .find(|m| m["case"] == case && m["metric"] == metric)
            .unwrap_or_else(|| panic!("no {case}/{metric} in {ms:?}"))
    };
    for metric in [
        "cpu_share",
        "throughput",
        "latency",
        "nr_throttled",
        "throttled_time",
    ] {
        assert_eq!(find("20%", metric)["status"], "ok", "{metric}");
    }
    assert!(find("20%", "nr_throttled")["summary"]["max"].as_f64() > Some(0.0));
    assert_eq!(find("unlimited", "cpu_share")["status"], "ok");
    let oom = find("oom", "oom_kill");
    assert_eq!(oom["status"], "ok", "{oom}");
    assert!(
        oom["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("oom-killed after")),
        "{oom}"
    );
    // No cgroup of that run is left: its cgroups are named isobench-<pid>-...
    let left = common::cgroup_dirs_containing(&format!("isobench-{pid}-"));
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");
}

//! Ctrl-C in the middle of container launches: the real `isobench run` binary gets
//! SIGINT while runc containers (and docker ones, when docker works here) are in flight,
//! and must leave no container, cgroup, bundle, image or journal behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

#[test]
fn sigint_during_container_launches_leaves_nothing() {
    if isobench::subprocess::which("runc").is_none() {
        eprintln!("skipping: runc is not installed");
        return;
    }
    if !common::is_root() {
        eprintln!("skipping: runc containers with cgroups need root");
        return;
    }
    let with_docker = common::engine_usable("docker");
    if !with_docker {
        eprintln!("note: docker does not answer here; testing runc only");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let journal = tmp.path().join("journal");
    std::fs::create_dir_all(&work).expect("mkdir");
    let subjects = if with_docker { "runc,docker" } else { "runc" };
    let mut child = Command::new(env!("CARGO_BIN_EXE_isobench"))
        .args(["run", "--scenario", "startup", "--subject", subjects])
        .args(["--iterations", "200", "--no-progress", "--json"])
        .arg(tmp.path().join("run.json"))
        .env("ISOBENCH_WORKDIR", &work)
        .env("ISOBENCH_JOURNAL_DIR", &journal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    // Wait until a runc container is in flight (a bundle exists), then interrupt.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !common::has_entry(&work, &|n| n.starts_with("isobench-"))
        || !common::has_entry(&work, &|n| n.starts_with("runc-bundles"))
    {
        assert!(Instant::now() < deadline, "no launch started within 120 s");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "isobench exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let run_dir = std::fs::read_dir(&work)
        .expect("work")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("isobench-"))
        .expect("run directory");
    isobench::sys::process::kill(child.id() as i32, libc::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");

    assert!(
        std::fs::read_dir(&work).expect("work").next().is_none(),
        "work directory left: {run_dir}"
    );
    // The run's parent cgroups are `/<run dir>-<runtime>` in every hierarchy.
    let cgroups = common::top_cgroups_starting_with(&run_dir);
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    let journals: Vec<_> = std::fs::read_dir(&journal)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(journals.is_empty(), "journals left: {journals:?}");
    if with_docker {
        let containers = common::labelled_containers("docker", &run_dir);
        assert!(containers.is_empty(), "containers left: {containers:?}");
        let images = common::labelled_images("docker", &run_dir);
        assert!(images.is_empty(), "images left: {images:?}");
    }
}

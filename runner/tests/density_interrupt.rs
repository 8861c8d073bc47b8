//! Ctrl-C in the middle of a density level: the real `isobench run --scenario density`
//! gets SIGINT while level 32 of runc (and of docker, when docker works here) is being
//! launched, with many instances alive, and must leave no container, cgroup, bundle,
//! image, process or journal behind. And a VM level over the memory limit is refused
//! before anything starts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// Live probes in `hang` mode in a cgroup named after the run directory `run_dir` (runc's
/// containers: `/<run dir>-runc/<container>`), or, for an engine, its labelled containers
/// of this run.
fn alive(subject: &str, run_dir: &str) -> usize {
    if subject != "runc" {
        return common::labelled_containers(subject, run_dir).len();
    }
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            let p = e.path();
            let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
            cmd.ends_with(b"hang\0")
                && std::fs::read_to_string(p.join("cgroup")).is_ok_and(|c| c.contains(run_dir))
        })
        .count()
}

fn interrupt_level_32(subject: &str, wanted_alive: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let journal = tmp.path().join("journal");
    std::fs::create_dir_all(&work).expect("mkdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_isobench"))
        .args(["run", "--scenario", "density", "--subject", subject])
        .args([
            "--levels",
            "32",
            "--iterations",
            "1",
            "--no-progress",
            "--json",
        ])
        .arg(tmp.path().join("run.json"))
        .env("ISOBENCH_WORKDIR", &work)
        .env("ISOBENCH_JOURNAL_DIR", &journal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let run_dir = || -> Option<String> {
        std::fs::read_dir(&work)
            .ok()?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("isobench-"))
    };
    // Wait until the level is under way: `wanted_alive` instances up, more coming.
    let deadline = Instant::now() + Duration::from_secs(300);
    let run = loop {
        assert!(
            Instant::now() < deadline,
            "{subject}: {wanted_alive} instances were not alive within 300 s"
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "isobench exited early"
        );
        if let Some(run) = run_dir() {
            if alive(subject, &run) >= wanted_alive {
                break run;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    isobench::sys::process::kill(child.id() as i32, libc::SIGINT).expect("SIGINT");
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(240));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");
    assert_eq!(alive(subject, &run), 0, "{subject}: instances left");
    assert!(
        std::fs::read_dir(&work).expect("work").next().is_none(),
        "work directory left (bundles, rootfs): {run}"
    );
    let cgroups = common::top_cgroups_starting_with(&run);
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    let journals: Vec<_> = std::fs::read_dir(&journal)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(journals.is_empty(), "journals left: {journals:?}");
    if subject != "runc" {
        let images = common::labelled_images(subject, &run);
        assert!(images.is_empty(), "images left: {images:?}");
    }
}

#[test]
fn sigint_during_density_level_32_leaves_nothing() {
    if isobench::subprocess::which("runc").is_none() {
        panic!("runc is not installed: fixtures/setup.sh installs it");
    }
    if !common::is_root() {
        eprintln!("skipping: runc containers with cgroups need root");
        return;
    }
    interrupt_level_32("runc", 12);
    if common::engine_usable("docker") {
        interrupt_level_32("docker", 6);
    } else {
        eprintln!("note: docker does not answer here; tested runc only");
    }
}

#[test]
fn a_vm_level_over_the_memory_limit_is_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let journal = tmp.path().join("journal");
    std::fs::create_dir_all(&work).expect("mkdir");
    let json = tmp.path().join("run.json");
    // 1024 VMs of 4 GiB guest RAM: far over half of any test host's MemAvailable.
    let out = Command::new(env!("CARGO_BIN_EXE_isobench"))
        .args(["run", "--scenario", "density", "--subject", "process,qemu"])
        .args([
            "--levels",
            "1,1024",
            "--guest-mib",
            "4096",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", &work)
        .env("ISOBENCH_JOURNAL_DIR", &journal)
        .output()
        .expect("run isobench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for part in [
        "density level 1024 of qemu",
        "MiB per instance",
        "half of MemAvailable",
        "--force",
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
    assert!(!json.exists(), "a run file was written");
    assert!(
        std::fs::read_dir(&work).expect("work").next().is_none(),
        "the run started: {:?}",
        std::fs::read_dir(&work).map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
    assert!(
        !Path::new(&journal).exists()
            || std::fs::read_dir(&journal)
                .expect("journal")
                .next()
                .is_none()
    );
}

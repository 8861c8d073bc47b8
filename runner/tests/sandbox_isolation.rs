//! The isolation that defines a container, shown with isobench's own `sandbox` (and
//! bubblewrap): inside, the payload is PID 1, sees only its own processes, its own
//! hostname, a handful of mounts and no network device but `lo`; afterwards the host is
//! unchanged (no mount, cgroup or work directory left). Also: a payload that hangs is
//! killed at its deadline and everything is removed.
//!
//! Needs root, x86_64 and a cgroup filesystem; the subject's own `available()` is the
//! capability probe, and a test that cannot run says why and returns.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isobench::cleanup::{Cleanup, Resource};
use isobench::probe::{parse_output, ProbeMode};
use isobench::subject::sandbox::{Sandbox, HOSTNAME};
use isobench::subject::{Subject, SubjectError};
use isobench::workdir::Env;

fn mountinfo() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("read /proc/self/mountinfo")
        .lines()
        .map(str::to_string)
        .collect()
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("read hostname")
        .trim()
        .to_string()
}

/// A test env in its own temp base dir, or `None` (with the reason printed) when the
/// sandbox cannot run here.
fn sandbox_env(base: &Path) -> Option<(Env, Sandbox)> {
    let env = Env::new(Cleanup::in_memory(), Some(base)).expect("env");
    let sandbox = Sandbox::default();
    if let Err(u) = sandbox.available(&env) {
        eprintln!("skipping: sandbox unavailable here: {u}");
        return None;
    }
    Some((env, sandbox))
}

/// Which of `paths` still exist.
fn left(paths: &[PathBuf]) -> Vec<&PathBuf> {
    paths.iter().filter(|p| p.exists()).collect()
}

#[test]
fn sandbox_payload_is_isolated_and_host_is_unchanged() {
    let base = tempfile::tempdir().expect("tempdir");
    let Some((env, mut sandbox)) = sandbox_env(base.path()) else {
        return;
    };
    let workdir = env.workdir.clone();
    let mounts_before = mountinfo();
    let hostname_before = host_hostname();

    sandbox.prepare(&env).expect("prepare");
    let parents = sandbox.cgroup_parents();
    assert!(!parents.is_empty());
    assert!(parents.iter().all(|p| p.is_dir()), "{parents:?}");
    let registered = env.cleanup.live();
    for p in &parents {
        assert!(
            registered.contains(&Resource::Cgroup { path: p.clone() }),
            "{p:?} not registered: {registered:?}"
        );
    }

    let (sample, output) =
        isobench::scenario::startup::measure_once(&mut sandbox, &env, "default", &ProbeMode::Info)
            .expect("a sandbox launch");
    let info = parse_output(&output);
    eprintln!("payload saw: {info:?}");
    assert_eq!(info.get("pid").map(String::as_str), Some("1"), "{output}");
    assert_eq!(info.get("hostname").map(String::as_str), Some(HOSTNAME));
    assert_eq!(
        info.get("pids").map(String::as_str),
        Some("1"),
        "only itself in /proc"
    );
    let mounts: usize = info
        .get("mounts")
        .and_then(|m| m.parse().ok())
        .expect("mounts= line");
    assert!(
        (1..=3).contains(&mounts),
        "{mounts} mounts: expected only the rootfs and /proc"
    );
    assert_eq!(info.get("net").map(String::as_str), Some("lo"));

    // Phases: every step is reported, and they add up to no more than `ready` (they
    // tile the time from inside `launch` to the marker; `ready` starts just before it).
    let ready = sample.get("ready").expect("ready");
    let mut sum = 0.0;
    for phase in [
        "prepare",
        "clone",
        "mounts",
        "pivot_root",
        "hostname",
        "cgroup",
        "exec",
    ] {
        sum += sample
            .get(phase)
            .unwrap_or_else(|| panic!("phase {phase} missing: {sample:?}"));
    }
    assert!(
        sum <= ready,
        "phases {sum} ns > ready {ready} ns: {sample:?}"
    );
    assert!(sample.get("exit").is_some() && sample.get("teardown").is_some());

    // The launch's own cgroups are gone once torn down; the per-run parents stay until
    // `finish`.
    for p in &parents {
        let children: Vec<_> = std::fs::read_dir(p)
            .expect("read parent cgroup")
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.path())
            .collect();
        assert!(children.is_empty(), "launch cgroups left: {children:?}");
    }

    sandbox.finish(&env).expect("finish");
    assert!(
        left(&parents).is_empty(),
        "cgroups left: {:?}",
        left(&parents)
    );
    assert!(
        !env.cleanup
            .live()
            .iter()
            .any(|r| matches!(r, Resource::Cgroup { .. })),
        "{:?}",
        env.cleanup.live()
    );
    drop(env);
    assert!(!workdir.exists(), "work dir {workdir:?} left behind");

    assert_eq!(host_hostname(), hostname_before);
    // Other processes on this machine may mount things meanwhile: none may be ours.
    let new: Vec<String> = mountinfo().difference(&mounts_before).cloned().collect();
    let ours: Vec<&String> = new
        .iter()
        .filter(|l| l.contains(&*workdir.to_string_lossy()))
        .collect();
    assert!(ours.is_empty(), "mounts left on the host: {ours:?}");
}

#[test]
fn sandbox_hang_is_killed_at_the_deadline_and_cleaned_up() {
    let base = tempfile::tempdir().expect("tempdir");
    let Some((env, mut sandbox)) = sandbox_env(base.path()) else {
        return;
    };
    sandbox.prepare(&env).expect("prepare");
    let parents = sandbox.cgroup_parents();
    let mut inst = sandbox
        .launch(&env, "default", &ProbeMode::Hang)
        .expect("launch");
    inst.wait_ready(Instant::now() + Duration::from_secs(30))
        .expect("ready");
    // The payload sits in the launch cgroup of every hierarchy: note its host pid.
    let procs = parents[0].join("1/cgroup.procs"); // lists processes on v1 and v2
    let pid: i32 = std::fs::read_to_string(&procs)
        .expect("read launch cgroup.procs")
        .trim()
        .parse()
        .expect("one pid in the launch cgroup");
    assert!(isobench::sys::process::alive(pid));

    let t = Instant::now();
    let err = inst
        .wait_exit(Instant::now() + Duration::from_millis(300))
        .expect_err("a hanging payload must time out");
    assert!(matches!(err, SubjectError::ExitTimeout(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "the deadline was not kept"
    );
    assert!(
        !isobench::sys::process::alive(pid),
        "payload {pid} survived"
    );
    inst.teardown().expect("teardown");
    inst.teardown().expect("teardown is idempotent");
    for p in &parents {
        assert!(!p.join("1").exists(), "launch cgroup {p:?}/1 left");
    }
    drop(inst);
    sandbox.finish(&env).expect("finish");
    assert!(
        left(&parents).is_empty(),
        "cgroups left: {:?}",
        left(&parents)
    );
}

#[test]
fn bwrap_payload_is_isolated() {
    let base = tempfile::tempdir().expect("tempdir");
    let env = Env::new(Cleanup::in_memory(), Some(base.path())).expect("env");
    let mut bwrap = isobench::subject::bwrap::Bwrap::default();
    if let Err(u) = bwrap.available(&env) {
        eprintln!("skipping: {u}");
        return;
    }
    bwrap.prepare(&env).expect("prepare");
    let (_, output) =
        isobench::scenario::startup::measure_once(&mut bwrap, &env, "default", &ProbeMode::Info)
            .expect("a bwrap launch");
    let info = parse_output(&output);
    eprintln!("payload saw: {info:?}");
    // bwrap stays as PID 1 (its init) and runs the payload as PID 2.
    assert_eq!(info.get("pid").map(String::as_str), Some("2"), "{output}");
    assert_eq!(info.get("pids").map(String::as_str), Some("1,2"));
    assert_eq!(info.get("net").map(String::as_str), Some("lo"));
    assert_ne!(info.get("hostname"), None);
}

#[test]
fn sandbox_setup_failure_names_the_step_and_cleans_up() {
    let base = tempfile::tempdir().expect("tempdir");
    let Some((env, mut sandbox)) = sandbox_env(base.path()) else {
        return;
    };
    sandbox.prepare(&env).expect("prepare");
    let parents = sandbox.cgroup_parents();
    // Without a /proc directory in the rootfs, mounting proc there fails in the child.
    std::fs::remove_dir(env.workdir.join("rootfs/proc")).expect("remove rootfs/proc");
    let err =
        isobench::scenario::startup::measure_once(&mut sandbox, &env, "default", &ProbeMode::Ready)
            .expect_err("the launch must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("mount proc on") && msg.contains("No such file or directory"),
        "{msg}"
    );
    for p in &parents {
        assert!(!p.join("1").exists(), "launch cgroup {p:?}/1 left");
    }
    sandbox.finish(&env).expect("finish");
    assert!(
        left(&parents).is_empty(),
        "cgroups left: {:?}",
        left(&parents)
    );
}

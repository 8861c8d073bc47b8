//! cgroups on the real host (on the hybrid reference host this drives the v1 path):
//! create a cgroup, attach a child, read its counters, remove it; the probe started inside
//! a CPU-limited cgroup is throttled; an allocation above a memory limit is OOM-killed
//! and seen as such. Each test first checks that cgroups can be created here (capability
//! probe) and skips with the reason otherwise.

use std::time::{Duration, Instant};

use isobench::cgroup::{AnyManager, CgroupManager, Limits};
use isobench::cleanup::Cleanup;
use isobench::probe::ProbeMode;
use isobench::subject::limits::{spawn_probe_in_cgroup, LimitedInstance};
use isobench::subject::Instance;

mod common;

#[test]
fn create_attach_read_remove() {
    if let Some(why) = common::cgroups_usable("create") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    let cleanup = Cleanup::in_memory();
    let mut m = AnyManager::create(&cleanup, &format!("isobench-test-{}", std::process::id()))
        .expect("create");
    assert!(!cleanup.live().is_empty(), "registered before creation");
    for p in m.paths() {
        assert!(p.is_dir(), "{} exists", p.display());
    }
    m.apply(&Limits {
        cpu_quota: Some(Duration::from_millis(50)),
        cpu_period: Some(Duration::from_millis(100)),
        memory_bytes: Some(64 << 20),
        pids_max: Some(16),
        ..Limits::default()
    })
    .expect("apply");
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id() as i32;
    m.attach(pid).expect("attach");
    assert!(m.procs().expect("procs").contains(&pid));
    let s = m.stats().expect("stats");
    if let Some(n) = s.pids_current {
        assert_eq!(n, 1, "one task in the cgroup");
    }
    // (memory.usage may stay 0: v1 does not move a task's existing charge on attach.)
    assert_eq!(s.memory.oom_kills, 0, "{s:?}");
    assert!(!m
        .procs()
        .expect("procs")
        .contains(&(std::process::id() as i32)));
    let paths = m.paths();
    m.remove()
        .expect("remove kills the child and removes the cgroup");
    // remove() kills what is in the cgroup and reaps its own children, so this child may
    // already be reaped (ECHILD); either way it must be gone and must not have exited 0.
    match child.wait() {
        Ok(status) => assert!(!status.success(), "the child was killed: {status:?}"),
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ECHILD), "wait: {e}"),
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true),
        "child {pid} is gone"
    );
    for p in paths {
        assert!(!p.exists(), "{} was removed", p.display());
    }
    assert!(cleanup.live().is_empty());
}

#[test]
fn probe_in_a_cpu_limited_cgroup_is_throttled() {
    if let Some(why) = common::cgroups_usable("throttled") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    let (_tmp, env) = common::temp_env();
    let limits = Limits::cpu_percent(20.0, Duration::from_millis(20));
    let mode = ProbeMode::Work {
        window_ms: 600,
        unit_iters: 50_000,
    };
    let mut inst = spawn_probe_in_cgroup(&env, &mode, &limits).expect("spawn");
    let paths = inst.cgroup_paths();
    inst.wait_ready(Instant::now() + Duration::from_secs(30))
        .expect("ready");
    let exit = inst
        .wait_exit(Instant::now() + Duration::from_secs(30))
        .expect("exit");
    assert_eq!(exit.code, Some(0), "{exit:?}");
    let out = isobench::probe::parse_output(&exit.output);
    assert!(out.get("units").is_some_and(|u| u != "0"), "{out:?}");
    let s = inst.cgroup_stats().expect("stats");
    assert!(s.cpu.nr_periods > 0 && s.cpu.nr_throttled > 0, "{s:?}");
    assert!(!s.cpu.throttled.is_zero(), "{s:?}");
    // The cgroup's usage counter and the probe's own rusage count the same process.
    let cpu = inst.payload_cpu().expect("rusage");
    let ratio = s.cpu.usage.as_secs_f64() / cpu.as_secs_f64();
    assert!(
        (0.75..1.33).contains(&ratio),
        "usage {s:?} vs rusage {cpu:?}"
    );
    inst.teardown().expect("teardown");
    for p in paths {
        assert!(!p.exists(), "{} was removed", p.display());
    }
    assert!(env
        .cleanup
        .live()
        .iter()
        .all(|r| !matches!(r, isobench::cleanup::Resource::Cgroup { .. })));
}

#[test]
fn allocation_above_the_memory_limit_is_oom_killed() {
    if let Some(why) = common::cgroups_usable("oom") {
        eprintln!("skipping: cannot create a cgroup here: {why}");
        return;
    }
    let (_tmp, env) = common::temp_env();
    let limits = Limits {
        memory_bytes: Some(16 << 20),
        swap_bytes: Some(0),
        ..Limits::default()
    };
    let mut inst =
        spawn_probe_in_cgroup(&env, &ProbeMode::Alloc { mib: 64 }, &limits).expect("spawn");
    let paths = inst.cgroup_paths();
    inst.wait_ready(Instant::now() + Duration::from_secs(30))
        .expect("ready");
    let exit = inst
        .wait_exit(Instant::now() + Duration::from_secs(30))
        .expect("exit");
    assert_eq!(exit.signal, Some(libc::SIGKILL), "{exit:?}");
    let s = inst.cgroup_stats().expect("stats");
    assert!(s.memory.oom_kills >= 1, "{s:?}");
    let touched: u64 = exit
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("touched_mib="))
        .filter_map(|v| v.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(touched < 64, "stopped before 64 MiB, at {touched}");
    inst.teardown().expect("teardown");
    for p in paths {
        assert!(!p.exists(), "{} was removed", p.display());
    }
}

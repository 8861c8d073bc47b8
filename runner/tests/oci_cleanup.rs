//! OCI runtime subjects (runc, crun, runsc): a payload that hangs past a short deadline, and the
//! footprint pass's hanging payload, leave no container, bundle or cgroup behind; a
//! normal launch measures the documented phases. Skips (with the reason) where the
//! runtime is missing or cannot run here.

use std::time::{Duration, Instant};

use isobench::probe::ProbeMode;
use isobench::subject::SubjectKind;
use isobench::workdir::Env;

mod common;

fn env() -> Env {
    let mut env = common::subreaper_env();
    env.timeouts.command = Duration::from_secs(30);
    env
}

fn containers_of(binary: &str, root: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new(binary)
        .arg("--root")
        .arg(root)
        .args(["list", "--quiet"])
        .output()
        .expect("list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Our children named `comm` (tests run in parallel: others' containers count too).
fn children_named(comm: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
                && isobench::subject::child::parent_of(*pid) == Some(me)
        })
        .collect()
}

/// Those of `pids` whose command line names `needle` (runsc's processes carry the
/// state directory: `--root=<dir>`), i.e. this test's own.
fn naming(pids: Vec<i32>, needle: &str) -> Vec<i32> {
    pids.into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// What a `create` leaves to the harness (a subreaper), by `comm`: runc's and crun's
/// container init (the probe, once started), runsc's sandbox and gofer (`exe`: runsc
/// re-executes /proc/self/exe for both).
fn left_by_create(kind: SubjectKind) -> (&'static str, usize) {
    match kind {
        SubjectKind::Runsc => ("exe", 2),
        _ => ("isobench-probe", 1),
    }
}

fn check_hang_cleanup(kind: SubjectKind) {
    let env = env();
    let Some(mut s) = common::ready_subject(kind, &env) else {
        return;
    };
    let binary = kind.name();
    let state = env.workdir.join(format!("{binary}-state"));
    for case in s.cases(&env) {
        // A payload that never exits, given a short deadline: wait_exit must fail, kill it,
        // and teardown must leave nothing.
        let mut inst = s.launch(&env, &case, &ProbeMode::Hang).expect("launch");
        inst.wait_ready(Instant::now() + Duration::from_secs(20))
            .expect("ready");
        let fp = inst.footprint();
        assert!(
            fp.iter().any(|(m, v)| m == "payload_rss" && *v > 0),
            "{case}: {fp:?}"
        );
        let (comm, count) = left_by_create(kind);
        let mut ours = Vec::new();
        if case == "create-start" {
            // `create`'s runtime process has exited: its payload is now our child (we are
            // a subreaper), so wait_exit can reap it and read its status.
            assert!(
                children_named(comm).len() >= count,
                "the container's init is not re-parented to the harness"
            );
            ours = naming(children_named(comm), &state.to_string_lossy());
            if kind == SubjectKind::Runsc {
                assert!(ours.len() >= count, "{case}: sandbox and gofer: {ours:?}");
            }
        }
        let err = inst
            .wait_exit(Instant::now() + Duration::from_millis(300))
            .expect_err("a hanging payload cannot exit");
        assert!(err.to_string().contains("did not exit"), "{case}: {err}");
        inst.teardown().expect("teardown");
        drop(inst);
        assert!(
            containers_of(binary, &state).is_empty(),
            "{case}: containers left: {:?}",
            containers_of(binary, &state)
        );
        // Footprint-style: teardown without waiting for the exit at all.
        let mut inst = s.launch(&env, &case, &ProbeMode::Hang).expect("launch");
        inst.wait_ready(Instant::now() + Duration::from_secs(20))
            .expect("ready");
        drop(inst);
        assert!(containers_of(binary, &state).is_empty(), "{case}");
        // The runtime's processes left to us are gone: neither running nor zombies.
        let left: Vec<&i32> = ours
            .iter()
            .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
            .collect();
        assert!(left.is_empty(), "{case}: processes left: {left:?}");
    }
    let bundles = env.workdir.join(format!("{binary}-bundles"));
    let left: Vec<_> = std::fs::read_dir(&bundles)
        .expect("bundles dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "bundles left: {left:?}");
    s.finish(&env).expect("finish");
    let left = common::top_cgroups_starting_with(&format!("{}-{binary}", common::run_name(&env)));
    assert!(left.is_empty(), "cgroups left: {left:?}");
    // Nothing registered is left but the work directory itself.
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

fn check_phases(kind: SubjectKind) {
    let env = env();
    let Some(mut s) = common::ready_subject(kind, &env) else {
        return;
    };
    for (case, phases) in [
        ("create-start", &["bundle", "create", "start", "delete"][..]),
        ("run", &["bundle"][..]),
    ] {
        let (sample, output) =
            isobench::scenario::startup::measure_once(s.as_mut(), &env, case, &ProbeMode::Ready)
                .unwrap_or_else(|e| panic!("{kind} {case}: {e}"));
        for p in phases.iter().chain(&["ready", "total"]) {
            assert!(sample.get(p).is_some(), "{case}: no {p} in {sample:?}");
        }
        let ready = sample.get("ready").unwrap_or(0.0);
        let total = sample.get("total").unwrap_or(0.0);
        assert!(ready <= total, "{case}: ready {ready} after total {total}");
        assert!(
            output.contains("ISOBENCH-DONE status=0"),
            "{case}: {output}"
        );
    }
    s.finish(&env).expect("finish");
}

#[test]
fn runc_hanging_payload_leaves_nothing() {
    check_hang_cleanup(SubjectKind::Runc);
}

#[test]
fn crun_hanging_payload_leaves_nothing() {
    check_hang_cleanup(SubjectKind::Crun);
}

#[test]
fn runsc_hanging_payload_leaves_nothing() {
    check_hang_cleanup(SubjectKind::Runsc);
}

#[test]
fn runsc_measures_phases() {
    check_phases(SubjectKind::Runsc);
}

#[test]
fn runc_measures_phases() {
    check_phases(SubjectKind::Runc);
}

#[test]
fn crun_measures_phases() {
    check_phases(SubjectKind::Crun);
}

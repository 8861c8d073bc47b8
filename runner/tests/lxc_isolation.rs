//! LXC (`lxc` subject, `lxc-start -F`): the payload is PID 1, sees only itself, has the
//! hostname `isobench` and no network device but `lo` (`lxc.net.0.type = empty`); a payload
//! that hangs is killed at its deadline with nothing left (no process or cgroup, no
//! `lxc.pivot` cgroup); nothing registered is left after `finish`, nor LXC's lock
//! directory for the run.
//!
//! The subject's `available()` is the capability probe: where LXC is not
//! installed or cannot run here the test prints why and returns; where it says it can
//! run, every assertion must hold.

use std::time::{Duration, Instant};

use isobench::probe::ProbeMode;
use isobench::subject::{SubjectError, SubjectKind};

mod common;

#[test]
fn lxc_payload_is_isolated() {
    let env = common::subreaper_env();
    let Some(mut s) = common::ready_subject(SubjectKind::Lxc, &env) else {
        return;
    };
    let (sample, output) =
        isobench::scenario::startup::measure_once(s.as_mut(), &env, "default", &ProbeMode::Info)
            .unwrap_or_else(|e| panic!("lxc: {e}"));
    common::assert_isolated_payload("lxc", &output);
    for p in ["config", "ready", "total"] {
        assert!(sample.get(p).is_some(), "no {p} in {sample:?}");
    }
    s.finish(&env).expect("finish");
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

#[test]
fn lxc_hang_is_killed_and_leaves_nothing() {
    let env = common::subreaper_env();
    let Some(mut s) = common::ready_subject(SubjectKind::Lxc, &env) else {
        return;
    };
    let run = common::run_name(&env);
    for footprint_style in [false, true] {
        let mut inst = s.launch(&env, "default", &ProbeMode::Hang).expect("launch");
        inst.wait_ready(Instant::now() + Duration::from_secs(20))
            .expect("ready");
        let fp = inst.footprint();
        assert!(
            fp.iter().any(|(m, v)| m == "payload_rss" && *v > 0),
            "{fp:?}"
        );
        let cgroups = common::cgroup_dirs_containing(&format!("{run}-lxc-"));
        assert!(!cgroups.is_empty(), "the container has its own cgroup");
        if !footprint_style {
            let err = inst
                .wait_exit(Instant::now() + Duration::from_millis(300))
                .expect_err("a hanging payload cannot exit");
            assert!(matches!(err, SubjectError::ExitTimeout(_)), "{err}");
        }
        inst.teardown().expect("teardown");
        drop(inst);
        let left = common::cgroup_dirs_containing(&format!("{run}-lxc-"));
        assert!(left.is_empty(), "cgroups left: {left:?}");
        let probes: Vec<i32> = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&run))
            })
            .collect();
        assert!(probes.is_empty(), "lxc processes left: {probes:?}");
    }
    s.finish(&env).expect("finish");
    let run_cgroups = common::top_cgroups_starting_with(&format!("{run}-lxc"));
    assert!(run_cgroups.is_empty(), "{run_cgroups:?}");
    let lock = std::path::Path::new("/run/lxc/lock")
        .join(env.workdir.strip_prefix("/").expect("absolute"));
    assert!(!lock.exists(), "{lock:?} left");
    assert!(
        common::top_cgroups_starting_with("lxc.pivot").is_empty(),
        "LXC's pivot cgroup was left in the host's hierarchies"
    );
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

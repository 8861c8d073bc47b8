//! systemd-nspawn (`nspawn` subject): the payload is PID 1, sees only itself, has the
//! hostname `isobench` and no network device but `lo` (`--private-network`); a payload
//! that hangs is killed at its deadline with nothing left (no process, cgroup, nspawn
//! propagation directory or image lock); nothing registered is left after `finish`.
//!
//! The subject's `available()` is the capability probe: where systemd-nspawn is not
//! installed or cannot run here the test prints why and returns; where it says it can
//! run, every assertion must hold.

use std::path::Path;
use std::time::{Duration, Instant};

use isobench::probe::ProbeMode;
use isobench::subject::{SubjectError, SubjectKind};

mod common;

fn propagate_dirs(run: &str) -> Vec<String> {
    std::fs::read_dir("/run/systemd/nspawn/propagate")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(run))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn nspawn_payload_is_isolated() {
    let env = common::subreaper_env();
    let Some(mut s) = common::ready_subject(SubjectKind::Nspawn, &env) else {
        return;
    };
    let (sample, output) =
        isobench::scenario::startup::measure_once(s.as_mut(), &env, "default", &ProbeMode::Info)
            .unwrap_or_else(|e| panic!("nspawn: {e}"));
    common::assert_isolated_payload("nspawn", &output);
    for p in ["cgroup", "ready", "total"] {
        assert!(sample.get(p).is_some(), "no {p} in {sample:?}");
    }
    s.finish(&env).expect("finish");
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

#[test]
fn nspawn_hang_is_killed_and_leaves_nothing() {
    let env = common::subreaper_env();
    let Some(mut s) = common::ready_subject(SubjectKind::Nspawn, &env) else {
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
        assert_eq!(propagate_dirs(&run).len(), 1, "nspawn's machine directory");
        let cgroups = common::top_cgroups_starting_with(&format!("{run}-nspawn"));
        assert!(!cgroups.is_empty(), "the launch has its own cgroup");
        if !footprint_style {
            let err = inst
                .wait_exit(Instant::now() + Duration::from_millis(300))
                .expect_err("a hanging payload cannot exit");
            assert!(matches!(err, SubjectError::ExitTimeout(_)), "{err}");
        }
        inst.teardown().expect("teardown");
        drop(inst);
        let left = common::top_cgroups_starting_with(&format!("{run}-nspawn"));
        assert!(left.is_empty(), "cgroups left: {left:?}");
        assert!(
            propagate_dirs(&run).is_empty(),
            "{:?}",
            propagate_dirs(&run)
        );
        let probes: Vec<i32> = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&run))
            })
            .collect();
        assert!(probes.is_empty(), "nspawn processes left: {probes:?}");
    }
    s.finish(&env).expect("finish");
    assert!(!Path::new(&env.workdir.join(".#rootfs.lck")).exists());
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

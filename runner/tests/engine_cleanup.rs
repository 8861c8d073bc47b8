//! Engine subjects (docker, podman): a payload that hangs past a short deadline, and the
//! footprint pass's hanging payload, leave no container behind; `finish` removes the
//! image; a normal launch measures ready and total; `clean_labelled` removes labelled
//! leftovers of a run that is gone. Skips (with the reason) where the engine is missing
//! or its daemon does not answer.

use std::process::Command;
use std::time::{Duration, Instant};

use isobench::probe::ProbeMode;
use isobench::subject::SubjectKind;

mod common;

fn check(kind: SubjectKind) {
    let env = common::subreaper_env();
    let Some(mut s) = common::ready_subject(kind, &env) else {
        return;
    };
    let engine = kind.name();
    let run = common::run_name(&env);
    let containers = || common::labelled_containers(engine, &run);
    let images = || common::labelled_images(engine, &run);
    assert_eq!(images().len(), 1, "the image is imported");

    let (sample, output) =
        isobench::scenario::startup::measure_once(s.as_mut(), &env, "default", &ProbeMode::Ready)
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
    let (ready, total) = (sample.get("ready"), sample.get("total"));
    assert!(ready.is_some() && total.is_some(), "{sample:?}");
    assert!(ready <= total, "{sample:?}");
    assert!(output.contains("ISOBENCH-DONE status=0"), "{output}");
    assert!(containers().is_empty(), "run --rm left a container");

    // Hanging payload, short deadline: wait_exit fails, teardown removes the container.
    let mut inst = s.launch(&env, "default", &ProbeMode::Hang).expect("launch");
    inst.wait_ready(Instant::now() + Duration::from_secs(60))
        .expect("ready");
    let fp = inst.footprint();
    assert!(
        fp.iter().any(|(m, v)| m == "payload_rss" && *v > 0),
        "{fp:?}"
    );
    assert!(fp.iter().any(|(m, _)| m == "runtime_rss"), "{fp:?}");
    let err = inst
        .wait_exit(Instant::now() + Duration::from_millis(300))
        .expect_err("a hanging payload cannot exit");
    assert!(err.to_string().contains("did not exit"), "{err}");
    inst.teardown().expect("teardown");
    drop(inst);
    assert!(containers().is_empty(), "left: {:?}", containers());

    // Footprint-style: dropped while the payload hangs.
    let mut inst = s.launch(&env, "default", &ProbeMode::Hang).expect("launch");
    inst.wait_ready(Instant::now() + Duration::from_secs(60))
        .expect("ready");
    drop(inst);
    assert!(containers().is_empty());

    s.finish(&env).expect("finish");
    assert!(images().is_empty(), "{:?}", images());
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

#[test]
fn docker_hanging_payload_leaves_nothing() {
    check(SubjectKind::Docker);
}

#[test]
fn podman_hanging_payload_leaves_nothing() {
    check(SubjectKind::Podman);
}

/// Leftovers of a run that died without its journal: a labelled image named after a dead
/// pid is removed by `isobench clean`'s hook.
#[test]
fn clean_removes_labelled_leftovers() {
    if isobench::subprocess::which("docker").is_none() {
        eprintln!("skipping: docker is not installed");
        return;
    }
    let env = common::subreaper_env();
    let tar = env.workdir.join("x.tar");
    let probe_dir = env.workdir.join("p");
    std::fs::create_dir(&probe_dir).expect("mkdir");
    std::fs::copy(&env.probe, probe_dir.join("isobench-probe")).expect("copy");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&probe_dir)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "tar");
    // No live process has pid 999999999 (above pid_max).
    let image = "isobench-probe:isobench-999999999-dead";
    let imported = Command::new("docker")
        .args(["import", "--change", "LABEL isobench=1"])
        .arg(&tar)
        .arg(image)
        .output()
        .expect("docker import");
    if !imported.status.success() {
        eprintln!(
            "skipping: docker import fails here: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
        return;
    }
    let removed = isobench::subject::SubjectKind::Docker
        .create()
        .clean_unjournalled();
    assert!(
        removed.iter().any(|r| r.contains(image)),
        "clean_unjournalled removed {removed:?}"
    );
    let left = Command::new("docker")
        .args(["images", "-q", image])
        .output()
        .expect("docker images");
    assert!(left.stdout.is_empty(), "{image} is still there");
}

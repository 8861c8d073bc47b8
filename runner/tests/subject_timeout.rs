//! A payload that never exits is killed at its deadline and reaped, and the error says so.

use std::time::{Duration, Instant};

use isobench::probe::ProbeMode;
use isobench::subject::{SubjectError, SubjectKind};

mod common;

#[test]
fn hanging_process_is_killed_at_the_deadline() {
    let (tmp, env) = common::temp_env();
    let cleanup = env.cleanup.clone();
    let mut subject = SubjectKind::Process.create();
    let mut inst = subject
        .launch(&env, "default", &ProbeMode::Hang)
        .expect("launch");
    inst.wait_ready(Instant::now() + Duration::from_secs(10))
        .expect("ready");
    let t = Instant::now();
    let err = inst
        .wait_exit(Instant::now() + Duration::from_millis(300))
        .expect_err("must time out");
    assert!(matches!(err, SubjectError::ExitTimeout(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the deadline is honoured"
    );
    inst.teardown().expect("teardown");
    // No probe is left running from this work dir.
    let probe = env.probe.clone();
    let left: Vec<_> = std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("exe")).is_ok_and(|x| x == probe))
        .collect();
    assert!(left.is_empty(), "probe still running: {left:?}");
    drop(env);
    assert!(cleanup.release_all().is_empty());
    assert!(
        std::fs::read_dir(tmp.path()).expect("tmp").next().is_none(),
        "work dir removed"
    );
}

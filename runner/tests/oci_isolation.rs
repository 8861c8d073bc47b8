//! The isolation of the OCI runtime subjects (runc, crun, runsc), checked from inside by
//! the probe in `info` mode, in both cases (`create-start`, `run`): the payload is PID 1,
//! sees only itself in /proc, has the bundle's hostname and no network device but `lo`
//! (`--network=none` for runsc, a fresh network namespace for the others); the host's
//! hostname is unchanged afterwards, the host's /dev/null, /dev/zero and /dev/full are
//! still root's (runsc fchowns the stdio it is handed to its sandbox user, so a shared
//! /dev/null as stdin once became nobody's), and nothing registered is left but the work
//! directory.
//!
//! The subject's own `available()` is the capability probe: where the runtime is not
//! installed or cannot run here the test prints why and returns; where it says it can
//! run, every assertion must hold.

use std::time::Duration;

use isobench::probe::ProbeMode;
use isobench::subject::SubjectKind;

mod common;

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("read hostname")
        .trim()
        .to_string()
}

fn check_isolation(kind: SubjectKind) {
    let mut env = common::subreaper_env();
    env.timeouts.command = Duration::from_secs(30);
    let Some(mut s) = common::ready_subject(kind, &env) else {
        return;
    };
    let hostname_before = host_hostname();
    common::assert_host_device_nodes_intact(&format!("before {kind}"));
    for case in s.cases(&env) {
        let (_, output) =
            isobench::scenario::startup::measure_once(s.as_mut(), &env, &case, &ProbeMode::Info)
                .unwrap_or_else(|e| panic!("{kind} {case}: {e}"));
        common::assert_isolated_payload(&format!("{kind} {case}"), &output);
        assert!(output.contains("ISOBENCH-DONE status=0"), "{output}");
    }
    s.finish(&env).expect("finish");
    assert_eq!(host_hostname(), hostname_before);
    common::assert_host_device_nodes_intact(&format!("after {kind}'s launches"));
    assert_eq!(env.cleanup.live().len(), 1, "{:?}", env.cleanup.live());
}

#[test]
fn runc_payload_is_isolated() {
    check_isolation(SubjectKind::Runc);
}

#[test]
fn crun_payload_is_isolated() {
    check_isolation(SubjectKind::Crun);
}

#[test]
fn runsc_payload_is_isolated() {
    check_isolation(SubjectKind::Runsc);
}

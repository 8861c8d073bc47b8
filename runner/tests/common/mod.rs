//! Helpers shared by runner's integration tests: test envs, capability probes (cgroups,
//! container engines, root), and scans for what a run may have left behind (cgroups,
//! labelled engine objects, files in a work directory). Each test file does `mod common;`.

// Every test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

pub mod hostile;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use isobench::cgroup::{AnyManager, CgroupManager};
use isobench::cleanup::Cleanup;
use isobench::subject::{Subject, SubjectKind};
use isobench::workdir::Env;

/// An env whose work directory lives in a fresh temp dir (removed when the guard drops).
pub fn temp_env() -> (tempfile::TempDir, Env) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(Cleanup::in_memory(), Some(tmp.path())).expect("env");
    (tmp, env)
}

/// A default-location env, this process a subreaper so orphaned container inits reap here.
pub fn subreaper_env() -> Env {
    let _ = isobench::sys::process::set_child_subreaper();
    Env::new(Cleanup::in_memory(), None).expect("env")
}

/// The name of `env`'s work directory, which every object and cgroup of its run carries.
pub fn run_name(env: &Env) -> String {
    env.workdir
        .file_name()
        .expect("work directory name")
        .to_string_lossy()
        .into_owned()
}

/// Capability probe: why no cgroup can be created here, if so (`name` keeps parallel tests apart).
pub fn cgroups_usable(name: &str) -> Option<String> {
    let c = Cleanup::in_memory();
    let probe = format!("isobench-capability-probe-{}-{name}", std::process::id());
    match AnyManager::create(&c, &probe) {
        Ok(mut m) => {
            let _ = m.remove();
            None
        }
        Err(e) => Some(e.to_string()),
    }
}

/// Capability probe: does `engine` (docker, podman) answer `info`?
pub fn engine_usable(engine: &str) -> bool {
    Command::new(engine)
        .args(["info", "--format", "{{json .}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Is the effective user root?
pub fn is_root() -> bool {
    isobench::sys::geteuid() == 0
}

/// The subject, prepared, or `None` (with the reason printed) when it cannot run here.
pub fn ready_subject(kind: SubjectKind, env: &Env) -> Option<Box<dyn Subject>> {
    let mut s = kind.create();
    if let Err(u) = s.available(env) {
        eprintln!("skipping {kind}: {u}");
        return None;
    }
    s.prepare(env).expect("prepare");
    Some(s)
}

/// Directories under /sys/fs/cgroup (4 levels) whose name contains `needle`.
pub fn cgroup_dirs_containing(needle: &str) -> Vec<String> {
    fn walk(dir: &Path, needle: &str, depth: usize, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy().contains(needle) {
                out.push(e.path().display().to_string());
            } else if depth > 0 {
                walk(&e.path(), needle, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), needle, 4, &mut out);
    out
}

/// Cgroups named `prefix*` right below each cgroup mount (OCI runs' `/<run dir>-<runtime>`).
pub fn top_cgroups_starting_with(prefix: &str) -> Vec<String> {
    isobench::cgroup::mounts::cgroup_mounts()
        .iter()
        .filter_map(|mp| std::fs::read_dir(mp).ok())
        .flat_map(|rd| rd.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// Any entry below `dir` (recursively) whose file name satisfies `matches`.
pub fn has_entry(dir: &Path, matches: &dyn Fn(&str) -> bool) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            matches(&e.file_name().to_string_lossy())
                || (e.file_type().is_ok_and(|t| t.is_dir()) && has_entry(&e.path(), matches))
        })
    })
}

/// Lines of `engine <what> --filter label=isobench=1` that contain `needle` (a run's name).
pub fn labelled(engine: &str, what: &[&str], needle: &str) -> Vec<String> {
    let out = Command::new(engine)
        .args(what)
        .args(["--filter", "label=isobench=1"])
        .output()
        .expect("list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Names of `engine`'s labelled containers (running or not) that contain `needle`.
pub fn labelled_containers(engine: &str, needle: &str) -> Vec<String> {
    labelled(engine, &["ps", "-a", "--format", "{{.Names}}"], needle)
}

/// `repository:tag` of `engine`'s labelled images that contain `needle`.
pub fn labelled_images(engine: &str, needle: &str) -> Vec<String> {
    labelled(
        engine,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
        needle,
    )
}

/// Exit status and piped stderr of `isobench run`; kills it and fails the test past `limit`.
pub fn wait_run(child: &mut Child, limit: Duration) -> (ExitStatus, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("isobench run did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    (status, stderr)
}

/// What every container subject's payload must see (the isolation checks of
/// `oci_isolation`, `nspawn_isolation` and `lxc_isolation`): it is PID 1, alone in its
/// /proc, named `isobench`, with only `lo`. Returns what it reported.
pub fn assert_isolated_payload(
    who: &str,
    output: &str,
) -> std::collections::BTreeMap<String, String> {
    let info = isobench::probe::parse_output(output);
    eprintln!("{who}: the payload saw {info:?}");
    assert_eq!(
        info.get("pid").map(String::as_str),
        Some("1"),
        "{who}: {output}"
    );
    assert_eq!(
        info.get("pids").map(String::as_str),
        Some("1"),
        "{who}: only itself in /proc: {output}"
    );
    assert_eq!(
        info.get("hostname").map(String::as_str),
        Some("isobench"),
        "{who}: {output}"
    );
    assert_eq!(
        info.get("net").map(String::as_str),
        Some("lo"),
        "{who}: {output}"
    );
    info
}

/// The host's device nodes are root's character devices, mode 0666 (what a fresh
/// machine has; `isobench doctor` checks the same); a test that launched a runtime calls
/// it again afterwards.
pub fn assert_host_device_nodes_intact(when: &str) {
    for p in isobench::run::doctor::DEVICE_NODES {
        if let Some((what, fix)) = isobench::run::doctor::device_node_problem(p) {
            panic!(
                "{when}: {p} is not root's character device of mode 0666 ({what}): something \
                 on this host changed it (runsc fchowns the stdio it is handed to its sandbox \
                 user); fix the host with `{fix}`"
            );
        }
    }
}

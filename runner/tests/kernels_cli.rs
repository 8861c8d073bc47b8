//! The `kernels` scenario end to end through the real binary, with the guest kernel
//! fixtures/setup.sh installs (fixtures/kernels/vmlinuz, passed as a path) booted as two
//! interleaved groups with tiny bench sizes: every boot reaches the probe's bench, the
//! measurements carry `guest_kernel` (with the release the guest reported) and `accel`,
//! `compare --by guest_kernel` compares the two groups, and neither a finished run nor a
//! Ctrl-C leaves a QEMU or the work directory behind. Names that do not exist are refused
//! before anything boots, listing the names found. With `--subject process,<OCI runtime>`
//! the same bench runs on the host kernel as a process and inside a container, labelled
//! `host <release> (<subject>)`, what the container may not do is `skipped` with the
//! probe's reason, and `compare --by guest_kernel` matches the two groups.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kernel() -> PathBuf {
    let k = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/kernels/vmlinuz");
    assert!(
        k.is_file(),
        "{} is missing: run fixtures/setup.sh (it installs QEMU and the guest kernel)",
        k.display()
    );
    std::fs::canonicalize(k).expect("kernel path")
}

/// QEMU processes whose command line mentions `needle`.
fn qemus_with(needle: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("qemu-system") && cmd.contains(needle) {
            v.push(cmd);
        }
    }
    v
}

fn isobench() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("isobench"))
}

#[test]
fn two_groups_of_one_kernel_boot_interleaved_and_compare() {
    let k = kernel().display().to_string();
    let tmp = tempfile::tempdir().expect("tempdir");
    let json = tmp.path().join("run.json");
    let mut child = isobench()
        .args(["run", "--scenario", "kernels", "--guest-kernels"])
        .arg(format!("{k},{k}"))
        .args([
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--kernel-bench-rounds",
            "2",
            "--kernel-bench-groups",
            "fork,unshare,getppid,pipe",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(240));
    assert!(status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");
    let groups: std::collections::BTreeSet<&str> = ms
        .iter()
        .filter_map(|m| m["labels"]["guest_kernel"].as_str())
        .collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    for g in &groups {
        // `vmlinuz#1 <uname -r> (path)`: the release is what the guest printed.
        assert!(g.contains(" 6.") && g.ends_with("(path)"), "{g}");
    }
    for m in ms {
        assert_eq!(m["status"], "ok", "{m}");
        assert!(m["labels"]["accel"].is_string(), "{m}");
    }
    let has = |case: &str, metric: &str| {
        ms.iter()
            .filter(|m| m["case"] == case && m["metric"] == metric)
            .count()
    };
    assert_eq!(has("boot", "kernel_boot"), 2);
    assert_eq!(has("none", "total"), 2);
    assert_eq!(has("net", "unshare"), 2);
    assert_eq!(has("pipe", "round_trip"), 2);
    let fork = ms
        .iter()
        .find(|m| m["case"] == "pid" && m["metric"] == "total")
        .expect("pid clone");
    assert_eq!(fork["labels"]["semantics"], "fork");
    assert_eq!(fork["samples"].as_array().map(Vec::len), Some(2));

    // The groups compare as two columns; the first named is the base.
    let out = isobench()
        .arg("compare")
        .arg(&json)
        .args(["--by", "guest_kernel", "--format", "json"])
        .output()
        .expect("compare");
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).expect("compare json");
    assert_eq!(c["by"], "guest_kernel");
    let labels: Vec<&str> = c["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["label"].as_str())
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(labels[0].starts_with("vmlinuz#1"), "{labels:?}");
    assert!(labels[1].starts_with("vmlinuz#2"), "{labels:?}");
    assert!(c["rows"].as_array().is_some_and(|r| r.len() > 10));

    assert!(qemus_with(&tmp.path().display().to_string()).is_empty());
    assert!(
        !common::has_entry(tmp.path(), &|n| n.starts_with("isobench-")),
        "the work directory was left behind"
    );
}

#[test]
fn unknown_names_are_refused_listing_what_exists() {
    let out = isobench()
        .args([
            "run",
            "--scenario",
            "kernels",
            "--guest-kernels",
            "no-such-kernel",
            "--no-progress",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-kernel") && err.contains("setup.sh") && err.contains("found:"),
        "{err}"
    );
}

#[test]
fn ctrl_c_mid_boot_leaves_no_qemu() {
    let k = kernel().display().to_string();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = isobench()
        .args(["run", "--scenario", "kernels", "--guest-kernels", &k])
        .args([
            "--iterations",
            "3",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(tmp.path().join("run.json"))
        .env("ISOBENCH_WORKDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    let needle = tmp.path().display().to_string();
    let limit = Instant::now() + Duration::from_secs(60);
    while qemus_with(&needle).is_empty() {
        assert!(Instant::now() < limit, "no QEMU started within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    isobench::sys::process::kill(child.id() as i32, libc::SIGINT).expect("SIGINT");
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(qemus_with(&needle).is_empty(), "QEMU left behind");
    assert!(
        !common::has_entry(tmp.path(), &|n| n.starts_with("isobench-")),
        "the work directory was left behind"
    );
}

#[test]
fn a_kernel_that_does_not_boot_fails_with_qemus_reason_and_is_given_up() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    // A boot sector and the bzImage magic, nothing else: QEMU refuses it at once.
    let fake = tmp.path().join("bzImage");
    let mut img = vec![0u8; 0x10000];
    img[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
    img[0x202..0x206].copy_from_slice(b"HdrS");
    std::fs::write(&fake, img).expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let json = tmp.path().join("run.json");
    let out = isobench()
        .args(["run", "--scenario", "kernels", "--guest-kernels"])
        .arg(&fake)
        .args([
            "--iterations",
            "3",
            "--warmup",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", tmp.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");
    assert_eq!(ms.len(), 1, "{ms:?}");
    assert_eq!(ms[0]["status"], "failed");
    let why = ms[0]["reason"].as_str().unwrap_or("");
    assert!(
        why.contains("QEMU exited") && why.contains("given up after 2"),
        "{why}"
    );
    assert!(qemus_with(&tmp.path().display().to_string()).is_empty());
}

#[test]
fn host_subjects_run_the_bench_on_the_host_kernel_and_compare() {
    // The first OCI runtime that can run here (crun, else runc); process alone otherwise.
    let (_tmp_env, env) = common::temp_env();
    let oci = [
        isobench::subject::SubjectKind::Crun,
        isobench::subject::SubjectKind::Runc,
    ]
    .into_iter()
    .find(|k| match k.create().available(&env) {
        Ok(()) => true,
        Err(u) => {
            eprintln!("not using {k}: {u}");
            false
        }
    });
    if oci.is_none() {
        eprintln!("no OCI runtime can run here: only the process group is checked");
    }
    let subjects = match oci {
        Some(k) => format!("process,{k}"),
        None => "process".to_string(),
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let json = tmp.path().join("run.json");
    let out = isobench()
        .args(["run", "--scenario", "kernels", "--subject", &subjects])
        .args([
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--kernel-bench-rounds",
            "2",
            "--kernel-bench-groups",
            "fork,unshare,setns,getppid",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .env("ISOBENCH_WORKDIR", tmp.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ms = run["measurements"].as_array().expect("measurements");
    assert!(
        ms.iter()
            .all(|m| m["subject"] != "qemu" && m["case"] != "boot"),
        "no guest boots without qemu in --subject"
    );
    let release = String::from_utf8_lossy(
        &Command::new("uname")
            .arg("-r")
            .output()
            .expect("uname")
            .stdout,
    )
    .trim()
    .to_string();
    let find = |subject: &str, case: &str, metric: &str| {
        ms.iter()
            .find(|m| m["subject"] == subject && m["case"] == case && m["metric"] == metric)
            .unwrap_or_else(|| panic!("{subject} {case}/{metric} missing: {ms:?}"))
    };
    let mut names = vec!["process"];
    names.extend(oci.map(|k| k.name()));
    for subject in &names {
        let none = find(subject, "none", "total");
        assert_eq!(none["status"], "ok", "{none}");
        assert_eq!(none["labels"]["semantics"], "fork");
        assert_eq!(
            none["labels"]["guest_kernel"],
            format!("host {release} ({subject})").as_str()
        );
        // Two launches of two rounds each, pooled.
        assert_eq!(none["samples"].as_array().map(Vec::len), Some(4));
        // Host groups run pinned like the clone scenario, and say so (where this
        // machine lets a thread pin itself, which `--pin auto` needs anyway).
        if isobench::sys::affinity::default_cpu()
            .ok()
            .flatten()
            .is_some()
        {
            let why = none["reason"].as_str().unwrap_or("");
            assert!(why.starts_with("pinned to CPU "), "{none}");
        }
        assert_eq!(find(subject, "syscall", "getppid")["status"], "ok");
        // Every namespace case is measured or skipped with the probe's reason; none is
        // failed or missing.
        for case in ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"] {
            for metric in ["unshare", "setns"] {
                let m = find(subject, case, metric);
                match m["status"].as_str() {
                    Some("ok") => {}
                    Some("skipped") => {
                        let why = m["reason"].as_str().unwrap_or("");
                        assert!(
                            why.contains("failed: E") || why.contains("no namespace to join"),
                            "{m}"
                        );
                        eprintln!("{subject} {case} {metric}: skipped: {why}");
                    }
                    _ => panic!("{m}"),
                }
            }
        }
    }
    if let Some(k) = oci {
        // The runtime's default capabilities lack CAP_SYS_ADMIN (`runc spec`'s set): a
        // new network namespace is refused inside, and the reason says so.
        let net = find(k.name(), "net", "unshare");
        assert_eq!(net["status"], "skipped", "{net}");
        assert!(
            net["reason"]
                .as_str()
                .is_some_and(|r| r.contains("EPERM") && r.contains("CAP_SYS_ADMIN")),
            "{net}"
        );
        // `compare --by guest_kernel` matches the process and the container groups.
        let out = isobench()
            .arg("compare")
            .arg(&json)
            .args(["--by", "guest_kernel", "--format", "json"])
            .output()
            .expect("compare");
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c: serde_json::Value = serde_json::from_slice(&out.stdout).expect("compare json");
        let labels: Vec<&str> = c["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .filter_map(|r| r["label"].as_str())
            .collect();
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert!(
            labels[0].ends_with("(process) [subject=process]"),
            "{labels:?}"
        );
        let compared = c["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["case"] == "none" && r["metric"] == "total")
            .count();
        assert_eq!(
            compared, 1,
            "the fork-semantics `none` row matches across the groups"
        );
    }
    assert!(
        !common::has_entry(tmp.path(), &|n| n.starts_with("isobench-")),
        "the work directory was left behind"
    );
}

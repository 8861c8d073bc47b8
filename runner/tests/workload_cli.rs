//! The `workload` scenario end to end through the real binary: a quick run of a short,
//! tiny-sized list in `process`, `sandbox` (when cgroups can be created here) and `qemu`
//! (when a guest kernel is there, as in CI) must give every metric `ok` with its labels
//! (`better`; `storage` and `fstype` for the file workloads; `accel` for the VM), the
//! `vs_process` ratios, and leave nothing in the work directory; bad input is refused
//! before anything runs.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Small enough that a TCG VM runs the whole list in a few seconds.
const TINY: &[&str] = &[
    "--syscall-iters",
    "20000",
    "--open-iters",
    "2000",
    "--mem-mib",
    "8",
    "--chase-mib",
    "4",
    "--fault-mib",
    "8",
    "--cpu-iters",
    "1000000",
    "--hash-rounds",
    "1000",
    "--file-mib",
    "2",
    "--sync-count",
    "10",
    "--files",
    "100",
    "--rr-count",
    "200",
    "--stream-mib",
    "4",
    "--sqlite-tx",
    "5",
    "--sqlite-queries",
    "500",
];

fn isobench(workdir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("isobench"));
    c.env("ISOBENCH_WORKDIR", workdir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Entries of `dir` (the work directory base): a finished run leaves none.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_workloads_and_sizes_are_refused_before_anything_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let json = out.path().join("run.json");
    let o = isobench(work.path())
        .args([
            "run",
            "--scenario",
            "workload",
            "--workloads",
            "syscall,gpu",
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("run isobench");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("unknown workload \"gpu\"; valid: syscall, memory, cpu, fileio, net, sqlite"),
        "{stderr}"
    );
    // Guest RAM: 3 x 64 MiB arrays and the reserve do not fit a 256 MiB VM.
    let o = isobench(work.path())
        .args([
            "run",
            "--scenario",
            "workload",
            "--subject",
            "qemu",
            "--mem-mib",
            "64",
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("run isobench");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--mem-mib 64: the triad's 3 arrays needs 192 MiB, but the qemu guest (RAM, -m) has 256 MiB"),
        "{stderr}"
    );
    assert!(!json.exists(), "no run file");
    assert!(
        entries(work.path()).is_empty(),
        "nothing made: {:?}",
        entries(work.path())
    );
}

#[test]
fn quick_run_measures_every_metric_with_its_labels_and_leaves_nothing() {
    let mut subjects = vec!["process"];
    match common::cgroups_usable("workload-cli") {
        None if common::is_root() => subjects.push("sandbox"),
        why => eprintln!("not measuring sandbox: not root or no cgroups here ({why:?})"),
    }
    let kernel = isobench::vm::kernel::find();
    let qemu = isobench::vm::qemu_info().is_some() && kernel.is_ok();
    if qemu {
        subjects.push("qemu");
    } else {
        eprintln!("not measuring qemu: no QEMU or no guest kernel (fixtures/setup-kernel.sh)");
    }
    // The VM's disk needs the guest's modules (fixtures/setup-kernel.sh puts them there).
    let vm_disk = kernel
        .as_ref()
        .is_ok_and(|k| isobench::vm::disk::modules(&k.path).is_ok_and(|m| m.is_some()));
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let json = out.path().join("run.json");
    let mut child = isobench(work.path())
        .args(["run", "--scenario", "workload", "--quick", "--no-progress"])
        .args(["--subject", &subjects.join(",")])
        .args(["--workloads", "syscall,memory,cpu,fileio,net,sqlite"])
        .args(TINY)
        .arg("--json")
        .arg(&json)
        .spawn()
        .expect("spawn isobench");
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(150));
    assert!(status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    assert_eq!(
        run["config"]["options"]["file_mib"], 2,
        "sizes are recorded"
    );
    let ms = run["measurements"].as_array().expect("measurements");
    let get = |subject: &str, case: &str, metric: &str| {
        ms.iter()
            .find(|m| m["subject"] == subject && m["case"] == case && m["metric"] == metric)
            .unwrap_or_else(|| panic!("no {subject}/{case}/{metric}"))
    };
    let table = [
        ("syscall", &["getppid_ns", "openat_close_ns"][..]),
        ("memory", &["triad_gbps", "chase_ns", "fault_ns"]),
        ("cpu", &["chain_ns", "hash_gbps"]),
        (
            "fileio",
            &[
                "seqwrite_mbps",
                "fdatasync_p50_us",
                "fdatasync_p99_us",
                "create_unlink_ops",
            ],
        ),
        ("net", &["rr_p50_us", "rr_p99_us", "stream_mbps"]),
        ("sqlite", &["insert_tps", "query_qps"]),
    ];
    for s in &subjects {
        let storage = match *s {
            "process" => "host-fs",
            "sandbox" => "bind",
            _ if vm_disk => "virtio-blk",
            _ => "initramfs",
        };
        for (case, metrics) in table {
            for metric in metrics {
                let m = get(s, case, metric);
                if *s == "qemu" && !vm_disk && matches!(case, "fileio" | "sqlite") {
                    assert_eq!(m["status"], "skipped", "{m}");
                    assert!(
                        m["reason"]
                            .as_str()
                            .is_some_and(|r| r.contains("setup-kernel.sh --force")),
                        "{m}"
                    );
                    continue;
                }
                assert_eq!(m["status"], "ok", "{m}");
                assert_eq!(m["samples"].as_array().map(Vec::len), Some(3), "{m}");
                assert!(m["samples"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|v| v.as_f64() > Some(0.0)));
                let l = &m["labels"];
                assert!(l["better"] == "lower" || l["better"] == "higher", "{m}");
                if matches!(case, "syscall" | "fileio" | "sqlite") {
                    assert_eq!(l["storage"], storage, "{m}");
                    assert!(l["fstype"].as_str().is_some_and(|f| !f.is_empty()), "{m}");
                } else {
                    assert!(l.get("storage").is_none(), "{m}");
                }
                if *s == "qemu" {
                    assert!(l["accel"] == "tcg" || l["accel"] == "kvm", "{m}");
                    if vm_disk && case != "syscall" {
                        assert_eq!(
                            l["fstype"],
                            if matches!(case, "fileio" | "sqlite") {
                                "ext4".into()
                            } else {
                                serde_json::Value::Null
                            },
                            "{m}"
                        );
                    }
                }
                if *s != "process" {
                    let r = get(s, case, &format!("{metric}.vs_process"));
                    assert_eq!(
                        (r["status"].as_str(), r["unit"].as_str()),
                        (Some("ok"), Some("ratio")),
                        "{r}"
                    );
                    assert_eq!(r["labels"]["base"], "process", "{r}");
                }
            }
        }
    }
    assert!(!stderr.contains("cleanup failed"), "{stderr}");
    // The work directory (rootfs, host directory, initramfs, disk images) is gone.
    assert!(
        entries(work.path()).is_empty(),
        "left behind: {:?}",
        entries(work.path())
    );
}

/// Ctrl-C while a VM is running its workloads with its disk attached: the run stops with
/// 130 and leaves no work directory (disk image, initramfs), no QEMU and no journal.
#[test]
fn ctrl_c_during_a_vm_workload_leaves_nothing() {
    let kernel = isobench::vm::kernel::find();
    let with_disk = kernel
        .as_ref()
        .is_ok_and(|k| isobench::vm::disk::modules(&k.path).is_ok_and(|m| m.is_some()));
    if isobench::vm::qemu_info().is_none() || !with_disk {
        eprintln!(
            "skipping: no QEMU, guest kernel or guest modules (fixtures/setup-kernel.sh --force)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let journal = tmp.path().join("journal");
    std::fs::create_dir_all(&work).expect("mkdir");
    let mut child = isobench(&work)
        .args([
            "run",
            "--scenario",
            "workload",
            "--subject",
            "qemu",
            "--no-progress",
        ])
        .args([
            "--workloads",
            "fileio,cpu",
            "--cpu-iters",
            "100000000000",
            "--json",
        ])
        .arg(tmp.path().join("run.json"))
        .env("ISOBENCH_JOURNAL_DIR", &journal)
        .spawn()
        .expect("spawn isobench");
    // The disk image exists once the VM is being started.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let has_image = |dir: &Path| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|run| {
                common::has_entry(&run.path(), &|n| {
                    n.starts_with("qemu-wl-") && n.ends_with(".img")
                })
            })
    };
    while !has_image(&work) {
        assert!(
            std::time::Instant::now() < deadline,
            "no VM disk within 60 s"
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "isobench exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(3000));
    isobench::sys::process::kill(child.id() as i32, libc::SIGINT).expect("SIGINT");
    let (status, stderr) = common::wait_run(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("cleanup failed"), "{stderr}");
    assert!(
        entries(&work).is_empty(),
        "left behind: {:?}",
        entries(&work)
    );
    assert!(
        entries(&journal).is_empty(),
        "journals left: {:?}",
        entries(&journal)
    );
    let qemus = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(&*work.to_string_lossy()))
        .count();
    assert_eq!(qemus, 0, "a process of the run is left");
}

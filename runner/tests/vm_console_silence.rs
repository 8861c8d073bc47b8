//! The console-silence bound of a VM boot and the per-boot cache of the KVM verdict,
//! with a fake QEMU: a shell script that prints what a guest would and then goes quiet
//! (as a KVM guest without VMX/SVM does after SeaBIOS). Needs no QEMU, no guest kernel;
//! the KVM verdict test needs a /dev/kvm that opens (else it says why and skips).
//!
//! The scripts are written with `sys::fs::write_executable` (from a forked child), so no
//! other test thread's fork can inherit them open for writing and make their exec fail
//! with ETXTBSY; the tests can run in parallel.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isobench::cleanup::{Cleanup, Resource};
use isobench::vm::boot::{Boot, BootError};
use isobench::vm::cmdline::{Accel, BootConfig};
use isobench::vm::console::Marker;

/// An executable `/bin/sh` script `name` in `dir` with `body`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    isobench::sys::fs::write_executable(&p, format!("#!/bin/sh\n{body}\n").as_bytes(), 0o755)
        .expect("write script");
    p
}

/// A boot config whose "QEMU" is `qemu` (it ignores QEMU's arguments).
fn fake_config(dir: &Path, qemu: PathBuf) -> BootConfig {
    let kernel = dir.join("vmlinuz");
    std::fs::write(&kernel, b"not a kernel").expect("write kernel");
    BootConfig {
        qemu,
        kernel,
        initramfs: dir.join("initramfs"),
        machine: "pc".into(),
        accel: Accel::Kvm,
        memory_mib: 256,
        debug_exit: true,
        probe_args: vec!["ready".into()],
        tsc_khz: None,
        disk: None,
    }
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn no_live_process(cleanup: &Cleanup) -> bool {
    cleanup
        .live()
        .iter()
        .all(|r| !matches!(r, Resource::Process { .. }))
}

/// What SeaBIOS prints before a KVM guest without VMX hangs, then silence. `exec` so
/// the pid isobench kills is the sleeping process itself.
const HANGS_AFTER_FIRMWARE: &str =
    "printf 'SeaBIOS (version 1.16.2)\\r\\nBooting from ROM...\\r\\nProbing EDD (edd=off to disable)... ok\\r\\n'\nexec sleep 60";

#[test]
fn silent_console_ends_the_wait_long_before_the_deadline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = fake_config(tmp.path(), script(tmp.path(), "qemu", HANGS_AFTER_FIRMWARE));
    let cleanup = Cleanup::in_memory();
    let t0 = Instant::now();
    let mut boot = Boot::start(&cfg, &cleanup, t0).expect("start the fake qemu");
    let pid = boot.pid();
    let bound = Duration::from_secs(1);
    let r = boot.wait_marker_or_silence(Marker::Ready, t0 + Duration::from_secs(20), bound);
    let took = t0.elapsed();
    match &r {
        Err(BootError::Silent { silent, after, .. }) => {
            assert!(*silent >= bound, "cut after {silent:?} of silence");
            assert!(
                after.contains("Probing EDD (edd=off to disable)... ok"),
                "{after}"
            );
        }
        other => panic!("expected a silence error, got {other:?}"),
    }
    let msg = r.expect_err("silent").to_string();
    assert!(msg.starts_with("console silent for 1."), "{msg}");
    assert!(took >= bound, "returned after {took:?}, before the bound");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the 20 s deadline, not the silence, ended it"
    );
    assert!(!alive(pid), "fake qemu {pid} survived the silence bound");
    assert!(no_live_process(&cleanup));
}

#[test]
fn a_console_that_never_prints_is_silent_since_the_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = fake_config(tmp.path(), script(tmp.path(), "qemu", "exec sleep 60"));
    let cleanup = Cleanup::in_memory();
    let t0 = Instant::now();
    let mut boot = Boot::start(&cfg, &cleanup, t0).expect("start the fake qemu");
    let r = boot.wait_marker_or_silence(
        Marker::Ready,
        t0 + Duration::from_secs(20),
        Duration::from_millis(500),
    );
    match r {
        Err(BootError::Silent { ref after, .. }) => {
            assert_eq!(after, "since QEMU started")
        }
        other => panic!("expected a silence error, got {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(no_live_process(&cleanup));
}

#[test]
fn steady_output_longer_than_the_bound_is_not_silence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 8 lines 0.3 s apart: 2.4 s of output in all, never 1.5 s of silence.
    let cfg = fake_config(
        tmp.path(),
        script(
            tmp.path(),
            "qemu",
            "for i in 1 2 3 4 5 6 7 8; do echo \"[    $i.0] booting\"; sleep 0.3; done\n\
             echo ISOBENCH-READY\nexec sleep 60",
        ),
    );
    let cleanup = Cleanup::in_memory();
    let t0 = Instant::now();
    let mut boot = Boot::start(&cfg, &cleanup, t0).expect("start the fake qemu");
    let r = boot.wait_marker_or_silence(
        Marker::Ready,
        t0 + Duration::from_secs(20),
        Duration::from_millis(1500),
    );
    assert!(r.is_ok(), "{r:?}\nconsole:\n{}", boot.console());
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "the output lasted longer than the bound"
    );
    boot.kill();
    assert!(no_live_process(&cleanup));
}

#[test]
fn kvm_verdict_is_cached_for_the_key_and_reprobed_when_it_changes() {
    if std::env::var_os("ISOBENCH_ACCEL").is_some() {
        eprintln!("skipping: ISOBENCH_ACCEL is set, the verdict would be forced");
        return;
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        eprintln!("skipping: /dev/kvm does not open ({e}), so nothing is probed or cached");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let starts = tmp.path().join("starts");
    let body = format!("echo x >> '{}'\n{HANGS_AFTER_FIRMWARE}", starts.display());
    let cfg = fake_config(tmp.path(), script(tmp.path(), "qemu", &body));
    // Another QEMU binary: same script, different path and size.
    let other = fake_config(
        tmp.path(),
        script(tmp.path(), "qemu-other", &format!("# rebuilt\n{body}")),
    );
    let cache = tmp.path().join("run/isobench/kvm-probe.json");
    let cleanup = Cleanup::in_memory();
    let boots = || {
        std::fs::read_to_string(&starts)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let limit = Duration::from_secs(20);

    let t = Instant::now();
    let first = isobench::vm::kvm::verdict(&cfg, &cleanup, limit, Some(&cache));
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "probe took {:?}: the silence bound did not end it",
        t.elapsed()
    );
    assert!(!first.usable, "{first:?}");
    assert!(first.note.contains("console silent for"), "{}", first.note);
    assert!(
        first.note.contains("guest hung under KVM"),
        "{}",
        first.note
    );
    assert_eq!(boots(), 1);
    assert!(cache.is_file(), "the verdict was not written");

    let second = isobench::vm::kvm::verdict(&cfg, &cleanup, limit, Some(&cache));
    assert_eq!(boots(), 1, "a matching key must not boot");
    assert!(!second.usable);
    assert!(
        second
            .note
            .starts_with("unusable (cached verdict of a probe at "),
        "{}",
        second.note
    );
    assert!(
        second.note.contains("guest hung under KVM")
            && second.note.ends_with("; `isobench doctor` re-probes)"),
        "{}",
        second.note
    );

    // Another QEMU binary is another key: probed again, and its verdict replaces the file.
    let third = isobench::vm::kvm::verdict(&other, &cleanup, limit, Some(&cache));
    assert_eq!(boots(), 2, "a changed key must probe again");
    assert!(third.note.starts_with("unusable: "), "{}", third.note);

    // A malformed file is no verdict: probed, then overwritten with a good one.
    std::fs::write(&cache, b"{ torn").expect("corrupt the cache");
    let fourth = isobench::vm::kvm::verdict(&cfg, &cleanup, limit, Some(&cache));
    assert_eq!(boots(), 3);
    assert!(fourth.note.starts_with("unusable: "), "{}", fourth.note);
    let fifth = isobench::vm::kvm::verdict(&cfg, &cleanup, limit, Some(&cache));
    assert_eq!(boots(), 3, "the rewritten cache is used");
    assert!(fifth.note.contains("cached verdict"), "{}", fifth.note);
    assert!(no_live_process(&cleanup));
}

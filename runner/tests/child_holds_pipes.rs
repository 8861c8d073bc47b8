//! Issue 13, item 6: a child that exits but leaves a process holding its stderr must not
//! hang isobench past its deadlines. A fake QEMU (a shell script, as in
//! `vm_console_silence.rs`) and a plain command fork a `sleep 1000` that ignores SIGTERM
//! and keeps the pipe open, then exit. The holder either stays in the child's process
//! group (killed with it) or leaves it with setsid (then isobench gives up on the pipe).
//!
//! Every wait here runs on a thread bounded by `within`, so a regression fails instead of
//! hanging the suite, and every holder is SIGKILLed by pid when its test ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use isobench::cleanup::Cleanup;
use isobench::vm::boot::Boot;
use isobench::vm::cmdline::{Accel, BootConfig};

/// Kills the holder whose pid the script wrote to `pidfile`, on every path.
struct Holder(PathBuf);

impl Holder {
    fn pid(&self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(p) = std::fs::read_to_string(&self.0)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return Some(p);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = isobench::sys::process::kill(pid, libc::SIGKILL);
        }
    }
}

/// Alive and not a zombie.
fn running(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !isobench::sys::process::is_zombie(pid)
}

/// Whether `pid` is gone (or a zombie) within 2 s: a SIGKILLed process closes its files,
/// which ends the pipe, a moment before it becomes a zombie.
fn dies(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// `f` on a thread, or `None` if it has not returned within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// The shell that forks the holder: in our process group, or out of it (`setsid`).
fn fork_holder(pidfile: &Path, leave_group: bool) -> String {
    let holder = if leave_group {
        "setsid sh -c 'trap \"\" TERM; exec sleep 1000'"
    } else {
        "sh -c 'trap \"\" TERM; exec sleep 1000'"
    };
    format!(
        "{holder} >/dev/null </dev/null & echo $! > '{}'",
        pidfile.display()
    )
}

fn fake_qemu(dir: &Path, body: &str) -> BootConfig {
    let qemu = dir.join("qemu");
    isobench::sys::fs::write_executable(&qemu, format!("#!/bin/sh\n{body}\n").as_bytes(), 0o755)
        .expect("write script");
    let kernel = dir.join("vmlinuz");
    std::fs::write(&kernel, b"not a kernel").expect("write kernel");
    BootConfig {
        qemu,
        kernel,
        initramfs: dir.join("initramfs"),
        machine: "pc".into(),
        accel: Accel::Tcg,
        memory_mib: 256,
        debug_exit: true,
        probe_args: vec!["ready".into()],
        tsc_khz: None,
        disk: None,
    }
}

fn boot_with_holder(leave_group: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let holder = Holder(tmp.path().join("holder.pid"));
    let cfg = fake_qemu(
        tmp.path(),
        &format!(
            "{}\nprintf 'ISOBENCH-READY\\nISOBENCH-DONE status=0\\n'\necho 'qemu: bye' >&2\nexit 0",
            fork_holder(&holder.0, leave_group)
        ),
    );
    let t0 = Instant::now();
    let r = within(Duration::from_secs(30), move || {
        let cleanup = Cleanup::in_memory();
        let mut boot = Boot::start(&cfg, &cleanup, t0).map_err(|e| e.to_string())?;
        let exit = boot
            .wait_exit(t0 + Duration::from_secs(20))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((exit.code, boot.console().to_string(), t0.elapsed()))
    });
    let (code, console, took) = match r {
        None => panic!(
            "the boot was still waiting 30 s after QEMU exited: its stderr reader was joined \
             while a child it left behind held the pipe"
        ),
        Some(r) => r.expect("boot"),
    };
    assert_eq!(code, Some(0), "{console}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} after QEMU exited at once"
    );
    let pid = holder.pid().expect("holder pid");
    if leave_group {
        assert!(
            running(pid),
            "the holder left the group; nothing kills it but us"
        );
    } else {
        assert!(console.contains("qemu: bye"), "stderr was read: {console}");
        assert!(
            dies(pid),
            "QEMU's process group was not killed: {pid} holds its stderr"
        );
    }
}

#[test]
fn a_qemu_leaving_a_child_on_its_stderr_does_not_hang_the_boot() {
    boot_with_holder(false);
}

#[test]
fn a_child_that_left_qemu_s_process_group_does_not_hang_the_boot_either() {
    boot_with_holder(true);
}

fn command_with_holder(leave_group: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let holder = Holder(tmp.path().join("holder.pid"));
    let script = format!("{}\necho out", fork_holder(&holder.0, leave_group));
    let r = within(Duration::from_secs(30), move || {
        let t = Instant::now();
        let out = isobench::subprocess::run(
            Command::new("sh").arg("-c").arg(script),
            Duration::from_secs(20),
        );
        (out.map_err(|e| e.to_string()), t.elapsed())
    });
    let (out, took) = r.unwrap_or_else(|| {
        panic!("subprocess::run was still waiting 30 s after its command exited (a child it left holds stderr)")
    });
    let out = out.expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let pid = holder.pid().expect("holder pid");
    if leave_group {
        assert!(
            running(pid),
            "the holder left the group; nothing kills it but us"
        );
    } else {
        assert!(
            dies(pid),
            "the command's process group was not killed: {pid} holds stderr"
        );
    }
}

#[test]
fn a_command_leaving_a_child_on_its_stderr_does_not_hang_run() {
    command_with_holder(false);
}

#[test]
fn a_child_that_left_the_command_s_process_group_does_not_hang_run_either() {
    command_with_holder(true);
}

//! Boots the probe in a real QEMU VM under TCG (skips, saying why, without QEMU or a
//! guest kernel; `fixtures/setup-kernel.sh` fetches one), and checks the timeout path
//! leaves no QEMU behind.

use std::time::{Duration, Instant};

use isobench::cleanup::Cleanup;
use isobench::probe::{parse_output, ProbeMode};
use isobench::subject::qemu::VmInstance;
use isobench::subject::Instance;
use isobench::vm::cmdline::{Accel, BootConfig};
use isobench::vm::console::Marker;
use isobench::workdir::Env;

/// A TCG boot config for the first machine type, or the reason there is none.
fn setup(env: &Env) -> Result<(BootConfig, isobench::cleanup::Guard), String> {
    let info = isobench::vm::qemu_info()
        .ok_or_else(|| format!("{} is not installed", isobench::vm::QEMU))?;
    let machine = info
        .machines
        .first()
        .ok_or("QEMU has neither pc nor microvm")?;
    let k = isobench::vm::kernel::find().map_err(|e| e.to_string())?;
    let (initrd, guard) =
        isobench::vm::write_initramfs(env, "test.initramfs").map_err(|e| e.to_string())?;
    Ok((
        isobench::vm::boot_config(info, &k.path, &initrd, machine, Accel::Tcg),
        guard,
    ))
}

fn alive(pid: i32) -> bool {
    // A zombie still has /proc/PID; "reaped" means the directory is gone.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn boots_probe_under_tcg_with_phases_in_order() {
    let cleanup = Cleanup::in_memory();
    let env = Env::new(cleanup.clone(), None).expect("env");
    let (mut cfg, _initrd) = match setup(&env) {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    // `info` shows the modes run in the guest as in a process: /init is pid 1.
    cfg.probe_args = ProbeMode::Info.args();
    let mut vm = VmInstance::start(&cfg, &env).expect("start qemu");
    let pid = vm.boot().pid();
    let limit = Instant::now() + Duration::from_secs(60);
    let ready = vm.wait_ready(limit);
    assert!(
        ready.is_ok(),
        "{ready:?}\ncommand: {}\nconsole:\n{}",
        cfg.describe(),
        vm.boot().console()
    );
    let exit = vm.wait_exit(limit).expect("the VM powers off");
    let kv = parse_output(&exit.output);
    assert_eq!(
        kv.get("pid").map(String::as_str),
        Some("1"),
        "{}",
        exit.output
    );
    // isa-debug-exit: QEMU's status is (guest status << 1) | 1.
    if cfg.debug_exit {
        assert_eq!(exit.code, Some(1), "{}", vm.boot().console());
    }

    let b = vm.boot();
    let at: Vec<Instant> = Marker::ALL
        .iter()
        .map(|m| {
            b.seen(*m)
                .unwrap_or_else(|| panic!("{m:?} missing:\n{}", b.console()))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "markers out of order");
    assert!(exit.at.expect("exit instant") >= at[3]);
    let phases = vm.phases();
    let names: Vec<&str> = phases.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "vmm_start",
        "firmware",
        "kernel_boot",
        "run",
        "poweroff",
        "console_at",
        "kernel_at",
        "done_at",
    ] {
        assert!(names.contains(&want), "phase {want} missing from {names:?}");
    }
    // The durations tile the launch: they add up to the time QEMU was reaped.
    let tiled: Duration = phases
        .iter()
        .filter(|(n, _)| !n.ends_with("_at"))
        .map(|(_, d)| *d)
        .sum();
    let reaped = exit.at.expect("exit instant") - b.t0;
    assert!(
        tiled <= reaped && reaped - tiled < Duration::from_millis(1),
        "durations {tiled:?} do not tile the launch {reaped:?}: {phases:?}"
    );
    vm.teardown().expect("teardown");
    assert!(!alive(pid), "qemu {pid} still exists after the boot");
    assert!(cleanup
        .live()
        .iter()
        .all(|r| !matches!(r, isobench::cleanup::Resource::Process { .. })));
}

#[test]
fn boot_timeout_kills_and_reaps_qemu() {
    let cleanup = Cleanup::in_memory();
    let mut env = Env::new(cleanup.clone(), None).expect("env");
    let (mut cfg, _initrd) = match setup(&env) {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    cfg.probe_args = ProbeMode::Hang.args();
    // Far too short for any boot: the VM must be killed at the bound.
    env.timeouts.vm_boot = Duration::from_millis(300);
    let started = Instant::now();
    let mut vm = VmInstance::start(&cfg, &env).expect("start qemu");
    let pid = vm.boot().pid();
    let r = vm.wait_ready(Instant::now() + Duration::from_secs(60));
    assert!(r.is_err(), "a 300 ms boot cannot reach ready under TCG");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the 300 ms bound was not honoured"
    );
    assert!(!alive(pid), "qemu {pid} survived its timeout");
    assert!(cleanup
        .live()
        .iter()
        .all(|r| !matches!(r, isobench::cleanup::Resource::Process { .. })));
}

#[test]
fn kvm_probe_is_bounded_and_leaves_nothing() {
    let cleanup = Cleanup::in_memory();
    let env = Env::new(cleanup.clone(), None).expect("env");
    let (cfg, _initrd) = match setup(&env) {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    if std::env::var_os("ISOBENCH_ACCEL").is_some() {
        eprintln!("skipping: ISOBENCH_ACCEL is set, the probe would not boot");
        return;
    }
    let limit = Duration::from_secs(5);
    let started = Instant::now();
    let s = isobench::vm::kvm::probe(&cfg, &cleanup, limit);
    // A hanging KVM guest is cut at the limit; allow for QEMU's start and the kill.
    assert!(
        started.elapsed() < limit + Duration::from_secs(10),
        "probe took {:?}",
        started.elapsed()
    );
    assert!(
        s.note
            .starts_with(if s.usable { "usable" } else { "unusable" }),
        "{s:?}"
    );
    assert!(cleanup
        .live()
        .iter()
        .all(|r| !matches!(r, isobench::cleanup::Resource::Process { .. })));
    eprintln!("kvm probe: {}", s.note);
}

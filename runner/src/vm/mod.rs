//! QEMU virtual machines: what the `qemu` subject boots and how.
//!
//! * [`cpio`] writes the initramfs (newc, uncompressed) whose `/init` is the static probe;
//! * [`kernel`] finds the guest kernel;
//! * [`guest_kernels`] resolves the `kernels` scenario's `--guest-kernels` list;
//! * [`boot`] runs one QEMU with direct kernel boot and timestamps its console;
//! * [`kvm`] decides, with one bounded boot, whether KVM works or TCG is used;
//! * [`kvm_cache`] keeps that verdict for the rest of the host's boot.
//!
//! The guest is the smallest thing that still is a VM boot: firmware (SeaBIOS on `pc`,
//! qboot on `microvm`), the kernel, and /init = the probe, which mounts proc/sys/devtmpfs,
//! prints its ready line on the serial console, runs its mode and powers off through
//! `isa-debug-exit` (fixtures/probe/src/vm.rs).

pub mod boot;
pub mod cmdline;
pub mod console;
pub mod cpio;
pub mod disk;
pub mod guest_kernels;
pub mod kernel;
pub mod kvm;
pub mod kvm_cache;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::cleanup::{Guard, Resource};
use crate::workdir::Env;

/// The QEMU system emulator isobench uses (`$ISOBENCH_QEMU` overrides).
pub const QEMU: &str = "qemu-system-x86_64";

/// Machine types measured, when this QEMU has them.
pub const MACHINES: [&str; 2] = ["pc", "microvm"];

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error(transparent)]
    Cpio(#[from] cpio::CpioError),
    #[error("cannot write the initramfs {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("{program} is not installed")]
    NotInstalled { program: &'static str },
    #[error("QEMU lists none of the machine types {}", .wanted.join(", "))]
    NoMachine { wanted: &'static [&'static str] },
    #[error("{0}; fix: {fix}", fix = kernel::FIX)]
    Kernel(#[from] kernel::KernelError),
    #[error(transparent)]
    Disk(#[from] disk::DiskError),
}

/// The initramfs: the probe as `/init`, the mount points it uses, and the device nodes
/// the kernel needs before devtmpfs is mounted (`/dev/console` is what init's
/// stdin/stdout/stderr are opened on; without it /init has no console at all).
pub fn initramfs(probe_elf: &[u8]) -> Result<Vec<u8>, cpio::CpioError> {
    initramfs_with_modules(probe_elf, &[])
}

/// [`initramfs`] plus kernel modules under [`disk::GUEST_MODULES`] with their load order
/// in `order` there, and the mount point [`disk::GUEST_MOUNT`] (the workload VM's disk).
pub fn initramfs_with_modules(
    probe_elf: &[u8],
    modules: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, cpio::CpioError> {
    let mut w = cpio::Writer::new();
    for d in ["dev", "proc", "sys", "tmp"] {
        w.dir(d, 0o755)?;
    }
    if !modules.is_empty() {
        let dir = disk::GUEST_MODULES.trim_start_matches('/');
        w.dir("lib", 0o755)?;
        w.dir(dir, 0o755)?;
        w.dir("mnt", 0o755)?;
        w.dir(disk::GUEST_MOUNT.trim_start_matches('/'), 0o755)?;
        let mut order = String::new();
        for (name, bytes) in modules {
            w.file(&format!("{dir}/{name}"), 0o644, bytes)?;
            order.push_str(name);
            order.push('\n');
        }
        w.file(&format!("{dir}/order"), 0o644, order.as_bytes())?;
    }
    w.char_dev("dev/console", 0o600, 5, 1)?;
    w.char_dev("dev/null", 0o666, 1, 3)?;
    w.char_dev("dev/ttyS0", 0o600, 4, 64)?;
    w.file("init", 0o755, probe_elf)?;
    Ok(w.finish())
}

/// Write the initramfs into the run's work directory (registered for removal first).
pub fn write_initramfs(env: &Env, name: &str) -> Result<(PathBuf, Guard), VmError> {
    write_initramfs_with(env, name, &[])
}

/// [`write_initramfs`] with `modules` (see [`initramfs_with_modules`]).
pub fn write_initramfs_with(
    env: &Env,
    name: &str,
    modules: &[(String, Vec<u8>)],
) -> Result<(PathBuf, Guard), VmError> {
    let bytes = initramfs_with_modules(crate::probe::PROBE_ELF, modules)?;
    let path = env.workdir.join(name);
    let guard = env
        .cleanup
        .register(Resource::File { path: path.clone() })?;
    std::fs::write(&path, bytes).map_err(|source| VmError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((path, guard))
}

/// What this host's QEMU offers, asked once per process (each question is a QEMU run).
#[derive(Debug, Clone)]
pub struct QemuInfo {
    pub path: PathBuf,
    pub version: String,
    /// Those of [`MACHINES`] that `-machine help` lists.
    pub machines: Vec<String>,
    /// `-device help` lists `isa-debug-exit`.
    pub debug_exit: bool,
}

static QEMU_INFO: OnceLock<Option<QemuInfo>> = OnceLock::new();

/// The QEMU binary and its capabilities, or `None` when it is not installed.
pub fn qemu_info() -> Option<&'static QemuInfo> {
    QEMU_INFO.get_or_init(probe_qemu).as_ref()
}

fn probe_qemu() -> Option<QemuInfo> {
    let prog = std::env::var("ISOBENCH_QEMU").unwrap_or_else(|_| QEMU.to_string());
    let path = crate::subprocess::which(&prog)?;
    let ask = |args: &[&str]| -> String {
        crate::subprocess::run(
            std::process::Command::new(&path).args(args),
            Duration::from_secs(10),
        )
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
    };
    let version = ask(&["--version"])
        .lines()
        .next()
        .map(crate::subprocess::extract_version)
        .unwrap_or_else(|| "unknown".into());
    let machines_text = ask(&["-machine", "help"]);
    let machines = MACHINES
        .iter()
        .filter(|m| {
            machines_text
                .lines()
                .any(|l| l.split_whitespace().next() == Some(**m))
        })
        .map(|m| m.to_string())
        .collect();
    let debug_exit = ask(&["-device", "help"]).contains("\"isa-debug-exit\"");
    Some(QemuInfo {
        path,
        version,
        machines,
        debug_exit,
    })
}

/// A boot configuration for `machine` with everything but the mode and accelerator.
pub fn boot_config(
    info: &QemuInfo,
    kernel: &Path,
    initramfs: &Path,
    machine: &str,
    accel: cmdline::Accel,
) -> cmdline::BootConfig {
    cmdline::BootConfig {
        qemu: info.path.clone(),
        kernel: kernel.to_path_buf(),
        initramfs: initramfs.to_path_buf(),
        machine: machine.to_string(),
        accel,
        memory_mib: cmdline::GUEST_MEMORY_MIB,
        debug_exit: info.debug_exit,
        probe_args: vec!["ready".into()],
        tsc_khz: host_tsc_khz(),
        disk: None,
    }
}

/// The host's TSC frequency in kHz: the kernel's own figure if sysfs exposes it, else
/// /proc/cpuinfo's `cpu MHz` (the nominal rate on `constant_tsc` CPUs).
pub fn host_tsc_khz() -> Option<u64> {
    if let Some(khz) = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/tsc_freq_khz")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return Some(khz);
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        .filter(|mhz| *mhz > 0.0)
        .map(|mhz| (mhz * 1000.0) as u64)
}

/// Probe KVM (once per run) for the fingerprint: `kvm_usable`, and notes saying what was
/// found. Only called when the `qemu` subject is selected.
pub fn host_probe(host: &mut isobench_reports::model::Host, env: &Env) {
    let k = match kernel::find() {
        Ok(k) => k,
        Err(e) => {
            host.notes
                .insert("kvm_probe".into(), format!("not probed: {e}"));
            return;
        }
    };
    host.notes.insert(
        "guest_kernel".into(),
        format!(
            "{} ({}; from {})",
            k.path.display(),
            k.version,
            k.source.describe()
        ),
    );
    let status = match kvm::cached() {
        Some(s) => s,
        None => match kvm_probe_boot(env, &k.path) {
            // The initramfs goes when `_initrd` drops, after the probe.
            Ok((cfg, _initrd)) => kvm::status(&cfg, &env.cleanup, env.timeouts.vm_boot),
            Err(why) => {
                host.notes
                    .insert("kvm_probe".into(), format!("not probed: {why}"));
                return;
            }
        },
    };
    host.kvm_usable = status.usable;
    host.notes.insert("kvm_probe".into(), status.note.clone());
}

/// The boot a KVM probe makes: this QEMU's first machine type, `kernel`, and the probe's
/// initramfs written to the work directory (removed when the guard drops). `Err`: why no
/// probe boot is possible.
pub fn kvm_probe_boot(env: &Env, kernel: &Path) -> Result<(cmdline::BootConfig, Guard), VmError> {
    let info = qemu_info().ok_or(VmError::NotInstalled { program: QEMU })?;
    let machine = info
        .machines
        .first()
        .ok_or(VmError::NoMachine { wanted: &MACHINES })?;
    let (initrd, guard) = write_initramfs(env, "kvm-probe.initramfs")?;
    let cfg = boot_config(info, kernel, &initrd, machine, cmdline::Accel::Kvm);
    Ok((cfg, guard))
}

#[cfg(test)]
mod tests {
    #[test]
    fn initramfs_has_init_and_console() {
        let bytes = super::initramfs(b"\x7fELF fake").expect("initramfs");
        let e = super::cpio::parse(&bytes).expect("parse");
        let init = e.iter().find(|x| x.name == "init").expect("init");
        assert_eq!(init.data, b"\x7fELF fake");
        assert_eq!(init.mode & 0o777, 0o755);
        let con = e.iter().find(|x| x.name == "dev/console").expect("console");
        assert_eq!(con.file_type(), super::cpio::S_IFCHR);
        assert_eq!((con.rdev_major, con.rdev_minor), (5, 1));
        // Parents come before children (the kernel creates entries in order).
        let pos = |n: &str| e.iter().position(|x| x.name == n).expect("entry");
        assert!(pos("dev") < pos("dev/console"));
        assert!(
            !e.iter().any(|x| x.name.starts_with("lib")),
            "no modules asked"
        );
    }

    #[test]
    fn modules_go_under_lib_with_their_order() {
        let mods = vec![
            ("virtio.ko".to_string(), b"A".to_vec()),
            ("virtio_blk.ko".to_string(), b"B".to_vec()),
        ];
        let bytes = super::initramfs_with_modules(b"\x7fELF", &mods).expect("initramfs");
        let e = super::cpio::parse(&bytes).expect("parse");
        let get = |n: &str| e.iter().find(|x| x.name == n).map(|x| x.data.clone());
        assert_eq!(
            get("lib/modules-isobench/virtio_blk.ko"),
            Some(b"B".to_vec())
        );
        assert_eq!(
            get("lib/modules-isobench/order"),
            Some(b"virtio.ko\nvirtio_blk.ko\n".to_vec())
        );
        assert!(get("mnt/wl").is_some(), "the mount point exists");
        let pos = |n: &str| e.iter().position(|x| x.name == n).expect("entry");
        assert!(pos("lib") < pos("lib/modules-isobench") && pos("mnt") < pos("mnt/wl"));
    }
}

//! `qemu`: the probe as /init of a QEMU virtual machine, one fresh VM per launch.
//!
//! Cases are machine types (`pc`: i440FX + SeaBIOS; `microvm`: no PCI, qboot) that this
//! QEMU has. The accelerator is KVM only if one bounded probe boot under KVM reached the
//! ready marker (`vm::kvm`), else TCG; every measurement carries labels `accel` and
//! `machine`. The guest is the probe in an initramfs built by isobench (`vm::cpio`) and a
//! kernel found by `vm::kernel`; see `vm::boot` for the QEMU command line.
//!
//! Timer points (all harness `Instant`s; `t0` read just before `launch`, which spawns
//! QEMU at once): the harness's `ready` is the probe's `ISOBENCH-READY` line arriving on
//! the serial console and its `total` is QEMU reaped. The subject adds, as offsets from
//! `t0`:
//! * `console` — first byte on the console (QEMU started, firmware running);
//! * `kernel` — the kernel's `Linux version` line (firmware done, kernel loaded,
//!   decompressed and in `start_kernel`);
//! * `done` — the probe's `ISOBENCH-DONE` line (just before it powers off);
//!
//! and per-stage durations:
//! * `firmware` = `kernel` − `console` (firmware, kernel loading and decompression);
//! * `kernel_boot` = `ready` − `kernel` (kernel init up to /init's first write);
//! * `poweroff` = `total` − `done` (the probe's power-off write to QEMU's process exit).
//!
//! Footprint (footprint pass, probe in `hang` mode, at ready): `qemu_rss`/`qemu_pss` of
//! the QEMU process and `guest_memory`, the RAM the guest was given (`-m`), for scale.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cleanup::Guard;
use crate::env::Env;
use crate::probe::ProbeMode;
use crate::vm::boot::{Accel, Boot, BootConfig, BootError, Marker};
use crate::vm::{self, kernel};

/// Measured boots per case: a TCG boot takes seconds.
const QUICK_ITERATIONS: usize = 5;
const FULL_ITERATIONS: usize = 20;

#[derive(Debug, Default)]
pub struct Qemu {
    prepared: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    base: BootConfig,
    machines: Vec<String>,
    _initramfs: Guard,
}

impl From<BootError> for SubjectError {
    fn from(e: BootError) -> Self {
        match e {
            BootError::Interrupted(s) => {
                SubjectError::Marker(crate::measure::MarkerError::Interrupted(s))
            }
            other => SubjectError::Other(other.to_string()),
        }
    }
}

impl Qemu {
    fn accel(&self) -> Accel {
        match &self.prepared {
            Some(p) => p.base.accel,
            None => vm::kvm::cached().map(|s| s.accel()).unwrap_or(Accel::Tcg),
        }
    }
}

impl Subject for Qemu {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Qemu
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        let Some(info) = vm::qemu_info() else {
            return Err(Unavailable::new(
                format!("{} is not installed", vm::QEMU),
                "apt-get install qemu-system-x86",
            ));
        };
        if info.machines.is_empty() {
            return Err(Unavailable::new(
                format!(
                    "{} {} has none of the machine types {}",
                    info.path.display(),
                    info.version,
                    vm::MACHINES.join(", ")
                ),
                "install Debian's qemu-system-x86",
            ));
        }
        if let Err(e) = kernel::find() {
            return Err(Unavailable::new(e.to_string(), kernel::FIX));
        }
        if !env.probe.is_file() {
            return Err(Unavailable::new(
                format!("probe binary {} is missing", env.probe.display()),
                "re-run isobench",
            ));
        }
        Ok(())
    }

    fn describe(&self) -> Description {
        Description {
            name: "qemu".into(),
            version: vm::qemu_info().map(|i| i.version.clone()),
            method: "qemu-system-x86_64 direct kernel boot of an initramfs whose /init is the probe; \
                     ready = ISOBENCH-READY on the serial console (stdio pipe); total = QEMU reaped \
                     after the probe's isa-debug-exit power-off"
                .into(),
        }
    }

    fn cases(&self, _env: &Env) -> Vec<String> {
        match &self.prepared {
            Some(p) => p.machines.clone(),
            None => vm::qemu_info()
                .map(|i| i.machines.clone())
                .unwrap_or_default(),
        }
    }

    fn max_iterations(&self, quick: bool) -> Option<usize> {
        Some(if quick {
            QUICK_ITERATIONS
        } else {
            FULL_ITERATIONS
        })
    }

    fn labels(&self, case: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("accel".to_string(), self.accel().name().to_string()),
            ("machine".to_string(), case.to_string()),
        ])
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        let info = vm::qemu_info()
            .ok_or_else(|| SubjectError::Other(format!("{} is not installed", vm::QEMU)))?;
        let k = kernel::find()
            .map_err(|e| SubjectError::Other(format!("{e}; fix: {}", kernel::FIX)))?;
        let machine = info.machines.first().cloned().ok_or_else(|| {
            SubjectError::Other("QEMU lists none of the machine types pc, microvm".into())
        })?;
        let (initramfs, guard) = vm::write_initramfs(env, "qemu.initramfs")
            .map_err(|e| SubjectError::Other(e.to_string()))?;
        let mut base = vm::boot_config(info, &k.path, &initramfs, &machine, Accel::Tcg);
        // At most one bounded probe boot per run (host_probe usually did it already).
        base.accel = vm::kvm::status(&base, &env.cleanup, env.timeouts.vm_boot).accel();
        if env.verbose {
            eprintln!("qemu: {}", base.describe());
        }
        self.prepared = Some(Prepared {
            base,
            machines: info.machines.clone(),
            _initramfs: guard,
        });
        Ok(())
    }

    fn launch(
        &mut self,
        env: &Env,
        case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        let t0 = Instant::now();
        let p = self
            .prepared
            .as_ref()
            .ok_or_else(|| SubjectError::Other("qemu: launch before prepare".into()))?;
        let cfg = BootConfig {
            machine: case.to_string(),
            probe_args: mode.args(),
            ..p.base.clone()
        };
        let boot = Boot::start(&cfg, &env.cleanup, t0)?;
        Ok(Box::new(VmInstance {
            boot,
            boot_deadline: t0 + env.timeouts.vm_boot,
            memory_bytes: cfg.memory_mib * 1024 * 1024,
        }))
    }

    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        self.prepared = None;
        Ok(())
    }
}

/// One running VM.
#[derive(Debug)]
pub struct VmInstance {
    boot: Boot,
    /// `t0 + vm_boot`: no wait of this VM goes past it.
    boot_deadline: Instant,
    memory_bytes: u64,
}

impl VmInstance {
    /// Boot a VM outside the harness's scenario loop (tests, tools).
    pub fn start(cfg: &BootConfig, env: &Env) -> Result<VmInstance, SubjectError> {
        let t0 = Instant::now();
        Ok(VmInstance {
            boot: Boot::start(cfg, &env.cleanup, t0)?,
            boot_deadline: t0 + env.timeouts.vm_boot,
            memory_bytes: cfg.memory_mib * 1024 * 1024,
        })
    }

    pub fn boot(&self) -> &Boot {
        &self.boot
    }
}

impl Instance for VmInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(self
            .boot
            .wait_marker(Marker::Ready, deadline.min(self.boot_deadline))?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let x = self.boot.wait_exit(deadline.min(self.boot_deadline))?;
        let output = self.boot.probe_output().to_string();
        match x.guest_status {
            Some(0) => {}
            Some(s) => {
                return Err(SubjectError::PayloadFailed(format!(
                    "the probe in the VM reported status {s}"
                )))
            }
            None => {
                return Err(SubjectError::PayloadFailed(format!(
                    "QEMU exited (code {:?}, signal {:?}) without the probe's ISOBENCH-DONE line{}",
                    x.code,
                    x.signal,
                    self.boot.tail()
                )))
            }
        }
        Ok(Exit {
            at: Some(x.at),
            code: x.code,
            signal: x.signal,
            output,
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        self.boot.kill();
        Ok(())
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        let b = &self.boot;
        let mut out = Vec::new();
        let console = b.offset(Marker::FirstOutput);
        let kernel = b.offset(Marker::Kernel);
        let ready = b.offset(Marker::Ready);
        let done = b.offset(Marker::Done);
        let total = b.exit().map(|x| x.at.saturating_duration_since(b.t0));
        for (name, d) in [("console", console), ("kernel", kernel), ("done", done)] {
            if let Some(d) = d {
                out.push((name.to_string(), d));
            }
        }
        let delta = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        for (name, d) in [
            ("firmware", delta(console, kernel)),
            ("kernel_boot", delta(kernel, ready)),
            ("poweroff", delta(done, total)),
        ] {
            if let Some(d) = d {
                out.push((name.to_string(), d));
            }
        }
        out
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut v = crate::footprint::of_pids(&[self.boot.pid()]).metrics("qemu");
        if !v.is_empty() {
            v.push(("guest_memory".into(), self.memory_bytes));
        }
        v
    }
}

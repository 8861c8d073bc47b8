//! `qemu`: the probe as /init of a QEMU virtual machine, one fresh VM per launch.
//!
//! Cases are machine types (`pc`: i440FX + SeaBIOS; `microvm`: no PCI, qboot) that this
//! QEMU has. The accelerator is KVM only if one bounded probe boot under KVM reached the
//! ready marker (`vm::kvm`; this host boot's cached verdict of one, if any), else TCG;
//! every measurement carries labels `accel` and `machine`. The guest is the probe in an
//! initramfs built by isobench (`vm::cpio`) and a kernel found by `vm::kernel`; see
//! `vm::boot` for the QEMU command line.
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
//! Under limits (`launch_limited`, the `throttle` scenario): a fresh cgroup of the cgroup
//! layer ([`crate::cgroup::AnyManager`], as for the `process` subject), which QEMU joins
//! between fork and exec (`vm::boot::Boot::start_in_cgroup`), so every QEMU thread (vCPU,
//! main loop, I/O) is in it. Its memory, pids and weight limits apply from the first
//! instruction; the **CPU bandwidth limit (quota, period) is written when the guest's
//! ready marker arrives**, and the guest's probe starts its `work` window
//! [`CPU_LIMIT_DELAY`] after that marker (`--start-delay-ms`), so the window runs under
//! the limit and the boot does not (label `cpu_limit_from=ready`). A TCG boot under a
//! quota of q % took ~100/q times its seconds of CPU (a 25 % point's boot ~7 s instead of
//! ~2 s) and measured nothing; a write that lands later than the delay fails the point
//! rather than measuring an unthrottled start. The guest's probe reports its window and
//! unit latencies over the console (guest clock). The cgroup's counters are QEMU's: CPU
//! usage includes the emulation (TCG) and the I/O thread, which is the point of
//! comparing it with a container's. The CPU counters reported are the difference
//! between two reads, when the limit is written (at the ready marker) and at the probe's
//! `ISOBENCH-DONE` line, i.e. the guest's delay (an idle vCPU), work window and the
//! printing of its results — not the boot, which for a VM costs seconds of CPU a
//! container does not spend (the `startup` scenario has it).
//! A throttled point's `cpu_share` is taken instead across the CFS refills the harness
//! sees in QEMU's cgroup while the guest works (`scenario/throttle/refills.rs`). The first
//! machine type is used; results carry the `accel` and `machine` labels. A memory limit
//! below the VM's own RAM gets QEMU itself OOM-killed by the host, which is reported as
//! such.
//!
//! Footprint (footprint pass, probe in `hang` mode, at ready): `qemu_rss`/`qemu_pss` of
//! the QEMU process and `guest_memory`, the RAM the guest was given (`-m`), for scale.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::Host;

use super::{Check, Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cleanup::Guard;
use crate::probe::ProbeMode;
use crate::vm::boot::{Boot, BootError};
use crate::vm::cmdline::{Accel, BootConfig};
use crate::vm::console::Marker;
use crate::vm::{self, kernel};
use crate::workdir::Env;

/// Measured boots per case: a TCG boot takes seconds.
const QUICK_ITERATIONS: usize = 5;
const FULL_ITERATIONS: usize = 20;

#[derive(Debug, Default)]
pub struct Qemu {
    prepared: Option<Prepared>,
    /// `set_guest_memory_mib`: guest RAM of `launch`'s VMs instead of the default.
    guest_mib: Option<u64>,
}

#[derive(Debug)]
struct Prepared {
    base: BootConfig,
    machines: Vec<String>,
    _initramfs: Guard,
    /// The guest's disk modules beside the kernel (`vm::disk::modules`), or why there
    /// are none.
    modules: Result<Vec<(String, Vec<u8>)>, Unavailable>,
    /// The workload initramfs (the probe plus those modules), made on first use.
    workload_initramfs: Option<(std::path::PathBuf, Guard)>,
    /// Disk images made so far (their names).
    disks: u64,
}

impl From<BootError> for SubjectError {
    fn from(e: BootError) -> Self {
        match e {
            BootError::Interrupted(s) => {
                SubjectError::Marker(crate::measure::MarkerError::Interrupted(s))
            }
            other => SubjectError::Boot(other),
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

    fn probe_host(&self, host: &mut Host, env: &Env, launched: bool) {
        if launched {
            vm::host_probe(host, env);
        } else {
            host.notes.insert(
                "kvm_probe".into(),
                "not probed (no scenario of this run launches the qemu subject)".into(),
            );
        }
    }

    fn doctor_checks(&self, env: &Env) -> Vec<Check> {
        doctor_checks(env)
    }

    fn describe(&self) -> Description {
        Description {
            name: "qemu".into(),
            class: "vm",
            phrase: "a QEMU VM".into(),
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

    fn set_guest_memory_mib(&mut self, mib: u64) {
        self.guest_mib = Some(mib);
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
        let info = vm::qemu_info().ok_or(vm::VmError::NotInstalled { program: vm::QEMU })?;
        let k = kernel::find().map_err(vm::VmError::from)?;
        let machine = info
            .machines
            .first()
            .cloned()
            .ok_or(vm::VmError::NoMachine {
                wanted: &vm::MACHINES,
            })?;
        let (initramfs, guard) = vm::write_initramfs(env, "qemu.initramfs")?;
        let fix = "fixtures/setup-kernel.sh --force (it extracts them from the kernel's package)";
        let modules = match vm::disk::modules(&k.path) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(Unavailable::new(
                format!(
                    "no modules directory beside the guest kernel {} (virtio_blk, virtio_pci are modules in the distribution's kernel; an older fixtures/kernels or a host /boot kernel has none), so the VM has no disk and its initramfs is RAM",
                    k.path.display()
                ),
                fix,
            )),
            Err(e) => Err(Unavailable::new(e.to_string(), fix)),
        };
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
            modules,
            workload_initramfs: None,
            disks: 0,
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
            .ok_or(SubjectError::NotPrepared { subject: "qemu" })?;
        let mut cfg = BootConfig {
            machine: case.to_string(),
            probe_args: mode.args(),
            memory_mib: self.guest_mib.unwrap_or(p.base.memory_mib),
            ..p.base.clone()
        };
        let mut disk = None;
        let mut budget = Duration::ZERO;
        if let ProbeMode::Workload(w) = mode {
            budget = w.budget;
            cfg.probe_args = mode.joined_args();
            let (c, d) = self.workload_boot(env, cfg, w)?;
            cfg = c;
            disk = d;
        }
        let boot = Boot::start(&cfg, &env.cleanup, t0)?;
        Ok(Box::new(VmInstance {
            boot,
            boot_deadline: t0 + env.timeouts.vm_boot + budget,
            memory_bytes: cfg.memory_mib * 1024 * 1024,
            results_with_status: budget > Duration::ZERO,
            _disk: disk,
        }))
    }

    /// Where the workload mode's file workloads go: the VM's virtio-blk disk when the
    /// guest's modules are there, else nowhere (fileio and sqlite are skipped with the
    /// fix; syscall's openat then works in the initramfs).
    fn workload_storage(&self, _env: &Env) -> Option<super::WorkloadStorage> {
        let p = self.prepared.as_ref()?;
        Some(match &p.modules {
            Ok(_) => super::WorkloadStorage::new(super::WorkloadDir::OwnDisk, "virtio-blk"),
            Err(why) => super::WorkloadStorage {
                dir: super::WorkloadDir::OwnDisk,
                storage: "initramfs".into(),
                no_disk: Some(why.clone()),
            },
        })
    }

    fn cpu_limit_from(&self) -> Option<&'static str> {
        Some("ready")
    }

    fn launch_limited(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
        limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        use crate::cgroup::CgroupManager;
        let p = self
            .prepared
            .as_ref()
            .ok_or(SubjectError::NotPrepared { subject: "qemu" })?;
        // The CPU bandwidth limit waits for the guest's ready marker (module doc): the
        // boot runs unthrottled, the probe's window starts `CPU_LIMIT_DELAY` after ready.
        let deferred = (limits.cpu_quota.is_some() || limits.cpu_period.is_some()).then(|| {
            crate::subject::limits::Limits {
                cpu_quota: limits.cpu_quota,
                cpu_period: limits.cpu_period,
                ..Default::default()
            }
        });
        let mut probe_args = mode.args();
        if deferred.is_some() && matches!(mode, ProbeMode::Work { .. }) {
            probe_args.extend([
                "--start-delay-ms".to_string(),
                CPU_LIMIT_DELAY.as_millis().to_string(),
            ]);
        }
        let cfg = BootConfig {
            probe_args,
            ..p.base.clone()
        };
        let at_start = crate::subject::limits::Limits {
            cpu_quota: None,
            cpu_period: None,
            ..*limits
        };
        let mut cgroup = crate::cgroup::AnyManager::create(
            &env.cleanup,
            &crate::cgroup::common::unique_name("qemu"),
        )?;
        let started = (|| {
            cgroup.apply(&at_start)?;
            let mut procs = Vec::new();
            for f in cgroup.procs_files() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .map_err(|e| SubjectError::file("open", &f, e))?;
                procs.push(std::os::fd::OwnedFd::from(file));
            }
            let t0 = Instant::now();
            Ok::<_, SubjectError>((t0, Boot::start_in_cgroup(&cfg, &env.cleanup, t0, procs)?))
        })();
        let (t0, boot) = match started {
            Ok(b) => b,
            Err(e) => {
                let _ = cgroup.remove();
                return Err(e);
            }
        };
        let window = match mode {
            ProbeMode::Work { window_ms, .. } => {
                Duration::from_millis(*window_ms) + CPU_LIMIT_DELAY
            }
            _ => Duration::ZERO,
        };
        // The window and the printing of its results run under the quota (not the boot).
        let slowdown = match (limits.cpu_quota, limits.cpu_period) {
            (Some(q), Some(per)) if !q.is_zero() => (per.as_secs_f64() / q.as_secs_f64()).max(1.0),
            _ => 1.0,
        };
        Ok(Box::new(LimitedVm {
            vm: VmInstance {
                boot,
                boot_deadline: t0 + env.timeouts.vm_boot + window.mul_f64(slowdown),
                memory_bytes: cfg.memory_mib * 1024 * 1024,
                results_with_status: false,
                _disk: None,
            },
            cgroup,
            memory_limit: limits.memory_bytes,
            deferred,
            at_ready: None,
            at_done: None,
            removed: false,
        }))
    }

    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        self.prepared = None;
        Ok(())
    }
}

impl Qemu {
    /// The boot of one workload launch: with the guest's modules, the workload initramfs
    /// and a fresh ext4 disk image (sized for `--file-mib`, removed with the VM), which
    /// the probe mounts at `vm::disk::GUEST_MOUNT` and works in.
    fn workload_boot(
        &mut self,
        env: &Env,
        mut cfg: BootConfig,
        w: &crate::probe::WorkloadArgs,
    ) -> Result<(BootConfig, Option<Guard>), SubjectError> {
        let p = self
            .prepared
            .as_mut()
            .ok_or(SubjectError::NotPrepared { subject: "qemu" })?;
        let Ok(modules) = &p.modules else {
            return Ok((cfg, None));
        };
        if p.workload_initramfs.is_none() {
            p.workload_initramfs = Some(vm::write_initramfs_with(
                env,
                "qemu-workload.initramfs",
                modules,
            )?);
        }
        if let Some((path, _)) = &p.workload_initramfs {
            cfg.initramfs = path.clone();
        }
        let file_mib = w
            .sizes
            .iter()
            .find(|(f, _)| *f == "file-mib")
            .map(|(_, v)| *v)
            .unwrap_or(64);
        p.disks += 1;
        let (image, guard) = vm::disk::create(
            env,
            &format!("qemu-wl-{}.img", p.disks),
            vm::disk::image_mib(file_mib),
        )
        .map_err(vm::VmError::from)?;
        cfg.disk = Some(image);
        let args = crate::probe::WorkloadArgs {
            dir: Some(vm::disk::GUEST_MOUNT.into()),
            disk: Some((
                vm::disk::GUEST_DEVICE.into(),
                vm::disk::GUEST_MODULES.into(),
            )),
            ..w.clone()
        };
        cfg.probe_args = ProbeMode::Workload(args).joined_args();
        Ok((cfg, Some(guard)))
    }
}

/// One running VM.
#[derive(Debug)]
pub struct VmInstance {
    boot: Boot,
    /// `t0 + vm_boot` (plus a workload's budget): no wait of this VM goes past it.
    boot_deadline: Instant,
    memory_bytes: u64,
    /// A non-zero status of the probe is a result, not an error (the workload mode says
    /// per workload what failed).
    results_with_status: bool,
    /// The workload disk image, removed with the VM.
    _disk: Option<Guard>,
}

impl VmInstance {
    /// Boot a VM outside the harness's scenario loop (tests, tools).
    pub fn start(cfg: &BootConfig, env: &Env) -> Result<VmInstance, SubjectError> {
        let t0 = Instant::now();
        Ok(VmInstance {
            boot: Boot::start(cfg, &env.cleanup, t0)?,
            boot_deadline: t0 + env.timeouts.vm_boot,
            memory_bytes: cfg.memory_mib * 1024 * 1024,
            results_with_status: false,
            _disk: None,
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
            Some(s) if self.results_with_status => {
                return Ok(Exit {
                    at: Some(x.at),
                    code: Some(i32::from(s)),
                    signal: x.signal,
                    output,
                })
            }
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
        // QEMU is gone: its disk image goes with it.
        self._disk = None;
        Ok(())
    }

    /// Durations that tile one boot — `vmm_start` (t0 → first console byte), `firmware`
    /// (→ "Linux version"), `kernel_boot` (→ ready marker), `run` (→ the probe's result
    /// line), `poweroff` (→ QEMU reaped) — and, named `*_at`, the offsets from t0 of the
    /// console, kernel and done markers. Reports stack only the durations.
    fn phases(&self) -> Vec<(String, Duration)> {
        let b = &self.boot;
        let console = b.offset(Marker::FirstOutput);
        let kernel = b.offset(Marker::Kernel);
        let ready = b.offset(Marker::Ready);
        let done = b.offset(Marker::Done);
        let total = b.exit().map(|x| x.at.saturating_duration_since(b.t0));
        let delta = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        [
            ("vmm_start", console),
            ("firmware", delta(console, kernel)),
            ("kernel_boot", delta(kernel, ready)),
            ("run", delta(ready, done)),
            ("poweroff", delta(done, total)),
            ("console_at", console),
            ("kernel_at", kernel),
            ("done_at", done),
        ]
        .into_iter()
        .filter_map(|(name, d)| d.map(|d| (name.to_string(), d)))
        .collect()
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut v = crate::measure::footprint::of_pids(&[self.boot.pid()]).metrics("qemu");
        if !v.is_empty() {
            v.push(("guest_memory".into(), self.memory_bytes));
        }
        v
    }
}

/// How long the guest's probe waits after its ready marker before its `work` window, so
/// the CPU limit written at the marker is in place when the window starts (the harness
/// writes it within about a millisecond; a later write fails the point).
const CPU_LIMIT_DELAY: Duration = Duration::from_millis(200);

/// A VM whose QEMU runs in a limited cgroup (`launch_limited`).
#[derive(Debug)]
struct LimitedVm {
    vm: VmInstance,
    cgroup: crate::cgroup::AnyManager,
    memory_limit: Option<u64>,
    /// The CPU bandwidth limit, written at the ready marker.
    /// The CPU bandwidth part of the point's limits (quota, period), written at the
    /// ready marker.
    deferred: Option<crate::subject::limits::Limits>,
    /// Counters when the CPU limit was written (at the ready marker) and at the probe's
    /// `ISOBENCH-DONE` line.
    at_ready: Option<crate::cgroup::Stats>,
    at_done: Option<crate::cgroup::Stats>,
    removed: bool,
}

impl LimitedVm {
    /// The host's OOM killer killed QEMU in its cgroup.
    fn oom_killed(&self) -> bool {
        use crate::cgroup::CgroupManager;
        self.cgroup.stats().is_ok_and(|s| s.memory.oom_kills > 0)
    }
}

impl Instance for LimitedVm {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        use crate::cgroup::CgroupManager;
        let r = self.vm.wait_ready(deadline);
        if r.is_ok() {
            if let Some(cpu) = &self.deferred {
                let seen = Instant::now();
                self.cgroup.apply(cpu)?;
                let late = seen.elapsed();
                if late >= CPU_LIMIT_DELAY {
                    return Err(SubjectError::PayloadFailed(format!(
                        "the CPU limit reached QEMU's cgroup {} ms after the guest's ready \
                         marker, after the probe's window had begun ({} ms later): the \
                         host is too busy for this point; re-run on a quieter machine",
                        late.as_millis(),
                        CPU_LIMIT_DELAY.as_millis()
                    )));
                }
            }
            self.at_ready = self.cgroup.stats().ok();
        }
        r.map_err(|e| match (self.oom_killed(), self.memory_limit) {
            (true, Some(limit)) => SubjectError::VmOomKilled {
                limit_mib: limit >> 20,
                guest_mib: self.vm.memory_bytes >> 20,
                source: Box::new(e),
            },
            _ => e,
        })
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        use crate::cgroup::CgroupManager;
        let deadline = deadline.min(self.vm.boot_deadline);
        match self.vm.boot.wait_marker(Marker::Done, deadline) {
            Ok(_) => self.at_done = self.cgroup.stats().ok(),
            // QEMU ended without the line (killed): its exit is the result below.
            Err(_) if self.vm.boot.exit().is_some() => {}
            Err(e) => return Err(e.into()),
        }
        // Any end is a result here (an OOM kill of QEMU included), as the contract says.
        let x = match self.vm.boot.exit() {
            Some(x) => x.clone(),
            None => self.vm.boot.wait_exit(deadline)?,
        };
        let code = match x.guest_status {
            Some(s) => Some(i32::from(s)),
            None if x.signal.is_some() => None,
            None => Some(x.code.unwrap_or(-1)),
        };
        Ok(Exit {
            at: Some(x.at),
            code,
            signal: x.signal,
            output: self.vm.boot.probe_output().to_string(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        use crate::cgroup::CgroupManager;
        self.vm.teardown()?;
        if !self.removed {
            self.cgroup.remove()?;
            self.removed = true;
        }
        Ok(())
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        self.vm.phases()
    }
}

impl crate::subject::limits::LimitedInstance for LimitedVm {
    /// CPU counters of the work window (ready → done, see the module doc); memory
    /// counters of the whole VM.
    fn cgroup_stats(&self) -> Result<crate::cgroup::Stats, SubjectError> {
        use crate::cgroup::CgroupManager;
        let mut now = self.cgroup.stats()?;
        if let (Some(a), Some(b)) = (self.at_ready, self.at_done) {
            now.cpu = crate::cgroup::CpuStats {
                usage: b.cpu.usage.saturating_sub(a.cpu.usage),
                nr_periods: b.cpu.nr_periods.saturating_sub(a.cpu.nr_periods),
                nr_throttled: b.cpu.nr_throttled.saturating_sub(a.cpu.nr_throttled),
                throttled: b.cpu.throttled.saturating_sub(a.cpu.throttled),
            };
        }
        Ok(now)
    }

    fn cgroup_version(&self) -> &'static str {
        use crate::cgroup::CgroupManager;
        self.cgroup.version()
    }

    /// QEMU's cgroup: every QEMU thread (vCPU, main loop, I/O) shares the quota.
    fn cpu_reader(&self) -> Option<crate::cgroup::CpuReader> {
        use crate::cgroup::CgroupManager;
        self.cgroup.cpu_reader().ok()
    }
}

impl Drop for LimitedVm {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: tearing down a limited VM: {e}");
        }
    }
}
/// `doctor`: QEMU, its machine types, the guest kernel and where it came from, KVM (a
/// fresh probe boot, whose verdict replaces the cached one).
fn doctor_checks(env: &Env) -> Vec<Check> {
    let mut out = Vec::new();
    match vm::qemu_info() {
        Some(i) => {
            out.push(Check::yes(
                "vm",
                "qemu",
                format!("{} {}", i.path.display(), i.version),
            ));
            out.push(if i.machines.is_empty() {
                Check::no(
                    "vm",
                    "machines",
                    "none of pc, microvm",
                    "install a QEMU built with the pc and microvm machine types (Debian: qemu-system-x86)",
                )
            } else {
                Check::yes("vm", "machines", i.machines.join(", "))
            });
            out.push(if i.debug_exit {
                Check::yes(
                    "vm",
                    "debug-exit",
                    "isa-debug-exit: the guest's status ends QEMU at once",
                )
            } else {
                Check::no(
                    "vm",
                    "debug-exit",
                    "no isa-debug-exit device: power-off goes through ACPI (slower, no status)",
                    "use a QEMU with the isa-debug-exit device (upstream default)",
                )
            });
        }
        None => out.push(Check::no(
            "vm",
            "qemu",
            format!("{} not found on PATH", vm::QEMU),
            "apt-get install qemu-system-x86",
        )),
    }
    out.push(match kernel::find() {
        Ok(k) => Check::yes(
            "vm",
            "kernel",
            format!(
                "{} ({}; from {})",
                k.path.display(),
                k.version,
                k.source.describe()
            ),
        ),
        Err(e) => Check::no("vm", "kernel", e.to_string(), kernel::FIX),
    });
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hw = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    let dev = std::path::Path::new("/dev/kvm").exists();
    out.push(match (dev, hw) {
        (true, true) => Check::yes(
            "vm",
            "kvm",
            "/dev/kvm present, CPU has VMX/SVM; the probe boot below confirms it",
        ),
        (true, false) => Check::no(
            "vm",
            "kvm",
            "/dev/kvm present but the CPU shows no VMX/SVM (nested virtualization off): KVM guests are expected to hang; the probe boot below says",
            "enable nested virtualization on the host's hypervisor, or accept TCG (slower, labelled accel=tcg)",
        ),
        (false, _) => Check::no(
            "vm",
            "kvm",
            "no /dev/kvm: VMs run under TCG",
            "load kvm_intel/kvm_amd, or accept TCG (labelled accel=tcg)",
        ),
    });
    out.push(doctor_probe(env));
    out
}

/// `doctor`'s KVM probe: always a fresh boot (a cached verdict may be the very thing
/// being doubted), written to the cache for the runs that follow.
fn doctor_probe(env: &Env) -> Check {
    const NAME: &str = "kvm probe";
    let not_probed = |why: &dyn std::fmt::Display| {
        Check::no(
            "vm",
            NAME,
            format!("not probed: {why}"),
            "see the qemu and kernel checks above",
        )
    };
    let k = match kernel::find() {
        Ok(k) => k,
        Err(why) => return not_probed(&why),
    };
    let (cfg, _initrd) = match vm::kvm_probe_boot(env, &k.path) {
        Ok(x) => x,
        Err(why) => return not_probed(&why),
    };
    let (status, cache) = vm::kvm::reprobe(&cfg, &env.cleanup, env.timeouts.vm_boot);
    let detail = format!("{}; {cache}", status.note);
    if status.usable {
        Check::yes("vm", NAME, detail)
    } else {
        Check::no(
            "vm",
            NAME,
            detail,
            "VMs run under TCG (labelled accel=tcg); for KVM, enable nested virtualization (VMX/SVM) on the host's hypervisor",
        )
    }
}

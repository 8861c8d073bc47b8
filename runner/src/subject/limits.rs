//! Launching the probe under cgroup limits: the subject side of the `throttle` scenario.
//!
//! Contract of [`super::Subject::launch_limited`] (every subject that joins `throttle`
//! implements it; the default says "not supported by this subject yet"):
//! * the payload runs under `limits` from its first instruction (qemu: its CPU bandwidth from
//!   the ready marker, below) — the probe's `work`
//!   window must not start before the limit applies;
//! * the returned [`LimitedInstance`] reads the counters of the cgroup that holds the
//!   payload ([`LimitedInstance::cgroup_stats`]) after the payload exited and before
//!   `teardown`, which removes that cgroup;
//! * `wait_exit` returns `Ok` for a payload killed by a signal (with `Exit::signal` set),
//!   so an OOM kill is a result, not an error; stdout of the probe is in `Exit::output`.
//!
//! How each subject meets it:
//! * `process` (here): a fresh isobench cgroup; the probe joins it between fork and
//!   execve (`sys::cgroup_spawn`).
//! * `sandbox`: the same kind of cgroup, made by the harness; the container's init joins
//!   it (`cgroup.procs` through directory fds) before it execs the probe.
//! * `runc`/`crun`: `create` + `start` with the spec's `linux.resources.cpu.{quota,
//!   period,shares}`, `memory.{limit,swap}`, `pids.limit`; `cgroupsPath` below a
//!   registered per-run parent; counters read after exit, before `delete`
//!   ([`crate::cgroup::AnyManager::existing`]).
//! * `runsc`: as runc (the spec's `linux.resources`); the sandbox (sentry and gofer)
//!   joins the container's cgroup, so gVisor's own work counts against the limits too.
//! * `nspawn`: the harness's launch cgroup gets the limits before systemd-nspawn is
//!   spawned into it (`sys::cgroup_spawn`); nspawn's "terminated by signal KILL" says
//!   an OOM kill.
//! * `docker`/`podman`: `--cpu-period`/`--cpu-quota` (what `--cpus` sets), `--cpu-shares`,
//!   `--memory`/`--memory-swap`, `--pids-limit`, `--cgroup-parent` a registered per-run
//!   parent; the engine removes the cgroup when the container exits, so the probe
//!   lingers (`--linger-stdin`) while the counters are read (`engine::throttled`).
//! * `qemu`: a cgroup made with [`crate::cgroup::AnyManager`], which QEMU joins between
//!   fork and exec, so the vCPU threads are limited; CPU counters of the guest's window.
//!   The one exception to "from the first instruction": the CPU bandwidth limit is
//!   written at the guest's ready marker and the guest's window starts 200 ms later
//!   (`Subject::cpu_limit_from`, label `cpu_limit_from=ready`), so the TCG boot is not
//!   throttled (it took ~100/q times as long and measured nothing).
//! * `bwrap` (no cgroups) and `namespaces` (no cgroup of its own) say why not: one
//!   skipped line each; `lxc` (its `lxc.cgroup.*` keys) is not done yet and says so.
//!
//! CPU weight: `cpu.shares` only competes among siblings, so a runtime's or engine's
//! per-run parent gets the same weight as the container ([`weigh_parent`]).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::{Exit, Instance, SubjectError};
use crate::cgroup::{common::unique_name, AnyManager, CgroupManager, CpuReader, Stats};
use crate::probe::ProbeMode;
use crate::subprocess::{PipeReader, PIPE_GIVE_UP};
use crate::sys;
use crate::workdir::Env;

pub use crate::cgroup::Limits;

/// A payload launched under limits.
pub trait LimitedInstance: Instance {
    /// Counters of the payload's cgroup (valid after exit, until `teardown`).
    fn cgroup_stats(&self) -> Result<Stats, SubjectError>;

    /// CPU time of the payload itself (user + system, from wait4's rusage) when the
    /// subject can see it; a cross-check of the cgroup's own usage counter.
    fn payload_cpu(&self) -> Option<Duration> {
        None
    }

    /// "v1" or "v2": which cgroup version enforced the limits.
    fn cgroup_version(&self) -> &'static str;

    /// Where the payload cgroup's CPU counters are, for polling them while the payload
    /// runs (the throttle scenario's share between CFS refills,
    /// `scenario/throttle/refills.rs`). `None` where the subject cannot say; the share
    /// then comes from the whole window.
    fn cpu_reader(&self) -> Option<CpuReader> {
        None
    }
}

/// An instance that knows its payload's own CPU time (from wait4's rusage).
pub trait PayloadCpu {
    fn payload_cpu(&self) -> Option<Duration>;
}

/// Who removes the cgroup of an [`InCgroup`] instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupOwner {
    /// The harness created it: teardown removes it after the payload is gone.
    Harness,
    /// The runtime created it and removes it itself (`runc delete`); only read here.
    Runtime,
}

/// A subject's instance plus the cgroup the throttle scenario reads: the shared
/// `LimitedInstance` for subjects whose limits are set on a cgroup (sandbox: one the
/// harness made; runc/crun: the runtime's, read before `delete`).
pub struct InCgroup<I: Instance + PayloadCpu> {
    pub inst: I,
    pub cgroup: AnyManager,
    owner: CgroupOwner,
    removed: bool,
}

impl<I: Instance + PayloadCpu> InCgroup<I> {
    pub fn new(inst: I, cgroup: AnyManager, owner: CgroupOwner) -> Self {
        InCgroup {
            inst,
            cgroup,
            owner,
            removed: false,
        }
    }
}

impl<I: Instance + PayloadCpu> std::fmt::Debug for InCgroup<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InCgroup({:?})", self.cgroup.paths())
    }
}

impl<I: Instance + PayloadCpu> Instance for InCgroup<I> {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        self.inst.wait_ready(deadline)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        self.inst.wait_exit(deadline)
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        self.inst.teardown()?;
        if self.owner == CgroupOwner::Harness && !self.removed {
            self.cgroup.remove()?;
            self.removed = true;
        }
        Ok(())
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        self.inst.phases()
    }
}

impl<I: Instance + PayloadCpu> LimitedInstance for InCgroup<I> {
    fn cgroup_stats(&self) -> Result<Stats, SubjectError> {
        Ok(self.cgroup.stats()?)
    }

    fn payload_cpu(&self) -> Option<Duration> {
        self.inst.payload_cpu()
    }

    fn cgroup_version(&self) -> &'static str {
        self.cgroup.version()
    }

    fn cpu_reader(&self) -> Option<CpuReader> {
        self.cgroup.cpu_reader().ok()
    }
}

impl<I: Instance + PayloadCpu> Drop for InCgroup<I> {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: tearing down a limited instance: {e}");
        }
    }
}

/// The probe as a child process in a fresh cgroup of its own.
pub struct CgroupProbe {
    pid: i32,
    ready_rd: OwnedFd,
    output: Option<PipeReader>,
    reaped: bool,
    /// user + system time from wait4, once reaped normally.
    cpu: Option<Duration>,
    cgroup: AnyManager,
}

impl std::fmt::Debug for CgroupProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CgroupProbe")
            .field("pid", &self.pid)
            .field("cgroup", &self.cgroup.paths())
            .finish()
    }
}

/// Create a cgroup with `limits` (registered in `env.cleanup` before it is made) and start
/// the probe in `mode` inside it, with its ready pipe on fd 3 and stdout captured.
pub fn spawn_probe_in_cgroup(
    env: &Env,
    mode: &ProbeMode,
    limits: &Limits,
) -> Result<CgroupProbe, SubjectError> {
    let mut cgroup = AnyManager::create(&env.cleanup, &unique_name("probe"))?;
    if let Err(e) = cgroup.apply(limits) {
        let _ = cgroup.remove();
        return Err(e.into());
    }
    let (ready_rd, ready_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
    let (out_rd, out_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
    let probe = env.probe.to_string_lossy().into_owned();
    let mut argv = vec![probe.clone()];
    argv.extend(mode.args());
    argv.push("--ready-fd".into());
    argv.push(crate::subject::child::READY_FD.to_string());
    let envp = vec!["PATH=/usr/bin:/bin".to_string()];
    let spawned = sys::cgroup_spawn::spawn_in_cgroups(
        &probe,
        &argv,
        &envp,
        &[
            (ready_wr.as_raw_fd(), crate::subject::child::READY_FD),
            (out_wr.as_raw_fd(), 1),
        ],
        &cgroup.procs_files(),
    );
    drop(ready_wr);
    drop(out_wr);
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            let _ = cgroup.remove();
            return Err(SubjectError::SpawnInCgroup {
                program: probe,
                source: e,
            });
        }
    };
    // The probe prints its results (thousands of latencies) at the end; a reader thread
    // keeps the pipe drained so it never blocks on a full pipe.
    let output = PipeReader::spawn(std::fs::File::from(out_rd));
    Ok(CgroupProbe {
        pid,
        ready_rd,
        output: Some(output),
        reaped: false,
        cpu: None,
        cgroup,
    })
}

impl CgroupProbe {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The cgroup's directories (for tests and messages).
    pub fn cgroup_paths(&self) -> Vec<std::path::PathBuf> {
        self.cgroup.paths()
    }

    /// The probe's stdout, once it has exited (bounded: a pipe still open is given up).
    fn collect_output(&mut self) -> String {
        let Some(mut r) = self.output.take() else {
            return String::new();
        };
        r.wait_end(Instant::now() + PIPE_GIVE_UP);
        String::from_utf8_lossy(&r.take()).into_owned()
    }
}

impl Instance for CgroupProbe {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(crate::measure::wait_byte(self.ready_rd.as_fd(), deadline)?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = crate::subject::child::wait_pid_deadline(self.pid, deadline);
        let at = Instant::now();
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                // wait_pid_deadline killed and reaped it.
                self.reaped = true;
                let _ = self.collect_output();
                return Err(e);
            }
        };
        self.reaped = true;
        self.cpu = Some(r.user + r.system);
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output: self.collect_output(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::wait4(self.pid, true);
            self.reaped = true;
            let _ = self.collect_output();
        }
        self.cgroup.remove()?;
        Ok(())
    }
}

impl LimitedInstance for CgroupProbe {
    fn cgroup_stats(&self) -> Result<Stats, SubjectError> {
        Ok(self.cgroup.stats()?)
    }

    fn payload_cpu(&self) -> Option<Duration> {
        self.cpu
    }

    fn cgroup_version(&self) -> &'static str {
        self.cgroup.version()
    }

    fn cpu_reader(&self) -> Option<CpuReader> {
        self.cgroup.cpu_reader().ok()
    }
}

impl Drop for CgroupProbe {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: removing the probe's cgroup: {e}");
        }
    }
}

/// Give the parent cgroup `rel` (relative to the hierarchy roots; e.g. a runtime's
/// per-run `cgroupsPath` prefix or an engine's `--cgroup-parent`) the CPU weight
/// `shares`, creating it if the runtime has not yet. CFS weights only compete among
/// siblings: a container's `cpu.shares` counts inside its parent, and the parent competes
/// at the default weight (1024) with everything else on the host unless it gets the
/// same weight as the `process` subject's cgroup (which sits where the parent does).
/// The caller has registered `rel` for removal.
pub fn weigh_parent(rel: &str, shares: u64) -> Result<(), SubjectError> {
    use crate::cgroup::common::WrapIoResult;
    let rel = rel.trim_start_matches('/');
    let layout = crate::cgroup::detect().map_err(crate::cgroup::CgroupError::from)?;
    match crate::cgroup::manager::choose(&layout) {
        crate::cgroup::manager::Choice::V1 => {
            let p = "/proc/self/mountinfo";
            let text = std::fs::read_to_string(p)
                .wrap_read(std::path::Path::new(p))
                .map_err(crate::cgroup::CgroupError::from)?;
            for h in crate::cgroup::v1::parse_mountinfo(&text)
                .iter()
                .filter(|h| h.controllers.iter().any(|c| c == "cpu"))
            {
                let dir = h.mount_point.join(rel);
                std::fs::create_dir_all(&dir)
                    .wrap_create_dir(&dir)
                    .map_err(crate::cgroup::CgroupError::from)?;
                crate::cgroup::v1::cpu::set_shares(&dir, shares)?;
            }
        }
        crate::cgroup::manager::Choice::V2(root) => {
            let dir = root.join(rel);
            if dir.is_dir() {
                crate::cgroup::v2::cpu::set_weight(&dir, shares)?;
            }
        }
    }
    Ok(())
}

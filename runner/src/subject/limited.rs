//! Launching the probe under cgroup limits: the subject side of the `throttle` scenario.
//!
//! Contract of [`super::Subject::launch_limited`] (every subject that joins `throttle`
//! implements it; the default says "not supported by this subject yet"):
//! * the payload runs under `limits` from its first instruction — the probe's `work`
//!   window must not start before the limit applies;
//! * the returned [`LimitedInstance`] reads the counters of the cgroup that holds the
//!   payload ([`LimitedInstance::cgroup_stats`]) after the payload exited and before
//!   `teardown`, which removes that cgroup;
//! * `wait_exit` returns `Ok` for a payload killed by a signal (with `Exit::signal` set),
//!   so an OOM kill is a result, not an error; stdout of the probe is in `Exit::output`.
//!
//! How each subject is meant to meet it:
//! * `process` (here): a fresh isobench cgroup; the probe joins it between fork and
//!   execve (`sys::cgroup_spawn`).
//! * `docker`/`podman`: `--cpus` (= `--cpu-quota`/`--cpu-period`), `--memory`,
//!   `--memory-swap` (= memory, i.e. no swap), `--pids-limit`; stats from the container's
//!   cgroup (`docker inspect` → cgroup path) before `rm`.
//! * `runc`/`crun`/`sandbox`: the OCI spec's `linux.resources.cpu.{quota,period,burst}`,
//!   `linux.resources.memory.{limit,swap}`, `linux.resources.pids.limit`, with
//!   `linux.cgroupsPath` set to an isobench-registered path, read with this module's
//!   managers.
//! * `qemu`: create the cgroup with [`crate::cgroup::AnyManager`] and start the QEMU
//!   process inside it (the same fork-then-join spawn), so the vCPU threads are limited.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Exit, Instance, SubjectError};
use crate::cgroup::{common::unique_name, AnyManager, CgroupManager, Stats};
use crate::env::Env;
use crate::probe::ProbeMode;
use crate::sys;

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
}

/// The probe as a child process in a fresh cgroup of its own.
pub struct CgroupProbe {
    pid: i32,
    ready_rd: OwnedFd,
    output: Option<JoinHandle<String>>,
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
    argv.push(super::process::READY_FD.to_string());
    let envp = vec!["PATH=/usr/bin:/bin".to_string()];
    let spawned = sys::cgroup_spawn::spawn_in_cgroups(
        &probe,
        &argv,
        &envp,
        &[
            (ready_wr.as_raw_fd(), super::process::READY_FD),
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
            return Err(SubjectError::Other(format!(
                "starting {probe} in a cgroup: {e}"
            )));
        }
    };
    // The probe prints its results (thousands of latencies) at the end; a reader thread
    // keeps the pipe drained so it never blocks on a full pipe.
    let output = std::thread::spawn(move || {
        let mut f = std::fs::File::from(out_rd);
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut f, &mut s);
        s
    });
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

    fn collect_output(&mut self) -> String {
        self.output
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Instance for CgroupProbe {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(crate::measure::wait_byte(self.ready_rd.as_fd(), deadline)?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = super::process::wait_pid_deadline(self.pid, deadline);
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
}

impl Drop for CgroupProbe {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: removing the probe's cgroup: {e}");
        }
    }
}

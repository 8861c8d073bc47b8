//! `docker`/`podman` under cgroup limits: the engine side of the `throttle` scenario.
//!
//! Launch: `ENGINE run -i --name N --network none --label isobench=1 --cidfile F
//! --cgroup-parent /<run>-<engine> --cpu-period P --cpu-quota Q --cpu-shares S
//! [--memory M --memory-swap M+SWAP] [--pids-limit N] IMAGE /isobench-probe <mode>
//! --linger-stdin` (no `--rm`), the client's stdin and stdout on pipes. The engine's
//! runtime writes the limits before the probe is exec'd, so the `work` window starts
//! under them.
//!
//! Reading the counters: an engine removes a container's cgroup as soon as the container
//! exits (the runtime's `delete` runs on task exit), so they are read while it is alive:
//! the probe prints its results and `ISOBENCH-DONE`, then (`--linger-stdin`) blocks on
//! stdin without using CPU; the harness reads the cgroup
//! `/<parent>/<dir holding the container id>` (docker's cgroupfs driver names it `<id>`,
//! podman's `libpod-<id>`; the id comes from `--cidfile`), then closes the client's stdin
//! so the probe exits, and reaps the client. A payload killed before it finished (the
//! OOM point) leaves no cgroup to read: then `oom_kill` is the number of the kernel
//! log's `oom-kill:` records whose `task_memcg` names the container (`dmesg`), or 1 if
//! the engine's `inspect` says `State.OOMKilled` (podman's conmon misses OOM kills on a
//! v1 cgroupfs host: its `OOMKilled` stays false while the kernel log has the kill), and
//! the exit signal comes from the client's `128 + signal` exit code.
//!
//! Why `--cgroup-parent`: CFS weights only compete among siblings, so the per-run parent
//! gets the scenario's `cpu.shares` too (`limits::weigh_parent`), as the `process`
//! subject's cgroup has; and every cgroup the run makes is under one registered name
//! (`isobench clean` finds it in the journal).
//!
//! Cleanup: the container name is registered (`Resource::EngineContainer`, `rm -f`)
//! before `run`; teardown kills the container if the client is still attached, reaps the
//! client and removes the container.

use std::fs;
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout, Command};
use std::time::{Duration, Instant};

use super::{reap_orphans, EngineError, QUERY_TIMEOUT};
use crate::cgroup::{AnyManager, CgroupManager, Stats};
use crate::cleanup::Guard;
use crate::measure::{LineWaiter, MarkerError};
use crate::subject::limits::{LimitedInstance, Limits};
use crate::subject::reserved_names::Slots;
use crate::subject::{Exit, Instance, SubjectError};

/// The probe's last result line (its protocol, see `fixtures/probe`).
const DONE_LINE: &str = "ISOBENCH-DONE";

/// How long the client may take to exit once its stdin was closed.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// The `run` options that put `l` on the container (docker-run(1), podman-run(1)).
pub fn limit_args(l: &Limits) -> Vec<String> {
    let us = |d: Duration| d.as_micros() as u64;
    let mut a = Vec::new();
    if let Some(p) = l.cpu_period {
        a.push(format!("--cpu-period={}", us(p)));
    }
    if let Some(q) = l.cpu_quota {
        // The engines refuse quotas under 1 ms.
        a.push(format!("--cpu-quota={}", us(q).max(1000)));
    }
    if let Some(s) = l.cpu_shares {
        a.push(format!("--cpu-shares={s}"));
    }
    if let Some(m) = l.memory_bytes {
        a.push(format!("--memory={m}b"));
        if let Some(s) = l.swap_bytes {
            // The engines' --memory-swap is memory + swap; equal to --memory: no swap.
            a.push(format!("--memory-swap={}b", m.saturating_add(s)));
        }
    }
    if let Some(p) = l.pids_max {
        a.push(format!("--pids-limit={p}"));
    }
    a
}

/// One `ENGINE run -i` client and its limited container.
#[derive(Debug)]
pub struct LimitedEngine {
    pub(super) binary: &'static str,
    pub(super) global: Vec<String>,
    pub(super) name: String,
    pub(super) cidfile: PathBuf,
    /// `--cgroup-parent`, relative to the hierarchy roots.
    pub(super) cgroup_parent: String,
    pub(super) client: i32,
    pub(super) client_reaped: bool,
    /// Closing it lets the lingering probe exit.
    pub(super) stdin: Option<ChildStdin>,
    pub(super) out: LineWaiter<ChildStdout>,
    pub(super) stderr: PathBuf,
    /// Counters read before the container went away.
    pub(super) stats: Option<Stats>,
    pub(super) guard: Option<Guard>,
    pub(super) slots: Slots,
    pub(super) torn_down: bool,
}

impl LimitedEngine {
    fn engine(&self) -> Command {
        let mut c = Command::new(self.binary);
        c.args(&self.global);
        c
    }

    fn stderr_tail(&self) -> String {
        crate::subject::child::log_tail(&self.stderr)
    }

    fn container_id(&self) -> Result<String, SubjectError> {
        let id = fs::read_to_string(&self.cidfile)
            .map_err(|e| SubjectError::file("read", &self.cidfile, e))?;
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(EngineError::NoContainerId {
                cidfile: self.cidfile.clone(),
            }
            .into());
        }
        Ok(id)
    }

    /// The container's cgroup: the entry of the parent (in any hierarchy) that names its id.
    fn cgroup(&self) -> Result<AnyManager, SubjectError> {
        let id = self.container_id()?;
        let parent = self.cgroup_parent.trim_start_matches('/');
        for mp in crate::cgroup::mounts::cgroup_mounts() {
            let Ok(rd) = fs::read_dir(mp.join(parent)) else {
                continue;
            };
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.contains(&id) && e.path().is_dir() {
                    return Ok(AnyManager::existing(&format!("/{parent}/{n}"))?);
                }
            }
        }
        Err(EngineError::NoContainerCgroup {
            engine: self.binary,
            id,
            parent: parent.to_string(),
        }
        .into())
    }

    /// `inspect` of the stopped container: (OOMKilled, exit code).
    fn inspect_exit(&self) -> Option<(bool, i32)> {
        let out = crate::subprocess::run_ok(
            self.engine().args([
                "inspect",
                "--format",
                "{{.State.OOMKilled}} {{.State.ExitCode}}",
                &self.name,
            ]),
            QUERY_TIMEOUT,
        )
        .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut it = text.split_whitespace();
        Some((it.next()? == "true", it.next()?.parse().ok()?))
    }

    fn reap_client(
        &mut self,
        deadline: Instant,
    ) -> Result<crate::sys::process::Reaped, SubjectError> {
        let r = crate::subject::child::wait_pid_deadline(self.client, deadline);
        self.client_reaped = true;
        r
    }
}

impl Instance for LimitedEngine {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match self.out.wait_for(super::READY_LINE, deadline) {
            Ok(t) => Ok(t),
            Err(MarkerError::Eof(out)) => Err(SubjectError::Marker(MarkerError::Eof(format!(
                "{out}; stderr: {}",
                self.stderr_tail()
            )))),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        match self.out.wait_for(DONE_LINE, deadline) {
            // The probe lingers: its container and cgroup are still there.
            Ok(_) => self.stats = Some(self.cgroup()?.stats()?),
            // It died before finishing (OOM kill): no cgroup left to read.
            Err(MarkerError::Eof(_)) => {}
            Err(MarkerError::Timeout(d)) => {
                let _ = crate::sys::process::kill(self.client, libc::SIGKILL);
                return Err(SubjectError::ExitTimeout(d));
            }
            Err(e) => return Err(e.into()),
        }
        self.stdin = None;
        let r = self.reap_client(deadline.max(Instant::now() + CLIENT_WAIT))?;
        let at = Instant::now();
        let _ = self
            .out
            .read_to_end(Instant::now() + Duration::from_secs(1));
        // The client exits with the payload's code, or 128 + the signal that killed it.
        let (mut code, mut signal) = (r.code, r.signal);
        if let Some(c) = code.filter(|c| *c > 128 && *c < 128 + 65) {
            code = None;
            signal = Some(c - 128);
        }
        if self.stats.is_none() {
            let (oom, _) = self.inspect_exit().ok_or_else(|| EngineError::Inspect {
                engine: self.binary,
                status: crate::subject::child::status_text(r.code, r.signal),
                stderr: self.stderr_tail(),
            })?;
            let mut s = Stats::default();
            let logged = self
                .container_id()
                .ok()
                .and_then(|id| kernel_oom_kills(&id))
                .unwrap_or(0);
            s.memory.oom_kills = logged.max(u64::from(oom));
            self.stats = Some(s);
        }
        Ok(Exit {
            at: Some(at),
            code,
            signal,
            output: self.out.text.clone(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let mut result = Ok(());
        if !self.client_reaped {
            // SIGKILL: the probe is PID 1 and ignores SIGTERM.
            let _ = crate::subprocess::run_cleanup(
                self.engine().args(["kill", &self.name]),
                QUERY_TIMEOUT,
            );
            self.stdin = None;
            let _ = self.reap_client(Instant::now() + CLIENT_WAIT);
        }
        if let Some(g) = self.guard.take() {
            // Not `--rm`: the container is left for `inspect`; `rm -f` it now.
            if let Err(e) = g.release() {
                result = Err(e.into());
            }
        }
        let _ = fs::remove_file(&self.stderr);
        let _ = fs::remove_file(&self.cidfile);
        reap_orphans();
        if let Err(e) = self.slots.refill() {
            result = result.and(Err(e.into()));
        }
        result
    }
}

/// OOM kills the kernel log records in a memory cgroup whose path names `id` (the
/// `oom-kill:constraint=...,task_memcg=/...<id>` line of every memcg OOM kill). `None`
/// when the log cannot be read (dmesg_restrict without CAP_SYSLOG).
fn kernel_oom_kills(id: &str) -> Option<u64> {
    let out =
        crate::subprocess::run_ok(Command::new("dmesg").arg("--notime"), QUERY_TIMEOUT).ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(count_oom_kills(&text, id))
}

fn count_oom_kills(log: &str, id: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("oom-kill:"))
        .filter(|l| {
            l.split(',')
                .any(|f| f.starts_with("task_memcg=") && f.contains(id))
        })
        .count() as u64
}

impl LimitedInstance for LimitedEngine {
    fn cgroup_stats(&self) -> Result<Stats, SubjectError> {
        self.stats.ok_or_else(|| {
            EngineError::CountersNotRead {
                engine: self.binary,
                name: self.name.clone(),
            }
            .into()
        })
    }

    fn cgroup_version(&self) -> &'static str {
        match crate::cgroup::detect().map(|l| crate::cgroup::manager::choose(&l)) {
            Ok(crate::cgroup::manager::Choice::V2(_)) => "v2",
            _ => "v1",
        }
    }

    /// The container's cgroup, found once the engine has written the id (after ready).
    fn cpu_reader(&self) -> Option<crate::cgroup::CpuReader> {
        self.cgroup().ok()?.cpu_reader().ok()
    }
}

impl Drop for LimitedEngine {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: {} container {}: {e}", self.binary, self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_args_follow_the_engines_units() {
        let l = Limits {
            cpu_quota: Some(Duration::from_millis(25)),
            cpu_period: Some(Duration::from_millis(100)),
            cpu_shares: Some(2048),
            memory_bytes: Some(32 << 20),
            swap_bytes: Some(0),
            ..Limits::default()
        };
        assert_eq!(
            limit_args(&l),
            [
                "--cpu-period=100000",
                "--cpu-quota=25000",
                "--cpu-shares=2048",
                "--memory=33554432b",
                "--memory-swap=33554432b"
            ]
        );
        assert!(limit_args(&Limits::default()).is_empty());
    }

    #[test]
    fn oom_kills_are_counted_per_container() {
        let log = "isobench-probe invoked oom-killer: gfp_mask=0xcc0\n\
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=libpod-abc,mems_allowed=0,oom_memcg=/p/libpod-abc,task_memcg=/p/libpod-abc,task=isobench-probe,pid=1,uid=0\n\
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,oom_memcg=/p/def,task_memcg=/p/def,task=isobench-probe,pid=2,uid=0\n";
        assert_eq!(count_oom_kills(log, "abc"), 1);
        assert_eq!(count_oom_kills(log, "def"), 1);
        assert_eq!(count_oom_kills(log, "zzz"), 0);
    }
}

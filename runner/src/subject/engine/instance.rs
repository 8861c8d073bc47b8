//! One container started by an engine client (`EngineInstance`): ready line, exit,
//! footprint of the container and the client, and removal.

use std::fs::{self};
use std::path::PathBuf;
use std::process::{ChildStdout, Command};
use std::time::{Duration, Instant};

use crate::cleanup::Guard;
use crate::measure::LineWaiter;
use crate::subject::reserved_names::Slots;
use crate::subject::{Exit, Instance, SubjectError};

/// The label on every image and container isobench creates.
use super::{reap_orphans, CLIENT_WAIT, QUERY_TIMEOUT, READY_LINE};

/// One `ENGINE run` client and its container.
#[derive(Debug)]
pub struct EngineInstance {
    pub(super) binary: &'static str,
    pub(super) global: Vec<String>,
    pub(super) name: String,
    pub(super) client: i32,
    pub(super) client_reaped: bool,
    pub(super) exited_ok: bool,
    pub(super) out: LineWaiter<ChildStdout>,
    pub(super) stderr: PathBuf,
    pub(super) guard: Option<Guard>,
    pub(super) slots: Slots,
    pub(super) torn_down: bool,
}

impl EngineInstance {
    pub(super) fn stderr_tail(&self) -> String {
        crate::subject::child::log_tail(&self.stderr)
    }

    /// Wait for the client to exit (it does once its container is gone); kill it if it
    /// does not within `CLIENT_WAIT`.
    pub(super) fn reap_client(&mut self) {
        if !self.client_reaped {
            let _ =
                crate::subject::child::wait_pid_deadline(self.client, Instant::now() + CLIENT_WAIT);
            self.client_reaped = true;
        }
    }

    /// Whether the engine still knows the container.
    pub(super) fn exists(&self) -> bool {
        crate::subprocess::run_cleanup(
            Command::new(self.binary).args(&self.global).args([
                "container",
                "inspect",
                "--format",
                "{{.Id}}",
                &self.name,
            ]),
            QUERY_TIMEOUT,
        )
        .is_ok_and(|o| o.status.success())
    }

    pub(super) fn container_pid(&self) -> Option<i32> {
        let out = crate::subprocess::run_ok(
            Command::new(self.binary).args(&self.global).args([
                "inspect",
                "--format",
                "{{.State.Pid}}",
                &self.name,
            ]),
            QUERY_TIMEOUT,
        )
        .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
    }
}

impl Instance for EngineInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match self.out.wait_for(READY_LINE, deadline) {
            Ok(t) => Ok(t),
            Err(crate::measure::MarkerError::Eof(out)) => Err(SubjectError::Marker(
                crate::measure::MarkerError::Eof(format!("{out}; stderr: {}", self.stderr_tail())),
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = crate::subject::child::wait_pid_deadline(self.client, deadline);
        self.client_reaped = true;
        let r = r?;
        let at = Instant::now();
        // What the probe printed after the marker is already in the pipe.
        let _ = self
            .out
            .read_to_end(Instant::now() + Duration::from_secs(1));
        if r.code != Some(0) {
            return Err(SubjectError::PayloadFailed(format!(
                "`{} run` {}; stderr: {}",
                self.binary,
                crate::subject::child::status_text(r.code, r.signal),
                self.stderr_tail()
            )));
        }
        self.exited_ok = true;
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output: self.out.text.clone(),
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let mut result = Ok(());
        if let Some(g) = self.guard.take() {
            if self.exited_ok {
                // `run --rm` removed it before the client exited.
                g.forget();
            } else {
                // SIGKILL first: the probe is PID 1 and ignores SIGTERM, on which `rm -f`
                // of podman would wait its 10 s stop timeout.
                let _ = crate::subprocess::run_cleanup(
                    Command::new(self.binary)
                        .args(&self.global)
                        .args(["kill", &self.name]),
                    QUERY_TIMEOUT,
                );
                // `--rm`: the engine removes the killed container itself and then the
                // client exits; an `rm -f` meanwhile fails ("removal ... already in
                // progress"), so wait for that first and remove only what is left.
                self.reap_client();
                let until = Instant::now() + CLIENT_WAIT;
                while self.exists() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !self.exists() {
                    g.forget();
                } else if let Err(e) = g.release() {
                    // `rm -f` failed: the journal still names it for `clean`.
                    result = Err(e.into());
                }
            }
        }
        self.reap_client();
        let _ = fs::remove_file(&self.stderr);
        reap_orphans();
        if let Err(e) = self.slots.refill() {
            result = result.and(Err(e.into()));
        }
        result
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let Some(pid) = self.container_pid() else {
            return out;
        };
        out.extend(
            crate::measure::footprint::of_pids(&crate::measure::footprint::descendants(pid))
                .metrics("payload"),
        );
        if let Some(parent) = crate::subject::child::parent_of(pid).filter(|p| *p > 1) {
            if parent != std::process::id() as i32 {
                out.extend(crate::measure::footprint::of_pids(&[parent]).metrics("runtime"));
            }
        }
        out.extend(crate::measure::footprint::of_pids(&[self.client]).metrics("client"));
        if let Some(m) = crate::cgroup::mounts::cgroup_memory_of(pid) {
            out.push(("cgroup_memory".into(), m));
        }
        out
    }
}

impl Drop for EngineInstance {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: {} container {}: {e}", self.binary, self.name);
        }
    }
}

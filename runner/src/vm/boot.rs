//! One QEMU boot: the process (its command line is `vm::cmdline`) and the console read
//! with timestamps (`vm::console`). The guest's serial port is QEMU's stdout, a pipe the
//! harness reads.
//! QEMU's stderr goes to a separate pipe drained by a thread (its warnings must not be
//! mistaken for console output, nor block QEMU on a full pipe). That thread is never
//! joined without a deadline: a child QEMU left behind may hold the pipe for ever, so
//! once QEMU has exited the pipe gets `subprocess::PIPE_GRACE`, then QEMU's whole process
//! group (its own, from the spawn) is SIGKILLed, and a pipe still open after that is
//! abandoned (`subprocess::end_pipes`). Killing QEMU kills its group too.
//!
//! Timer points, all `Instant`s read in the harness, relative to `t0` (read just before
//! the QEMU process is spawned): each console chunk is stamped when `read(2)` returns it,
//! and each marker gets the stamp of the chunk that completed it:
//! * `FirstOutput` — the first byte of any console output (SeaBIOS or qboot, or the
//!   kernel's early console);
//! * `Kernel` — `Linux version` (printed by `start_kernel` on the early console, enabled
//!   with `earlyprintk=serial`);
//! * `Ready` — the probe's `ISOBENCH-READY` line (the probe is /init);
//! * `Done` — the probe's `ISOBENCH-DONE status=N` line, written just before it powers
//!   the VM off;
//! * the exit — when wait4(2) reaped QEMU.
//!
//! A wait for a marker is bounded by a deadline and, optionally, by console silence
//! ([`Boot::wait_marker_or_silence`]): a guest that stopped printing for longer than any
//! gap of a healthy boot has hung (a KVM guest without VMX/SVM passed through stops
//! right after the firmware), and waiting out the deadline would only cost time.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use super::cmdline::{Accel, BootConfig};
use super::console::{stamp, Marker, DONE_MARKER, READY_MARKER};
use crate::cleanup::{Cleanup, Guard, Resource};
use crate::subprocess::{end_pipes, PipeReader, PIPE_GIVE_UP};
use crate::sys::{self, PollOutcome};

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("cannot start {qemu}: {source}")]
    Spawn {
        qemu: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("reading the VM console failed: {0}")]
    Console(std::io::Error),
    #[error(
        "no {marker} on the console within {waited:?} ({accel}, {machine}); QEMU was killed{tail}"
    )]
    Timeout {
        marker: &'static str,
        waited: Duration,
        accel: &'static str,
        machine: String,
        tail: String,
    },
    #[error(
        "console silent for {:.1} s {after} ({accel}, {machine}; {:.1} s after QEMU started, \
         waiting for {marker}); QEMU was killed",
        .silent.as_secs_f64(),
        .elapsed.as_secs_f64()
    )]
    Silent {
        marker: &'static str,
        silent: Duration,
        /// `after '<last console line>'`, or `since QEMU started` when it never printed.
        after: String,
        /// From `t0` to the kill.
        elapsed: Duration,
        accel: &'static str,
        machine: String,
    },
    #[error("QEMU exited before {marker} ({status}){tail}")]
    Exited {
        marker: &'static str,
        status: String,
        tail: String,
    },
    #[error("interrupted by {0}; QEMU was killed")]
    Interrupted(&'static str),
    #[error("waiting for QEMU (pid {pid}) failed: {source}")]
    Wait { pid: i32, source: std::io::Error },
}

/// How QEMU ended.
#[derive(Debug, Clone)]
pub struct BootExit {
    pub at: Instant,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// The status the probe reported in its `ISOBENCH-DONE` line.
    pub guest_status: Option<u8>,
}

/// A running (or finished) QEMU.
pub struct Boot {
    pub t0: Instant,
    child: Child,
    pid: i32,
    stdout: Option<ChildStdout>,
    stderr: Option<PipeReader>,
    guard: Option<Guard>,
    /// The whole console text so far.
    text: String,
    /// Arrival instant of each marker (index = `Marker as usize`).
    seen: [Option<Instant>; 4],
    /// When the last console chunk was read.
    last_output: Option<Instant>,
    eof: bool,
    exit: Option<BootExit>,
    machine: String,
    accel: Accel,
}

impl std::fmt::Debug for Boot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Boot")
            .field("pid", &self.pid)
            .field("machine", &self.machine)
            .field("accel", &self.accel)
            .finish()
    }
}

impl Boot {
    /// Spawn QEMU for `cfg`; `t0` is the caller's start instant (the harness reads it just
    /// before `Subject::launch`).
    pub fn start(cfg: &BootConfig, cleanup: &Cleanup, t0: Instant) -> Result<Boot, BootError> {
        Self::start_in_cgroup(cfg, cleanup, t0, Vec::new())
    }

    /// [`Boot::start`] with QEMU joining cgroups before it execs (`cgroup_procs`: open
    /// `cgroup.procs` files, see `sys::child::join_cgroups`), so its vCPU threads run
    /// under the cgroup's limits from the start (the `throttle` scenario).
    pub fn start_in_cgroup(
        cfg: &BootConfig,
        cleanup: &Cleanup,
        t0: Instant,
        cgroup_procs: Vec<std::os::fd::OwnedFd>,
    ) -> Result<Boot, BootError> {
        let mut cmd = cfg.command();
        if !cgroup_procs.is_empty() {
            sys::child::join_cgroups(&mut cmd, cgroup_procs);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Own process group: the terminal's Ctrl-C reaches the harness, which kills QEMU
        // in order (and QEMU dies with us if we are killed outright), and whatever QEMU
        // leaves behind in its group is killed with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        sys::child::kill_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|source| BootError::Spawn {
            qemu: cfg.qemu.display().to_string(),
            source,
        })?;
        let pid = child.id() as i32;
        // The pid exists only now; the journal line follows at once (PDEATHSIG covers the
        // gap if we die in between).
        let guard = match cleanup.register(Resource::Process {
            pid,
            start_time: sys::process::start_time(pid).unwrap_or(0),
        }) {
            Ok(g) => g,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.into());
            }
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().map(PipeReader::spawn);
        Ok(Boot {
            t0,
            child,
            pid,
            stdout,
            stderr,
            guard: Some(guard),
            text: String::new(),
            seen: [None; 4],
            last_output: None,
            eof: false,
            exit: None,
            machine: cfg.machine.clone(),
            accel: cfg.accel,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// When `m` arrived, if it did.
    pub fn seen(&self, m: Marker) -> Option<Instant> {
        self.seen[m.index()]
    }

    /// `m`'s arrival minus `t0`.
    pub fn offset(&self, m: Marker) -> Option<Duration> {
        self.seen(m).map(|t| t.saturating_duration_since(self.t0))
    }

    /// The console text so far.
    pub fn console(&self) -> &str {
        &self.text
    }

    /// What the probe printed after its ready line (its `key=value` results).
    pub fn probe_output(&self) -> &str {
        match self.text.find(READY_MARKER) {
            Some(i) => &self.text[i + READY_MARKER.len()..],
            None => "",
        }
    }

    pub fn exit(&self) -> Option<&BootExit> {
        self.exit.as_ref()
    }

    /// The last non-empty console line, trimmed and shortened to ~80 characters.
    pub fn last_line(&self) -> Option<String> {
        let line = self
            .text
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())?;
        Some(match line.char_indices().nth(80) {
            Some((i, _)) => format!("{}...", &line[..i]),
            None => line.to_string(),
        })
    }

    /// Read the console until `m` has arrived; kill QEMU on timeout or Ctrl-C.
    pub fn wait_marker(&mut self, m: Marker, deadline: Instant) -> Result<Instant, BootError> {
        self.wait(m, deadline, None)
    }

    /// [`Boot::wait_marker`], and also kill QEMU once its console has been silent for
    /// `silence`: since the last chunk was read, or since `t0` if nothing was. Silence is
    /// only concluded after a poll found the console empty, so output the caller had not
    /// read yet is never mistaken for silence (a late read stamps late, which can only
    /// make the silence look shorter).
    pub fn wait_marker_or_silence(
        &mut self,
        m: Marker,
        deadline: Instant,
        silence: Duration,
    ) -> Result<Instant, BootError> {
        self.wait(m, deadline, Some(silence))
    }

    fn wait(
        &mut self,
        m: Marker,
        deadline: Instant,
        silence: Option<Duration>,
    ) -> Result<Instant, BootError> {
        let start = Instant::now();
        loop {
            if let Some(t) = self.seen(m) {
                return Ok(t);
            }
            if self.eof {
                // QEMU closed its stdout: it exited (or is exiting).
                let _ = self.reap(Instant::now() + Duration::from_secs(5));
                let status = self
                    .exit
                    .as_ref()
                    .map(|x| match (x.code, x.signal) {
                        (Some(c), _) => format!("exit code {c}"),
                        (_, Some(s)) => format!("signal {s}"),
                        _ => "unknown status".into(),
                    })
                    .unwrap_or_else(|| "still running after closing its output".into());
                let tail = self.tail();
                self.kill();
                return Err(BootError::Exited {
                    marker: m.name(),
                    status,
                    tail,
                });
            }
            let now = self.check_stop(start, deadline, m.name())?;
            let mut slice = (deadline - now).min(Duration::from_millis(250));
            if let Some(bound) = silence {
                // Wake up right when the bound is reached, not up to a slice later.
                let quiet_until = self.last_output.unwrap_or(self.t0) + bound;
                slice = slice.min(quiet_until.saturating_duration_since(now));
            }
            let quiet = !self.read_chunk(slice)?;
            if let (true, Some(bound)) = (quiet, silence) {
                self.check_silence(m, bound)?;
            }
        }
    }

    /// After a poll found the console empty: kill QEMU and say so if it has printed
    /// nothing for `bound`.
    fn check_silence(&mut self, m: Marker, bound: Duration) -> Result<(), BootError> {
        let now = Instant::now();
        let silent = now.saturating_duration_since(self.last_output.unwrap_or(self.t0));
        if silent < bound {
            return Ok(());
        }
        let after = match self.last_line() {
            Some(l) => format!("after '{l}'"),
            None => "since QEMU started".into(),
        };
        self.kill();
        Err(BootError::Silent {
            marker: m.name(),
            silent,
            after,
            elapsed: now.saturating_duration_since(self.t0),
            accel: self.accel.name(),
            machine: self.machine.clone(),
        })
    }

    /// Read the console to its end and reap QEMU; kill it at `deadline` or on Ctrl-C.
    pub fn wait_exit(&mut self, deadline: Instant) -> Result<BootExit, BootError> {
        let start = Instant::now();
        while !self.eof {
            let now = self.check_stop(start, deadline, "QEMU exit")?;
            self.read_chunk((deadline - now).min(Duration::from_millis(250)))?;
        }
        self.reap(deadline)
    }

    /// Kill QEMU and say why when Ctrl-C arrived or `deadline` passed (waiting for
    /// `marker` since `start`); otherwise the current instant.
    fn check_stop(
        &mut self,
        start: Instant,
        deadline: Instant,
        marker: &'static str,
    ) -> Result<Instant, BootError> {
        if let Some(sig) = sys::signals::interrupted() {
            self.kill();
            return Err(BootError::Interrupted(sys::signals::name(sig)));
        }
        let now = Instant::now();
        if now >= deadline {
            let tail = self.tail();
            self.kill();
            return Err(BootError::Timeout {
                marker,
                waited: now - start,
                accel: self.accel.name(),
                machine: self.machine.clone(),
                tail,
            });
        }
        Ok(now)
    }

    /// Poll the console once for at most `slice`, stamping what arrives. False only when
    /// the poll ran out its slice with nothing to read: the one outcome that counts as
    /// silence (a signal or EINTR proves nothing either way).
    fn read_chunk(&mut self, slice: Duration) -> Result<bool, BootError> {
        let Some(out) = self.stdout.as_mut() else {
            self.eof = true;
            return Ok(true);
        };
        match sys::poll_readable(out.as_raw_fd(), slice).map_err(BootError::Console)? {
            PollOutcome::Readable => {
                let mut buf = [0u8; 16 * 1024];
                let n = match out.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(true),
                    Err(e) => return Err(BootError::Console(e)),
                };
                let at = Instant::now();
                if n == 0 {
                    self.eof = true;
                    return Ok(true);
                }
                stamp(&mut self.text, &buf[..n], &mut self.seen, at);
                self.last_output = Some(at);
                Ok(true)
            }
            PollOutcome::Interrupted => Ok(true),
            PollOutcome::TimedOut => Ok(false),
        }
    }

    /// Wait for QEMU's exit (it closed the console, so it is ending); kill it at
    /// `deadline` or on Ctrl-C. A pidfd makes the exit visible the moment it happens.
    fn reap(&mut self, deadline: Instant) -> Result<BootExit, BootError> {
        if let Some(x) = &self.exit {
            return Ok(x.clone());
        }
        let start = Instant::now();
        let pidfd = sys::process::pidfd_open(self.pid).ok();
        loop {
            let exited = match sys::process::exited_unreaped(self.pid) {
                Ok(e) => e,
                Err(source) => {
                    self.kill();
                    return Err(BootError::Wait {
                        pid: self.pid,
                        source,
                    });
                }
            };
            if exited {
                // A zombie until reaped: its group can still be killed safely.
                if let Some(r) = self.stderr.as_mut() {
                    end_pipes(&mut [r], self.pid);
                }
                let st = self.child.wait().map_err(|source| BootError::Wait {
                    pid: self.pid,
                    source,
                })?;
                let at = Instant::now();
                self.finish_reaped(Duration::ZERO);
                let x = BootExit {
                    at,
                    code: st.code(),
                    signal: std::os::unix::process::ExitStatusExt::signal(&st),
                    guest_status: self.guest_status(),
                };
                self.exit = Some(x.clone());
                return Ok(x);
            }
            let now = self.check_stop(start, deadline, "QEMU exit")?;
            let slice = (deadline - now).min(Duration::from_millis(250));
            match &pidfd {
                Some(fd) => {
                    let _ = sys::poll_readable(fd.as_raw_fd(), slice);
                }
                None => std::thread::sleep(slice.min(Duration::from_millis(1))),
            }
        }
    }

    /// The status in the probe's `ISOBENCH-DONE status=N` line.
    pub fn guest_status(&self) -> Option<u8> {
        let i = self.text.find(DONE_MARKER)? + DONE_MARKER.len();
        let digits: String = self.text[i..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// After wait4 reaped it: the pid is gone, so the journal entry is done with. What
    /// QEMU wrote to stderr is appended to the console text, after waiting at most `wait`
    /// for the end of the pipe.
    fn finish_reaped(&mut self, wait: Duration) {
        // `Child` must not try to wait for a pid we already reaped.
        self.stdout = None;
        if let Some(g) = self.guard.take() {
            g.forget();
        }
        if let Some(mut r) = self.stderr.take() {
            let ended = r.wait_end(Instant::now() + wait);
            let err = r.take();
            let err = String::from_utf8_lossy(&err);
            let err = err.trim();
            if !err.is_empty() {
                self.text.push_str("\n[qemu stderr] ");
                self.text.push_str(err);
            }
            if !ended {
                self.text.push_str(
                    "\n[qemu stderr still held open by a process QEMU left outside its \
                     process group; not read further]",
                );
            }
        }
    }

    /// SIGKILL QEMU and its process group, and reap it, if it is still there. Idempotent.
    pub fn kill(&mut self) {
        if self.exit.is_some() || self.guard.is_none() {
            return;
        }
        // Not reaped yet: the group ID is still QEMU's.
        let _ = sys::process::kill_group(self.pid, libc::SIGKILL);
        let _ = self.child.kill();
        let status = self.child.wait();
        let at = Instant::now();
        self.finish_reaped(PIPE_GIVE_UP);
        let (code, signal) = match status {
            Ok(s) => (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)),
            Err(_) => (None, None),
        };
        self.exit = Some(BootExit {
            at,
            code,
            signal,
            guest_status: None,
        });
    }

    /// The last few hundred characters of the console, for error messages.
    pub fn tail(&self) -> String {
        let t = self.text.trim();
        if t.is_empty() {
            return "; the console stayed silent".into();
        }
        let start = t.char_indices().rev().nth(300).map(|(i, _)| i).unwrap_or(0);
        format!("; console ends: {}", &t[start..])
    }
}

impl Drop for Boot {
    fn drop(&mut self) {
        self.kill();
    }
}

//! One container started by an OCI runtime (`OciInstance`): waiting for its ready marker
//! and exit, its phases and footprint, and its removal (`delete`, with the container's
//! init killed first when it is still alive). The timer points are in `oci/mod.rs`.
//! A sandboxed runtime (runsc, `StateLayout::RunscFile`) differs in what it leaves to the
//! harness: the sandbox and the gofer, both reaped here, the gofer counted as runtime.

use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cgroup::mounts::cgroup_memory_of;
use crate::cleanup::Guard;
use crate::measure::{LineWaiter, MarkerError};
use crate::subject::child::{log_tail, parent_of, status_text, wait_any_pid};
use crate::subject::reserved_names::Slots;
use crate::subject::{Exit, Instance, SubjectError};
use crate::sys;

use super::{
    OciError, ReadyChannel, StateLayout, KILL_WAIT, PID_FILE_PATIENCE, READY_FD, READY_LINE,
};

/// How long the marker's line may take to complete once its first bytes were read.
const LINE_PATIENCE: Duration = Duration::from_millis(5);

/// How long `wait_exit` reads the rest of the payload's stdout after it exited.
const OUTPUT_PATIENCE: Duration = Duration::from_secs(2);

/// The harness's end of the ready channel (`ReadyChannel`).
#[derive(Debug)]
pub enum ReadyPipe {
    /// One byte on the pipe the container has as fd 3.
    Byte(OwnedFd),
    /// The `ISOBENCH-READY` line on the runtime's stdout; the rest of the text is the
    /// payload's output.
    Line { waiter: LineWaiter<File>, fd: i32 },
}

impl ReadyPipe {
    pub fn new(channel: ReadyChannel, rd: OwnedFd) -> ReadyPipe {
        match channel {
            ReadyChannel::PreservedFd => ReadyPipe::Byte(rd),
            ReadyChannel::Stdout => ReadyPipe::Line {
                fd: rd.as_raw_fd(),
                waiter: LineWaiter::new(File::from(rd)),
            },
        }
    }

    fn raw_fd(&self) -> i32 {
        match self {
            ReadyPipe::Byte(fd) => fd.as_raw_fd(),
            ReadyPipe::Line { fd, .. } => *fd,
        }
    }

    /// Block until the marker arrives (or `deadline`); returns its arrival instant.
    fn wait(&mut self, deadline: Instant) -> Result<Instant, MarkerError> {
        match self {
            ReadyPipe::Byte(fd) => crate::measure::wait_byte(fd.as_fd(), deadline),
            ReadyPipe::Line { waiter, .. } => waiter.wait_for(READY_LINE, deadline),
        }
    }

    /// The pipe is readable: consume what is there. `Some(Ok(t))` = the marker arrived at
    /// `t`, `Some(Err)` = it never will (EOF), `None` = not yet (part of a line).
    fn on_readable(&mut self) -> Option<Result<Instant, MarkerError>> {
        match self {
            ReadyPipe::Byte(fd) => {
                let mut b = [0u8; 1];
                Some(match sys::read(fd.as_raw_fd(), &mut b) {
                    Ok(1) => Ok(Instant::now()),
                    Ok(_) => Err(MarkerError::Eof(String::new())),
                    Err(e) => Err(e.into()),
                })
            }
            ReadyPipe::Line { waiter, .. } => {
                match waiter.wait_for(READY_LINE, Instant::now() + LINE_PATIENCE) {
                    Err(MarkerError::Timeout(_)) => None,
                    r => Some(r),
                }
            }
        }
    }

    /// What the payload printed on the pipe (nothing for `Byte`), read up to EOF within
    /// `patience`.
    fn output(&mut self, patience: Duration) -> String {
        match self {
            ReadyPipe::Byte(_) => String::new(),
            ReadyPipe::Line { waiter, .. } => {
                let _ = waiter.read_to_end(Instant::now() + patience);
                waiter.text.clone()
            }
        }
    }
}

/// One container of an OCI runtime.
#[derive(Debug)]
pub struct OciInstance {
    /// The runtime's name (`runc`), for messages.
    pub(super) name: &'static str,
    /// The runtime's executable.
    pub(super) binary: String,
    pub(super) global: Vec<String>,
    pub(super) layout: StateLayout,
    pub(super) state_root: PathBuf,
    pub(super) id: String,
    /// The container's stdout and stderr, and the runtime's.
    pub(super) log: PathBuf,
    pub(super) pid_file: PathBuf,
    pub(super) ready: Option<ReadyPipe>,
    /// The marker, when it arrived while `start` was still running.
    pub(super) ready_at: Option<Instant>,
    /// The foreground `run` process (our child).
    pub(super) runtime_pid: Option<i32>,
    pub(super) runtime_reaped: bool,
    /// The container's init process.
    pub(super) container_pid: Option<i32>,
    pub(super) exited: bool,
    pub(super) phases: Vec<(String, Duration)>,
    pub(super) command_timeout: Duration,
    pub(super) container_guard: Option<Guard>,
    pub(super) bundle_guard: Option<Guard>,
    /// Where the next launch's name is reserved, at the end of teardown.
    pub(super) slots: Slots,
    pub(super) torn_down: bool,
    /// The spec's `cgroupsPath`.
    pub(super) cgroups_path: String,
    /// Limited launches: an exit by a signal or a non-zero code is a result (an OOM
    /// kill), not an error.
    pub(super) any_exit_ok: bool,
    /// user + system time of the container's init, when it was reaped by us.
    pub(super) cpu: Option<Duration>,
}

impl OciInstance {
    pub(super) fn base_args(&self) -> Vec<String> {
        let mut argv = vec![self.binary.clone()];
        argv.extend(self.global.iter().cloned());
        argv.push("--root".into());
        argv.push(self.state_root.to_string_lossy().into_owned());
        argv
    }

    /// Start `RUNTIME <global> --root R <args>` with stdin an empty pipe, stdout and stderr
    /// appended to the log, and the ready pipe's write end (if any) as fd 3
    /// (`PreservedFd`) or as stdout (`Stdout`).
    pub(super) fn spawn_runtime(
        &self,
        args: &[&str],
        ready: Option<(ReadyChannel, &OwnedFd)>,
        hide: &[&Path],
    ) -> Result<i32, SubjectError> {
        let mut argv = self.base_args();
        argv.extend(args.iter().map(|s| s.to_string()));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| SubjectError::file("open", &self.log, e))?;
        // stdin is an empty pipe (EOF at once, as /dev/null would give), never the host's
        // /dev/null: runsc fchowns its stdio fds to the sandbox's user (`nobody`), and
        // through a shared /dev/null that changed the owner of the host's device node
        // (seen: /dev/null owned by nobody:nogroup after a runsc launch).
        let (stdin_rd, stdin_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        drop(stdin_wr);
        let mut map = vec![
            (stdin_rd.as_raw_fd(), 0),
            (log.as_raw_fd(), 1),
            (log.as_raw_fd(), 2),
        ];
        match ready {
            Some((ReadyChannel::PreservedFd, w)) => map.push((w.as_raw_fd(), READY_FD)),
            Some((ReadyChannel::Stdout, w)) => map[1] = (w.as_raw_fd(), 1),
            None => {}
        }
        let envp: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let result = if hide.is_empty() {
            sys::spawn::spawn_mapped(&self.binary, &argv, &envp, &map)
        } else {
            sys::spawn::spawn_private_mounts(&self.binary, &argv, &envp, &map, hide)
        };
        result.map_err(|source| SubjectError::Spawn {
            command: argv.join(" "),
            source,
        })
    }

    /// Wait for a runtime command (`create`, `start`) to exit; fail with its output when
    /// it did not succeed. The ready pipe is watched meanwhile (see module doc).
    pub(super) fn wait_command(
        &mut self,
        pid: i32,
        verb: &str,
        deadline: Instant,
    ) -> Result<(), SubjectError> {
        let r = self.wait_pid_watching_ready(pid, deadline)?;
        if r.code != Some(0) {
            return Err(SubjectError::CommandFailed {
                command: format!("{} {verb} {}", self.binary, self.id),
                status: status_text(r.code, r.signal),
                output: log_tail(&self.log),
            });
        }
        Ok(())
    }

    /// `process::wait_pid_deadline` that also records the ready marker if it arrives.
    pub(super) fn wait_pid_watching_ready(
        &mut self,
        pid: i32,
        deadline: Instant,
    ) -> Result<sys::process::Reaped, SubjectError> {
        let Some(ready_fd) = self
            .ready
            .as_ref()
            .filter(|_| self.ready_at.is_none())
            .map(ReadyPipe::raw_fd)
        else {
            return crate::subject::child::wait_pid_deadline(pid, deadline);
        };
        let pidfd =
            sys::process::pidfd_open(pid).map_err(|e| SubjectError::pid("pidfd_open", pid, e))?;
        let mut watch_ready = true;
        loop {
            let now = Instant::now();
            if now >= deadline || sys::signals::interrupted().is_some() {
                // Let the generic wait kill, reap and name the reason.
                return crate::subject::child::wait_pid_deadline(pid, now);
            }
            let slice = (deadline - now).min(Duration::from_millis(250));
            let fds: Vec<i32> = if watch_ready {
                vec![pidfd.as_raw_fd(), ready_fd]
            } else {
                vec![pidfd.as_raw_fd()]
            };
            let ready_now =
                sys::spawn::poll_any(&fds, slice).map_err(|e| SubjectError::io("poll", e))?;
            if watch_ready && ready_now[1] {
                match self.ready.as_mut().and_then(ReadyPipe::on_readable) {
                    Some(Ok(t)) => {
                        self.ready_at = Some(t);
                        watch_ready = false;
                    }
                    // EOF or a read error: `wait_ready` reports it.
                    Some(Err(_)) => watch_ready = false,
                    None => {}
                }
            }
            if ready_now[0] {
                return crate::subject::child::wait_pid_deadline(pid, deadline);
            }
        }
    }

    pub(super) fn runtime_cmd(&self, args: &[&str]) -> Command {
        let argv = self.base_args();
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).args(args);
        c
    }

    /// Whether the runtime still has state for this container.
    pub(super) fn state_exists(&self) -> bool {
        self.layout.state_path(&self.state_root, &self.id).exists()
    }

    /// Reap the runtime's processes outside the container's tree that are our children
    /// (runsc's gofer: it exits with the sandbox, and is re-parented to us once `create`
    /// returned), killing them first when `kill`.
    fn reap_helpers(&self, kill: bool, deadline: Instant) {
        let me = std::process::id() as i32;
        for pid in self.layout.helper_pids(&self.state_root, &self.id) {
            if parent_of(pid) == Some(me) {
                if kill {
                    let _ = sys::process::kill(pid, libc::SIGKILL);
                }
                let _ = wait_any_pid(pid, deadline);
            }
        }
    }

    /// A sandboxed runtime's processes are stopped and reaped before `delete --force`,
    /// which would otherwise wait 5 s for zombies and fail (see
    /// `StateLayout::RunscFile`): with `run` alive they are its children, and it reaps
    /// them only once its payload is gone, so `RUNTIME kill ID KILL` first and wait for
    /// `run`; after `create` they are ours, killed and reaped here.
    fn kill_sandbox_children(&mut self) {
        if self.layout != StateLayout::RunscFile || self.exited {
            return;
        }
        let deadline = Instant::now() + KILL_WAIT;
        if let Some(pid) = self.runtime_pid.filter(|_| !self.runtime_reaped) {
            let mut cmd = self.runtime_cmd(&["kill", &self.id, "KILL"]);
            // Best effort: `delete --force` below still runs if this failed.
            let _ = crate::subprocess::run_cleanup(&mut cmd, self.command_timeout);
            let _ = crate::subject::child::wait_pid_deadline(pid, deadline);
            self.runtime_reaped = true;
        }
        let me = std::process::id() as i32;
        if let Some(pid) = self.container_pid(Duration::ZERO) {
            if parent_of(pid) == Some(me) {
                let _ = sys::process::kill(pid, libc::SIGKILL);
                let _ = wait_any_pid(pid, deadline);
            }
        }
        self.reap_helpers(true, deadline);
    }

    /// The container's init pid from the pid file. `run` writes that file only after
    /// it started the payload, so the marker can arrive first: wait up to `patience`.
    pub(super) fn container_pid(&mut self, patience: Duration) -> Option<i32> {
        let deadline = Instant::now() + patience;
        while self.container_pid.is_none() {
            self.container_pid = read_pid_file(&self.pid_file).ok();
            if self.container_pid.is_none() {
                if Instant::now() >= deadline || sys::signals::interrupted().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.container_pid
    }
}

impl Instance for OciInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        if let Some(t) = self.ready_at {
            return Ok(t);
        }
        let Some(ready) = self.ready.as_mut() else {
            return Err(SubjectError::MissingPipe {
                subject: self.name,
                which: "ready",
            });
        };
        match ready.wait(deadline) {
            Ok(t) => {
                self.ready_at = Some(t);
                Ok(t)
            }
            Err(crate::measure::MarkerError::Eof(_)) => Err(SubjectError::Marker(
                crate::measure::MarkerError::Eof(format!("; output: {}", log_tail(&self.log))),
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = if let Some(pid) = self.runtime_pid.filter(|_| !self.runtime_reaped) {
            let r = crate::subject::child::wait_pid_deadline(pid, deadline);
            self.runtime_reaped = true;
            r?
        } else {
            let pid = self
                .container_pid(Duration::ZERO)
                .ok_or_else(|| OciError::UnknownPid {
                    pid_file: self.pid_file.clone(),
                })?;
            wait_any_pid(pid, deadline)?
        };
        let at = Instant::now();
        self.exited = true;
        // The sandbox is gone: its gofer follows at once (after `at`: not in `total`).
        self.reap_helpers(false, at + KILL_WAIT);
        if r.code.is_some() || r.signal.is_some() {
            self.cpu = Some(r.user + r.system);
        }
        // (None, None): exited, status unknown (not our child: see `wait_any_pid`).
        if (r.code.is_some_and(|c| c != 0) || r.signal.is_some()) && !self.any_exit_ok {
            return Err(SubjectError::PayloadFailed(format!(
                "{}; output: {}",
                status_text(r.code, r.signal),
                log_tail(&self.log)
            )));
        }
        let mut output = self
            .ready
            .as_mut()
            .map(|p| p.output(OUTPUT_PATIENCE))
            .unwrap_or_default();
        output.push_str(&fs::read_to_string(&self.log).unwrap_or_default());
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output,
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let mut result = Ok(());
        self.kill_sandbox_children();
        if self.state_exists() {
            let t = Instant::now();
            let args: Vec<&str> = if self.exited {
                vec!["delete", &self.id]
            } else {
                vec!["delete", "--force", &self.id]
            };
            let mut cmd = self.runtime_cmd(&args);
            // Not cut short by Ctrl-C: this is the clean-up it asks for.
            match crate::subprocess::run_cleanup(&mut cmd, self.command_timeout) {
                Ok(out) if !out.status.success() => {
                    result = Err(SubjectError::CommandFailed {
                        command: crate::subprocess::describe(&cmd),
                        status: out.status.to_string(),
                        output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    })
                }
                Ok(_) => {
                    if self.exited {
                        self.phases.push(("delete".into(), t.elapsed()));
                    }
                }
                Err(e) => result = Err(SubjectError::Exec(e)),
            }
        }
        let deadline = Instant::now() + KILL_WAIT;
        if let Some(pid) = self.runtime_pid.filter(|_| !self.runtime_reaped) {
            // `run` exits once its payload was killed by `delete --force`.
            let _ = crate::subject::child::wait_pid_deadline(pid, deadline);
            self.runtime_reaped = true;
        }
        if !self.exited {
            if let Some(pid) = self.container_pid(Duration::ZERO) {
                let _ = sys::process::kill(pid, libc::SIGKILL);
                let _ = wait_any_pid(pid, deadline);
            }
        }
        // `run` removes the container itself; `delete` removed it otherwise. What is
        // left (a failed delete) goes through the guard, which retries `delete --force`.
        if let Some(g) = self.container_guard.take() {
            if self.state_exists() {
                if let Err(e) = g.release() {
                    result = result.and(Err(e.into()));
                }
            } else {
                g.forget();
            }
        }
        if let Some(g) = self.bundle_guard.take() {
            if let Err(e) = g.release() {
                result = result.and(Err(e.into()));
            }
        }
        if let Err(e) = self.slots.refill() {
            result = result.and(Err(e.into()));
        }
        result
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        self.phases.clone()
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let Some(pid) = self.container_pid(PID_FILE_PATIENCE) else {
            return out;
        };
        out.extend(
            crate::measure::footprint::of_pids(&crate::measure::footprint::descendants(pid))
                .metrics("payload"),
        );
        // The foreground `run` process, and processes the runtime keeps beside the
        // container (runsc's gofer); after runc's `create` returned, none.
        let mut runtime: Vec<i32> = self
            .runtime_pid
            .filter(|_| !self.runtime_reaped)
            .into_iter()
            .collect();
        runtime.extend(self.layout.helper_pids(&self.state_root, &self.id));
        let fp = crate::measure::footprint::of_pids(&runtime);
        out.push(("runtime_rss".into(), fp.rss_bytes));
        out.push(("runtime_pss".into(), fp.pss_bytes));
        if let Some(m) = cgroup_memory_of(pid) {
            out.push(("cgroup_memory".into(), m));
        }
        out
    }
}

impl Drop for OciInstance {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("isobench: {} {}: {e}", self.binary, self.id);
        }
    }
}

/// Under limits, a container's cgroup is read after the init exited and before
/// `delete` (in teardown) removes it.
impl crate::subject::limits::PayloadCpu for OciInstance {
    fn payload_cpu(&self) -> Option<Duration> {
        self.cpu
    }
}

pub(super) fn read_pid_file(path: &Path) -> Result<i32, SubjectError> {
    let text =
        fs::read_to_string(path).map_err(|e| SubjectError::file("read pid file", path, e))?;
    text.trim().parse().map_err(|_| {
        OciError::PidFile {
            path: path.to_path_buf(),
            text: text.trim().to_string(),
        }
        .into()
    })
}

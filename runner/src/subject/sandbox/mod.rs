//! `sandbox`: isobench's own minimal container, doing what a container is, one step at a
//! time, so the cost of each step is visible beside runc's and crun's totals.
//!
//! One launch:
//! 1. `clone3(CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET)` of a child that shares our memory
//!    and runs a prepared, allocation-free program (`sys::container`);
//! 2. in the child: `mount --make-rprivate /`, bind the run's rootfs (`rootfs::get`) onto
//!    itself, mount `proc` on its `/proc`;
//! 3. `pivot_root` into it and detach the old root;
//! 4. `sethostname`;
//! 5. create a fresh cgroup with cpu, memory and pids limits and join it
//!    (`sandbox::cgroup`; on v1 through `tasks`, which spares the kernel's global
//!    threadgroup lock and its RCU grace period, see `cgroup::join_file`);
//! 6. `execve("/isobench-probe")` with the ready pipe inherited.
//!
//! Timer points: `t_launch` (Instant and CLOCK_MONOTONIC ns, read together at the start
//! of `launch`), the child's CLOCK_MONOTONIC marks after each step (sent on a report pipe
//! before execve), the ready byte's arrival, and the reap. Phases reported per sample:
//! `prepare` (pipes, argv, program, before clone3), `clone` (clone3 until the child's
//! first instruction), `mounts`, `pivot_root`, `hostname`, `cgroup`, `exec` (execve to
//! the ready byte read by the harness) — these tile the launch up to ready — plus
//! `cgroup_join` (the part of `cgroup` spent moving into it) and `exit` (ready to
//! reaped); the harness adds
//! `ready`, `total` and `teardown` (kill if needed, rmdir of the launch's cgroups).
//!
//! The child's mounts live only in its own mount namespace (made private before the
//! first mount), so they vanish with it; the rootfs mount points are still registered
//! with the cleanup registry once, in `prepare`, as a guard should propagation ever leak
//! one. The payload's stdout is captured through a pipe (`Exit::output`).
//!
//! Under limits (`launch_limited`, the `throttle` scenario): step 5 joins instead a cgroup
//! the harness made beforehand with the full cgroup layer ([`crate::cgroup::AnyManager`],
//! the same one and the same limits as the `process` subject's), through directory fds
//! opened before clone3 (`cgroup.procs`). The probe's `work` window thus starts inside
//! the limits; the counters are read from that cgroup after the payload exited, and the
//! cgroup is removed in teardown (it is registered in the cleanup journal first).

pub mod cgroup;

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use crate::cgroup::{common::unique_name, AnyManager, CgroupManager};
use std::time::{Duration, Instant};

use self::cgroup::{Limits, Parents};
use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::cleanup::{Guard, Resource};
use crate::measure::{LineWaiter, MarkerError};
use crate::probe::ProbeMode;
use crate::sys;
use crate::sys::container::{ChildProgram, ChildReport, ContainerChild, Step};
use crate::workdir::Env;

/// Hostname set inside every sandbox.
pub const HOSTNAME: &str = "isobench-sandbox";

/// Phases between the child's consecutive marks: (name, first mark, last mark). Marks:
/// 0 start, 1 mounts done, 2 pivot_root done, 3 hostname set, 4 cgroup created and
/// limited, 5 cgroup joined. `cgroup_join` is the part of `cgroup` spent joining.
const MARKED_PHASES: [(&str, usize, usize); 5] = [
    ("mounts", 0, 1),
    ("pivot_root", 1, 2),
    ("hostname", 2, 3),
    ("cgroup", 3, 5),
    ("cgroup_join", 4, 5),
];

/// How long teardown waits for a just-emptied cgroup to become removable.
const CGROUP_RMDIR_PATIENCE: Duration = Duration::from_secs(2);

/// What the sandbox's init reported (or failed to) between clone3 and execve.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the sandbox's init did not finish its report before the deadline")]
    ReportTimeout,
    #[error("sandbox set-up step {step} failed: {source}")]
    StepFailed {
        step: String,
        source: std::io::Error,
    },
    #[error("execve {path} in the sandbox failed: {source}")]
    Exec {
        path: &'static str,
        source: std::io::Error,
    },
    #[error("the payload exited before its ready marker")]
    ExitedBeforeReady,
    #[error("the sandbox's init died before reporting")]
    InitDied,
}

#[derive(Debug, Default)]
pub struct Sandbox {
    state: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    rootfs: PathBuf,
    cgroups: Parents,
    launches: u64,
    _mount_guards: Vec<Guard>,
}

impl Subject for Sandbox {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Sandbox
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        if !cfg!(target_arch = "x86_64") {
            return Err(Unavailable::new(
                "the sandbox's clone3 child trampoline is implemented for x86_64 only",
                "run on x86_64",
            ));
        }
        if !env.is_root {
            return Err(Unavailable::new(
                "creating namespaces, mounting, pivot_root and creating cgroups need root (CAP_SYS_ADMIN)",
                "run isobench as root (sudo isobench run ...)",
            ));
        }
        if let Err(e) = crate::cgroup::detect() {
            return Err(Unavailable::new(
                format!("no usable cgroup filesystem: {e}"),
                "mount cgroupfs at /sys/fs/cgroup",
            ));
        }
        Ok(())
    }

    /// The generated rootfs directory, bind-mounted as the container's `/` (bind + pivot_root).
    fn workload_storage(&self, _env: &Env) -> Option<crate::subject::WorkloadStorage> {
        Some(crate::subject::WorkloadStorage::new(
            crate::subject::WorkloadDir::InSubject(crate::subject::rootfs::WORKLOAD_DIR),
            "bind",
        ))
    }

    fn describe(&self) -> Description {
        Description {
            name: "sandbox".into(),
            class: "container",
            phrase: "an isobench sandbox container".into(),
            version: None,
            method: "isobench's own container: clone3(CLONE_VM|NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET), rprivate + bind rootfs + proc, pivot_root, sethostname, fresh cpu/memory/pids cgroup, execve; phases from CLOCK_MONOTONIC marks sent by the child".into(),
        }
    }

    fn prepare(&mut self, env: &Env) -> Result<(), SubjectError> {
        if self.state.is_some() {
            return Ok(());
        }
        let rootfs = crate::subject::rootfs::get(env)?;
        // Never mounted in the host's namespace (see the module doc); registered so a
        // propagation bug could not leave one behind unnoticed (without a mount ID, which
        // a mount of the child's namespace has none of here, teardown reports a mount
        // found there instead of unmounting it). Innermost first.
        let mount_guards = vec![
            env.cleanup.register(Resource::Mount {
                path: rootfs.clone(),
                mount_id: None,
                mount_unique_id: None,
            })?,
            env.cleanup.register(Resource::Mount {
                path: rootfs.join("proc"),
                mount_id: None,
                mount_unique_id: None,
            })?,
        ];
        let layout = crate::cgroup::detect().map_err(crate::cgroup::CgroupError::from)?;
        // Unique per run and per Sandbox value (tests run several in one process).
        static SANDBOXES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "isobench-sandbox-{}-{}",
            std::process::id(),
            SANDBOXES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let cgroups = cgroup::create_parent(env, &layout, &name)?;
        self.state = Some(Prepared {
            rootfs,
            cgroups,
            launches: 0,
            _mount_guards: mount_guards,
        });
        Ok(())
    }

    fn launch(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        if self.state.is_none() {
            self.prepare(env)?;
        }
        let state = self
            .state
            .as_mut()
            .ok_or(SubjectError::NotPrepared { subject: "sandbox" })?;
        Ok(Box::new(SandboxInstance::start(state, mode, None)?))
    }

    fn launch_limited(
        &mut self,
        env: &Env,
        _case: &str,
        mode: &ProbeMode,
        limits: &crate::subject::limits::Limits,
    ) -> Result<Box<dyn crate::subject::limits::LimitedInstance>, SubjectError> {
        if self.state.is_none() {
            self.prepare(env)?;
        }
        let state = self
            .state
            .as_mut()
            .ok_or(SubjectError::NotPrepared { subject: "sandbox" })?;
        let mut cgroup = AnyManager::create(&env.cleanup, &unique_name("sandbox"))?;
        let inst = cgroup
            .apply(limits)
            .map_err(SubjectError::from)
            .and_then(|()| SandboxInstance::start(state, mode, Some(&cgroup)));
        match inst {
            Ok(inst) => Ok(Box::new(crate::subject::limits::InCgroup::new(
                inst,
                cgroup,
                crate::subject::limits::CgroupOwner::Harness,
            ))),
            Err(e) => {
                let _ = cgroup.remove();
                Err(e)
            }
        }
    }

    fn finish(&mut self, _env: &Env) -> Result<(), SubjectError> {
        // Dropping the guards removes the per-run cgroups (and any launch cgroup left
        // below them) and checks the mount points.
        self.state = None;
        Ok(())
    }
}

impl Sandbox {
    /// Paths of the per-run parent cgroups of a prepared sandbox (tests, `doctor`).
    pub fn cgroup_parents(&self) -> Vec<PathBuf> {
        self.state
            .as_ref()
            .map(|s| s.cgroups.paths())
            .unwrap_or_default()
    }
}

fn cstring(s: impl Into<Vec<u8>>) -> Result<CString, SubjectError> {
    CString::new(s).map_err(|e| SubjectError::nul("path or argument", e))
}

/// What a step is, for error messages.
fn describe_step(step: &Step) -> String {
    let s = |c: &CString| c.to_string_lossy().into_owned();
    match step {
        Step::Mark => "timestamp".into(),
        Step::DieWithParent => "prctl(PR_SET_PDEATHSIG)".into(),
        Step::MakeRprivate => "mount --make-rprivate /".into(),
        Step::BindSelf { path } => format!("bind-mount {} onto itself", s(path)),
        Step::MountFs { target, fstype, .. } => format!("mount {} on {}", s(fstype), s(target)),
        Step::PivotRoot { new_root } => format!("pivot_root into {}", s(new_root)),
        Step::SetHostname { name } => format!("sethostname {}", s(name)),
        Step::Mkdirat { path, .. } => format!("create cgroup {}", s(path)),
        Step::WriteAt { path, data, .. } => {
            format!(
                "write {:?} to cgroup file {}",
                String::from_utf8_lossy(data),
                s(path)
            )
        }
    }
}

/// One running sandbox.
pub struct SandboxInstance {
    child: ContainerChild,
    ready_rd: OwnedFd,
    report_rd: OwnedFd,
    stdout: LineWaiter<File>,
    step_names: Vec<String>,
    cgroup_paths: Vec<PathBuf>,
    cgroups_removed: bool,
    t_launch: Instant,
    t_launch_ns: u64,
    t_clone: Instant,
    /// Child marks: start, then one after each of `MARKED_PHASES`.
    marks: Vec<u64>,
    ready_at: Option<Instant>,
    exit_at: Option<Instant>,
    /// Limited launches: an exit by a signal or a non-zero code is a result (an OOM
    /// kill), not an error.
    any_exit_ok: bool,
    /// user + system time of the payload, from wait4.
    cpu: Option<Duration>,
}

impl std::fmt::Debug for SandboxInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SandboxInstance({})", self.child.pid())
    }
}

impl SandboxInstance {
    /// Start one sandbox; with `limited`, join that (already limited) cgroup instead of
    /// creating the usual per-launch one.
    fn start(
        state: &mut Prepared,
        mode: &ProbeMode,
        limited: Option<&AnyManager>,
    ) -> Result<SandboxInstance, SubjectError> {
        let t_launch = Instant::now();
        let t_launch_ns = sys::process::monotonic_ns();
        state.launches += 1;
        let cg_name = state.launches.to_string();

        let (ready_rd, ready_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let (out_rd, out_wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let probe = cstring(crate::subject::rootfs::PROBE_IN_ROOTFS)?;
        let mut argv = vec![probe.clone()];
        for a in mode.args() {
            argv.push(cstring(a)?);
        }
        argv.push(cstring("--ready-fd")?);
        argv.push(cstring(ready_wr.as_raw_fd().to_string())?);
        let envp = vec![cstring("PATH=/bin")?];

        let root = cstring(state.rootfs.as_os_str().as_encoded_bytes())?;
        let proc_dir = cstring(state.rootfs.join("proc").as_os_str().as_encoded_bytes())?;
        let mut steps = vec![
            Step::Mark,
            Step::DieWithParent,
            Step::MakeRprivate,
            Step::BindSelf { path: root.clone() },
            Step::MountFs {
                source: cstring("proc")?,
                target: proc_dir,
                fstype: cstring("proc")?,
                flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            },
            Step::Mark,
            Step::PivotRoot { new_root: root },
            Step::Mark,
            Step::SetHostname {
                name: cstring(HOSTNAME)?,
            },
            Step::Mark,
        ];
        // Directories of a limited launch's cgroup, open until clone3 copied our fds.
        let mut limited_dirs = Vec::new();
        let cgroup_paths = match limited {
            None => {
                let (cg_create, cg_join) =
                    cgroup::launch_steps(&state.cgroups, &cg_name, &Limits::default())?;
                steps.extend(cg_create);
                steps.push(Step::Mark);
                steps.extend(cg_join);
                cgroup::launch_paths(&state.cgroups, &cg_name)
            }
            Some(cg) => {
                steps.push(Step::Mark);
                for dir in cg.paths() {
                    let f = File::open(&dir).map_err(|e| SubjectError::file("open", &dir, e))?;
                    steps.push(Step::WriteAt {
                        dirfd: f.as_raw_fd(),
                        path: cstring("cgroup.procs")?,
                        data: b"0".to_vec(),
                    });
                    limited_dirs.push(f);
                }
                // Removed by the owner of `limited`.
                Vec::new()
            }
        };
        steps.push(Step::Mark);
        let step_names = steps.iter().map(describe_step).collect();
        let program = ChildProgram::new(
            steps,
            probe,
            argv,
            envp,
            vec![ready_wr.as_raw_fd()],
            vec![(out_wr.as_raw_fd(), 1)],
        )
        .map_err(|e| SubjectError::io("preparing the sandbox program", e))?;

        let t_clone = Instant::now();
        let (child, report_rd) = sys::container::spawn(program, crate::sys::ns::container_flags())
            .map_err(|source| SubjectError::Clone {
                flags: crate::sys::ns::case_name(crate::sys::ns::container_flags()),
                source,
            })?;
        drop(ready_wr);
        drop(out_wr);
        drop(limited_dirs);
        Ok(SandboxInstance {
            child,
            ready_rd,
            report_rd,
            stdout: LineWaiter::new(File::from(out_rd)),
            step_names,
            cgroups_removed: cgroup_paths.is_empty(),
            cgroup_paths,
            t_launch,
            t_launch_ns,
            t_clone,
            marks: Vec::new(),
            ready_at: None,
            exit_at: None,
            any_exit_ok: limited.is_some(),
            cpu: None,
        })
    }

    /// Read the child's report to EOF (it comes before execve; EOF at exec or death).
    fn read_report(&mut self, deadline: Instant) -> Result<ChildReport, SubjectError> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; sys::container::REPORT_BYTES * 2];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(SandboxError::ReportTimeout.into());
            }
            match sys::poll_readable(self.report_rd.as_raw_fd(), deadline - now)
                .map_err(|e| SubjectError::io("poll the sandbox report pipe", e))?
            {
                sys::PollOutcome::Readable => {
                    let n = sys::read(self.report_rd.as_raw_fd(), &mut chunk)
                        .map_err(|e| SubjectError::io("read the sandbox report pipe", e))?;
                    if n == 0 {
                        return Ok(sys::container::parse_report(&buf));
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                sys::PollOutcome::TimedOut | sys::PollOutcome::Interrupted => {}
            }
            if let Some(sig) = sys::signals::interrupted() {
                return Err(MarkerError::Interrupted(sys::signals::name(sig)).into());
            }
        }
    }

    /// Turn a failed report into an error naming the step.
    fn failure(&self, report: &ChildReport) -> SubjectError {
        let errno = |e: i32| std::io::Error::from_raw_os_error(e);
        match report {
            ChildReport::StepFailed { step, errno: e } => SandboxError::StepFailed {
                step: self
                    .step_names
                    .get(*step)
                    .cloned()
                    .unwrap_or_else(|| "?".into()),
                source: errno(*e),
            },
            ChildReport::Done {
                exec_errno: Some(e),
                ..
            } => SandboxError::Exec {
                path: crate::subject::rootfs::PROBE_IN_ROOTFS,
                source: errno(*e),
            },
            ChildReport::Done { .. } => SandboxError::ExitedBeforeReady,
            ChildReport::Nothing => SandboxError::InitDied,
        }
        .into()
    }

    /// Wait until the child is reaped or `deadline` (then SIGKILL, reap, `ExitTimeout`).
    fn reap(&mut self, deadline: Instant) -> Result<sys::process::Reaped, SubjectError> {
        let start = Instant::now();
        let pid = self.child.pid();
        let pidfd =
            sys::process::pidfd_open(pid).map_err(|e| SubjectError::pid("pidfd_open", pid, e))?;
        loop {
            match self.child.wait4(false) {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SubjectError::pid("wait4", pid, e)),
            }
            let now = Instant::now();
            if let Some(sig) = sys::signals::interrupted() {
                let _ = self.child.kill();
                return Err(MarkerError::Interrupted(sys::signals::name(sig)).into());
            }
            if now >= deadline {
                let _ = self.child.kill();
                return Err(SubjectError::ExitTimeout(
                    deadline.saturating_duration_since(start),
                ));
            }
            let slice = (deadline - now).min(Duration::from_millis(250));
            sys::poll_readable(pidfd.as_raw_fd(), slice)
                .map_err(|e| SubjectError::pid("poll the pidfd", pid, e))?;
        }
    }
}

impl Instance for SandboxInstance {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        match crate::measure::wait_byte(self.ready_rd.as_fd(), deadline) {
            Ok(t) => {
                self.ready_at = Some(t);
                match self.read_report(deadline)? {
                    ChildReport::Done {
                        marks,
                        exec_errno: None,
                    } => self.marks = marks,
                    other => return Err(self.failure(&other)),
                }
                Ok(t)
            }
            Err(MarkerError::Eof(_)) => {
                let report = self.read_report(deadline)?;
                Err(self.failure(&report))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        // The payload's stdout closes when it exits (it is PID 1: the whole namespace goes).
        match self.stdout.read_to_end(deadline) {
            Ok(()) => {}
            Err(MarkerError::Timeout(_)) => {
                let _ = self.child.kill();
                return Err(SubjectError::ExitTimeout(
                    deadline.saturating_duration_since(self.ready_at.unwrap_or(self.t_launch)),
                ));
            }
            Err(e) => {
                let _ = self.child.kill();
                return Err(e.into());
            }
        }
        let r = self.reap(deadline)?;
        let at = Instant::now();
        self.exit_at = Some(at);
        let output = self.stdout.text.clone();
        self.cpu = Some(r.user + r.system);
        if r.code != Some(0) && !self.any_exit_ok {
            return Err(SubjectError::PayloadFailed(format!(
                "exit code {:?}, signal {:?}; output: {}",
                r.code,
                r.signal,
                output.trim()
            )));
        }
        Ok(Exit {
            at: Some(at),
            code: r.code,
            signal: r.signal,
            output,
        })
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if !self.child.is_reaped() {
            let pid = self.child.pid();
            self.child
                .kill()
                .map_err(|e| SubjectError::pid("kill the sandbox init", pid, e))?;
        }
        if !self.cgroups_removed {
            cgroup::remove(&self.cgroup_paths, CGROUP_RMDIR_PATIENCE)?;
            self.cgroups_removed = true;
        }
        Ok(())
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        let ns = |d: u64| Duration::from_nanos(d);
        let at_ns = |t: Instant| {
            self.t_launch_ns
                .saturating_add(t.saturating_duration_since(self.t_launch).as_nanos() as u64)
        };
        let mut out = vec![(
            "prepare".to_string(),
            self.t_clone.saturating_duration_since(self.t_launch),
        )];
        let Some(&child_start) = self.marks.first() else {
            return out;
        };
        out.push((
            "clone".into(),
            ns(child_start.saturating_sub(at_ns(self.t_clone))),
        ));
        for (name, from, to) in MARKED_PHASES {
            if let (Some(a), Some(b)) = (self.marks.get(from), self.marks.get(to)) {
                out.push((name.to_string(), ns(b.saturating_sub(*a))));
            }
        }
        if let (Some(&last), Some(ready)) = (self.marks.last(), self.ready_at) {
            out.push(("exec".into(), ns(at_ns(ready).saturating_sub(last))));
            if let Some(exit) = self.exit_at {
                out.push(("exit".into(), exit.saturating_duration_since(ready)));
            }
        }
        out
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        let pid = self.child.pid();
        let mut out = crate::measure::footprint::of_pids(&[pid]).metrics("payload");
        // The sandbox's own per-launch cgroup (memory controller where the host has one).
        if let Some(m) = crate::cgroup::mounts::cgroup_memory_of(pid) {
            out.push(("cgroup_memory".into(), m));
        }
        out
    }
}

impl Drop for SandboxInstance {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

impl crate::subject::limits::PayloadCpu for SandboxInstance {
    fn payload_cpu(&self) -> Option<Duration> {
        self.cpu
    }
}

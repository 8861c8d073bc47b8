//! `namespaces`: the probe exec'd by a clone3() child in fresh namespaces — what a
//! container is before its runtime does anything else (no rootfs, no cgroup, no
//! pivot_root). In the `startup` scenario its cases are `all` (every CLONE_NEW* type) and
//! `container` (pid, mnt, uts, ipc, net: what runc creates by default).
//!
//! The per-namespace `clone()` cost without an exec is the `clone` scenario
//! (`scenario/clone.rs`), which uses the same clone3 primitive.
//!
//! Timer: `t0` before clone3; `ready` when the probe's byte arrives on its inherited pipe
//! fd; `total` when wait4 returns.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Instant;

use super::{Description, Exit, Instance, Subject, SubjectError, SubjectKind, Unavailable};
use crate::probe::ProbeMode;
use crate::sys;
use crate::sys::clone::ChildStack;
use crate::sys::ns;
use crate::workdir::Env;

#[derive(Debug, Default)]
pub struct Namespaces;

fn flags_of(case: &str) -> Option<u64> {
    match case {
        "all" => Some(ns::all_flags()),
        "container" => Some(ns::container_flags()),
        other => ns::by_name(other).map(|n| n.flag),
    }
}

impl Subject for Namespaces {
    fn kind(&self) -> SubjectKind {
        SubjectKind::Namespaces
    }

    fn available(&self, env: &Env) -> Result<(), Unavailable> {
        if !cfg!(target_arch = "x86_64") {
            return Err(Unavailable::new(
                "clone3 child trampoline is implemented for x86_64 only",
                "run on x86_64",
            ));
        }
        if !env.is_root {
            return Err(Unavailable::new(
                "creating pid, mount, uts, ipc, net, cgroup and time namespaces needs CAP_SYS_ADMIN",
                "run isobench as root (sudo isobench run ...)",
            ));
        }
        Ok(())
    }

    fn describe(&self) -> Description {
        Description {
            name: "namespaces".into(),
            class: "namespaces",
            phrase: "a process in fresh namespaces".into(),
            version: None,
            method: "clone3(CLONE_VM|CLONE_NEW*) child that execve()s the probe; ready = byte on inherited pipe; total = wait4".into(),
        }
    }

    fn cases(&self, _env: &Env) -> Vec<String> {
        vec!["container".into(), "all".into()]
    }

    fn labels(&self, case: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        if let Some(f) = flags_of(case) {
            l.insert("namespaces".into(), ns::case_name(f));
        }
        l
    }

    /// Not in the `throttle` scenario: one skipped line says why.
    fn launch_limited(
        &mut self,
        _env: &Env,
        _case: &str,
        _mode: &ProbeMode,
        _limits: &super::limited::Limits,
    ) -> Result<Box<dyn super::limited::LimitedInstance>, SubjectError> {
        Err(SubjectError::Unsupported(Unavailable::new(
            "the namespaces subject is a bare clone3 in fresh namespaces with no cgroup of its own (by design: what a container is before its runtime does anything else); a cgroup limit does not depend on namespaces, so it would measure the `process` subject again",
            "see the `process` subject (the probe in a limited cgroup) and `sandbox` (namespaces + rootfs + a limited cgroup)",
        )))
    }

    fn launch(
        &mut self,
        env: &Env,
        case: &str,
        mode: &ProbeMode,
    ) -> Result<Box<dyn Instance>, SubjectError> {
        let flags = flags_of(case)
            .ok_or_else(|| SubjectError::Other(format!("unknown namespaces case {case:?}")))?;
        Ok(Box::new(NsProbe::spawn(env, flags, mode)?))
    }
}

/// A probe exec'd in fresh namespaces.
pub struct NsProbe {
    pid: i32,
    ready_rd: OwnedFd,
    reaped: bool,
    // Kept alive until the child has exec'd (it reads them through CLONE_VM): the
    // strings, the pointer arrays and the stack. Freed only after the child is reaped.
    _strings: Vec<CString>,
    _argv: Vec<*const libc::c_char>,
    _envp: Vec<*const libc::c_char>,
    _stack: Box<ChildStack>,
}

impl std::fmt::Debug for NsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NsProbe({})", self.pid)
    }
}

impl NsProbe {
    /// The probe's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn spawn(env: &Env, flags: u64, mode: &ProbeMode) -> Result<NsProbe, SubjectError> {
        // The write end must survive execve: a pipe without O_CLOEXEC on the write side.
        let (rd, wr) = sys::pipe().map_err(|e| SubjectError::io("pipe", e))?;
        let wr_fd = wr.as_raw_fd();
        sys::clear_cloexec(wr_fd)
            .map_err(|e| SubjectError::io("fcntl(F_SETFD) on the ready pipe", e))?;
        let path = CString::new(env.probe.as_os_str().as_encoded_bytes())
            .map_err(|_| SubjectError::Other("probe path has a NUL byte".into()))?;
        let mut strings = vec![path];
        for a in mode.args() {
            strings.push(
                CString::new(a)
                    .map_err(|_| SubjectError::Other("probe argument has a NUL byte".into()))?,
            );
        }
        strings.push(CString::new("--ready-fd").unwrap_or_default());
        strings.push(CString::new(wr_fd.to_string()).unwrap_or_default());
        let env_str = CString::new("PATH=/usr/bin:/bin").unwrap_or_default();
        let mut argv: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        argv.push(std::ptr::null());
        let envp = vec![env_str.as_ptr(), std::ptr::null()];
        let mut stack = Box::new(ChildStack::new());
        // As for `process`: the probe's result line goes to /dev/null in ready/hang mode.
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .map_err(|e| SubjectError::io("open /dev/null", e))?;
        let quiet = matches!(mode, ProbeMode::Ready | ProbeMode::Hang);
        let pid = sys::clone::clone_exec(
            flags,
            &mut stack,
            &strings[0],
            &argv,
            &envp,
            quiet.then(|| devnull.as_raw_fd()),
        )
        .map_err(|e| SubjectError::io(format!("clone3({})", ns::case_name(flags)), e))?;
        drop(wr);
        strings.push(env_str);
        Ok(NsProbe {
            pid,
            ready_rd: rd,
            reaped: false,
            _strings: strings,
            _argv: argv,
            _envp: envp,
            _stack: stack,
        })
    }
}

impl Instance for NsProbe {
    fn wait_ready(&mut self, deadline: Instant) -> Result<Instant, SubjectError> {
        Ok(crate::measure::wait_byte(self.ready_rd.as_fd(), deadline)?)
    }

    fn wait_exit(&mut self, deadline: Instant) -> Result<Exit, SubjectError> {
        let r = super::process::wait_pid_deadline(self.pid, deadline)?;
        self.reaped = true;
        let at = Instant::now();
        match r.code {
            Some(0) => Ok(Exit {
                at: Some(at),
                code: r.code,
                signal: r.signal,
                output: String::new(),
            }),
            Some(127) => Err(SubjectError::PayloadFailed(
                "exit code 127: execve of the probe failed in the new namespaces".into(),
            )),
            c => Err(SubjectError::PayloadFailed(format!(
                "exit code {c:?}, signal {:?}",
                r.signal
            ))),
        }
    }

    fn teardown(&mut self) -> Result<(), SubjectError> {
        if !self.reaped {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::wait4(self.pid, true);
            self.reaped = true;
        }
        Ok(())
    }

    fn footprint(&mut self) -> Vec<(String, u64)> {
        crate::measure::footprint::of_pids(&[self.pid]).metrics("payload")
    }
}

impl Drop for NsProbe {
    fn drop(&mut self) {
        // The child shares our memory until it execs: never free its stack or strings
        // while it may still run.
        let _ = self.teardown();
    }
}

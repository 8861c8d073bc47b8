//! A clone3(2) child that runs a prepared list of container set-up steps, then execve()s:
//! the primitive behind the `sandbox` subject (`subject/sandbox.rs`).
//!
//! Like `sys::clone` and glibc's posix_spawn, the child shares the harness's memory
//! (`CLONE_VM`) and runs on a stack of its own, so its cost does not depend on the
//! harness's size (no page-table copy). Unlike posix_spawn there is no `CLONE_VFORK`: the
//! parent goes on at once and waits with a timeout, so a step that hangs cannot hang the
//! harness.
//!
//! Because the child shares memory with a multi-threaded parent, the code it runs
//! (`child_main`) must be async-signal-safe and more: it issues raw syscalls through
//! inline assembly (`raw_syscall`), so it never touches `errno` (thread-local storage it
//! would share with the parent's thread), never allocates, never panics, and only reads
//! the [`ChildProgram`] the parent prepared and keeps alive. Every string it needs is a
//! `CString` built before the clone.
//!
//! Timer points: each [`Step::Mark`] reads CLOCK_MONOTONIC (vDSO, no errno on success);
//! the child sends all marks to the parent in one write(2) on the report pipe just before
//! execve, so the parent can split the launch into phases with the same clock as
//! `Instant` and [`super::process::monotonic_ns`].

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// At most this many `Step::Mark`s per program.
pub const MAX_MARKS: usize = 16;

/// Words of one report record: status, errno, number of marks, marks.
const REPORT_WORDS: usize = 3 + MAX_MARKS;
/// Size of one report record in bytes (well below PIPE_BUF, so one write is atomic).
pub const REPORT_BYTES: usize = REPORT_WORDS * 8;

/// `status` of a report whose steps all succeeded.
const STATUS_OK: u64 = u64::MAX;

/// One thing the child does before execve.
#[derive(Debug)]
pub enum Step {
    /// Read CLOCK_MONOTONIC into the next mark slot.
    Mark,
    /// prctl(PR_SET_PDEATHSIG, SIGKILL): the payload dies if the harness thread does.
    DieWithParent,
    /// mount --make-rprivate /: nothing mounted afterwards propagates to the host.
    MakeRprivate,
    /// mount --rbind `path` `path`: makes a directory a mount point (pivot_root needs one).
    BindSelf { path: CString },
    /// mount(2) of a pseudo filesystem (`proc`).
    MountFs {
        source: CString,
        target: CString,
        fstype: CString,
        flags: libc::c_ulong,
    },
    /// chdir(new_root); pivot_root(".", "."); umount2(".", MNT_DETACH); chdir("/"):
    /// the old root is stacked under the new one and detached at once (the runc way,
    /// which needs no put_old directory inside the rootfs).
    PivotRoot { new_root: CString },
    /// sethostname(2) (in the child's UTS namespace).
    SetHostname { name: CString },
    /// mkdirat(2) relative to a directory fd the parent opened (a cgroup hierarchy).
    Mkdirat {
        dirfd: RawFd,
        path: CString,
        mode: u32,
    },
    /// openat(O_WRONLY) + write(2) + close(2) relative to a directory fd (cgroup files).
    WriteAt {
        dirfd: RawFd,
        path: CString,
        data: Vec<u8>,
    },
}

/// Everything the child does, prepared in the parent (no allocation after clone).
#[derive(Debug)]
pub struct ChildProgram {
    steps: Vec<Step>,
    exe: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// fds whose close-on-exec flag the child clears (the ready pipe).
    keep_fds: Vec<RawFd>,
    /// dup2(src, dst) pairs done just before execve (stdout capture).
    dups: Vec<(RawFd, RawFd)>,
    /// Write end of the report pipe (close-on-exec).
    report_fd: RawFd,
}

impl ChildProgram {
    /// A program: `steps`, then execve(`exe`, `argv`, `envp`) with `keep_fds` inherited
    /// and `dups` applied. Paths inside the steps after a `PivotRoot` are resolved in
    /// the new root.
    pub fn new(
        steps: Vec<Step>,
        exe: CString,
        argv: Vec<CString>,
        envp: Vec<CString>,
        keep_fds: Vec<RawFd>,
        dups: Vec<(RawFd, RawFd)>,
    ) -> io::Result<ChildProgram> {
        let marks = steps.iter().filter(|s| matches!(s, Step::Mark)).count();
        if marks > MAX_MARKS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{marks} marks in a child program; at most {MAX_MARKS}"),
            ));
        }
        // A CString's buffer does not move when the CString (or its Vec) does, so these
        // pointers stay valid as long as the program lives.
        let mut argv_ptrs: Vec<_> = argv.iter().map(|s| s.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<_> = envp.iter().map(|s| s.as_ptr()).collect();
        envp_ptrs.push(std::ptr::null());
        Ok(ChildProgram {
            steps,
            exe,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
            keep_fds,
            dups,
            report_fd: -1,
        })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// What the child reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildReport {
    /// All steps done; CLOCK_MONOTONIC ns of each mark, in order. `exec_errno` is set
    /// when execve itself failed afterwards.
    Done {
        marks: Vec<u64>,
        exec_errno: Option<i32>,
    },
    /// Step number `step` (index into the program's steps) failed with `errno`.
    StepFailed { step: usize, errno: i32 },
    /// The child died before reporting anything (killed).
    Nothing,
}

/// Parse the report pipe's content (one or two records).
pub fn parse_report(bytes: &[u8]) -> ChildReport {
    let records: Vec<[u64; REPORT_WORDS]> = bytes
        .chunks_exact(REPORT_BYTES)
        .map(|rec| {
            let mut w = [0u64; REPORT_WORDS];
            for (i, c) in rec.chunks_exact(8).enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                w[i] = u64::from_ne_bytes(b);
            }
            w
        })
        .collect();
    let Some(first) = records.first() else {
        return ChildReport::Nothing;
    };
    if first[0] != STATUS_OK {
        return ChildReport::StepFailed {
            step: first[0] as usize,
            errno: first[1] as i32,
        };
    }
    let n = (first[2] as usize).min(MAX_MARKS);
    ChildReport::Done {
        marks: first[3..3 + n].to_vec(),
        exec_errno: records.get(1).map(|r| r[1] as i32),
    }
}

/// Stack of the child. 64 KiB: the interpreter below is shallow and allocation-free.
struct ChildStack {
    mem: Vec<u8>,
}

/// A running child program. Keeps the program and the stack the child uses alive until
/// it has exec'd or been reaped; dropping it kills and reaps the child if needed.
pub struct ContainerChild {
    pid: i32,
    reaped: bool,
    // Read through CLONE_VM by the child until it execs or exits.
    _program: Box<ChildProgram>,
    _stack: Box<ChildStack>,
}

impl std::fmt::Debug for ContainerChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContainerChild({})", self.pid)
    }
}

use super::clone::CloneArgs;

/// Start `program` in a clone3 child with `ns_flags` (CLONE_NEW* bits). Returns the
/// child and the read end of its report pipe (EOF once the child exec'd or died).
pub fn spawn(mut program: ChildProgram, ns_flags: u64) -> io::Result<(ContainerChild, OwnedFd)> {
    let (report_rd, report_wr) = super::pipe()?;
    program.report_fd = report_wr.as_raw_fd();
    let program = Box::new(program);
    let mut stack = Box::new(ChildStack {
        mem: vec![0u8; 64 * 1024],
    });
    let args = CloneArgs {
        flags: ns_flags | libc::CLONE_VM as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.mem.as_mut_ptr() as u64,
        stack_size: stack.mem.len() as u64,
        ..CloneArgs::default()
    };
    let ret = raw_clone3_call(&args, &program);
    drop(report_wr);
    if ret < 0 {
        return Err(io::Error::from_raw_os_error((-ret) as i32));
    }
    Ok((
        ContainerChild {
            pid: ret as i32,
            reaped: false,
            _program: program,
            _stack: stack,
        },
        report_rd,
    ))
}

impl ContainerChild {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// wait4 the child (`block = false`: `None` while it runs). Once reaped, the
    /// program's memory may be freed.
    pub fn wait4(&mut self, block: bool) -> io::Result<Option<super::process::Reaped>> {
        if self.reaped {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("child {} was already reaped", self.pid),
            ));
        }
        let r = super::process::wait4(self.pid, block)?;
        if r.is_some() {
            self.reaped = true;
        }
        Ok(r)
    }

    pub fn is_reaped(&self) -> bool {
        self.reaped
    }

    /// SIGKILL and reap (blocking: SIGKILL cannot be ignored, so this returns promptly).
    /// Killing pid 1 of a PID namespace kills the whole namespace.
    pub fn kill(&mut self) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        super::process::kill(self.pid, libc::SIGKILL)?;
        loop {
            match self.wait4(true) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for ContainerChild {
    fn drop(&mut self) {
        // Never free the program or stack while the child may still run on them.
        let _ = self.kill();
    }
}

#[cfg(target_arch = "x86_64")]
fn raw_clone3_call(args: &CloneArgs, program: &ChildProgram) -> i64 {
    let ret: i64;
    // SAFETY: clone3 reads `args` (valid for the call). In the parent only `syscall`,
    // `test` and `jnz` run, so only rax (result), rcx and r11 (clobbered by `syscall`)
    // and the flags change. The child starts on its own stack (args.stack, aligned here
    // to 16 bytes as the ABI wants at a call), calls `child_main(program)` — which only
    // reads `program`, kept alive by the caller until the child exec'd or was reaped —
    // and exits with its return value; it never returns into the parent's Rust frames.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // child
            "and rsp, -16",
            "mov rdi, r12",
            "call r13",
            "mov edi, eax",
            "mov eax, 60",     // SYS_exit
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") program as *const ChildProgram,
            in("r13") child_main as extern "C" fn(*const ChildProgram) -> i32,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(target_arch = "x86_64"))]
fn raw_clone3_call(_args: &CloneArgs, _program: &ChildProgram) -> i64 {
    -(libc::ENOSYS as i64)
}

/// A syscall that returns `-errno` instead of touching `errno`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn raw_syscall(nr: i64, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> i64 {
    let ret: i64;
    // SAFETY: the syscall instruction with the kernel's x86_64 convention; callers pass
    // pointers to NUL-terminated strings and buffers that live in the prepared program
    // or on the child's stack. Only rax, rcx and r11 are changed.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") a5,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(target_arch = "x86_64"))]
fn raw_syscall(_nr: i64, _a1: usize, _a2: usize, _a3: usize, _a4: usize, _a5: usize) -> i64 {
    -(libc::ENOSYS as i64)
}

/// CLOCK_MONOTONIC in ns from the vDSO; sets no errno on success (a valid clock id and
/// pointer cannot fail).
#[inline(always)]
fn child_now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes; clock_gettime(CLOCK_MONOTONIC) is
    // async-signal-safe and, served by the vDSO, makes no allocation.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

fn send_report(fd: RawFd, words: &[u64; REPORT_WORDS]) {
    let _ = raw_syscall(
        libc::SYS_write,
        fd as usize,
        words.as_ptr() as usize,
        REPORT_BYTES,
        0,
        0,
    );
}

/// Run one step; `Err(errno)` on failure.
fn run_step(step: &Step) -> Result<(), i64> {
    let ok = |r: i64| if r < 0 { Err(-r) } else { Ok(()) };
    let p = |c: &CString| c.as_ptr() as usize;
    match step {
        Step::Mark => Ok(()),
        Step::DieWithParent => ok(raw_syscall(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG as usize,
            libc::SIGKILL as usize,
            0,
            0,
            0,
        )),
        Step::MakeRprivate => ok(raw_syscall(
            libc::SYS_mount,
            c"none".as_ptr() as usize,
            c"/".as_ptr() as usize,
            0,
            (libc::MS_REC | libc::MS_PRIVATE) as usize,
            0,
        )),
        Step::BindSelf { path } => ok(raw_syscall(
            libc::SYS_mount,
            p(path),
            p(path),
            0,
            (libc::MS_BIND | libc::MS_REC) as usize,
            0,
        )),
        Step::MountFs {
            source,
            target,
            fstype,
            flags,
        } => ok(raw_syscall(
            libc::SYS_mount,
            p(source),
            p(target),
            p(fstype),
            *flags as usize,
            0,
        )),
        Step::PivotRoot { new_root } => {
            let dot = c".".as_ptr() as usize;
            ok(raw_syscall(libc::SYS_chdir, p(new_root), 0, 0, 0, 0))?;
            ok(raw_syscall(libc::SYS_pivot_root, dot, dot, 0, 0, 0))?;
            ok(raw_syscall(
                libc::SYS_umount2,
                dot,
                libc::MNT_DETACH as usize,
                0,
                0,
                0,
            ))?;
            ok(raw_syscall(
                libc::SYS_chdir,
                c"/".as_ptr() as usize,
                0,
                0,
                0,
                0,
            ))
        }
        Step::SetHostname { name } => ok(raw_syscall(
            libc::SYS_sethostname,
            p(name),
            name.as_bytes().len(),
            0,
            0,
            0,
        )),
        Step::Mkdirat { dirfd, path, mode } => ok(raw_syscall(
            libc::SYS_mkdirat,
            *dirfd as usize,
            p(path),
            *mode as usize,
            0,
            0,
        )),
        Step::WriteAt { dirfd, path, data } => {
            let fd = raw_syscall(
                libc::SYS_openat,
                *dirfd as usize,
                p(path),
                (libc::O_WRONLY | libc::O_CLOEXEC) as usize,
                0,
                0,
            );
            if fd < 0 {
                return Err(-fd);
            }
            let w = raw_syscall(
                libc::SYS_write,
                fd as usize,
                data.as_ptr() as usize,
                data.len(),
                0,
                0,
            );
            let _ = raw_syscall(libc::SYS_close, fd as usize, 0, 0, 0, 0);
            ok(w)
        }
    }
}

/// The child's whole life until execve. Runs on the child's own stack with the parent's
/// memory shared: raw syscalls only, no allocation, no panics (every index is checked).
extern "C" fn child_main(program: *const ChildProgram) -> i32 {
    // SAFETY: the parent passes a pointer to a live, immutable ChildProgram that it keeps
    // alive until this child has exec'd or been reaped (see ContainerChild).
    let program = unsafe { &*program };
    let mut words = [0u64; REPORT_WORDS];
    let mut marks = 0usize;
    for (i, step) in program.steps.iter().enumerate() {
        if let Step::Mark = step {
            if let Some(slot) = words.get_mut(3 + marks) {
                *slot = child_now();
                marks = marks.wrapping_add(1);
            }
            continue;
        }
        if let Err(errno) = run_step(step) {
            words[0] = i as u64;
            words[1] = errno as u64;
            send_report(program.report_fd, &words);
            return 126;
        }
    }
    for &fd in &program.keep_fds {
        let _ = raw_syscall(
            libc::SYS_fcntl,
            fd as usize,
            libc::F_SETFD as usize,
            0,
            0,
            0,
        );
    }
    for &(src, dst) in &program.dups {
        if src != dst {
            let _ = raw_syscall(libc::SYS_dup2, src as usize, dst as usize, 0, 0, 0);
        }
    }
    words[0] = STATUS_OK;
    words[2] = marks as u64;
    send_report(program.report_fd, &words);
    let r = raw_syscall(
        libc::SYS_execve,
        program.exe.as_ptr() as usize,
        program.argv_ptrs.as_ptr() as usize,
        program.envp_ptrs.as_ptr() as usize,
        0,
        0,
    );
    // Only reached when execve failed: a second record carries its errno.
    words[1] = r.wrapping_neg() as u64;
    send_report(program.report_fd, &words);
    127
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reports() {
        assert_eq!(parse_report(&[]), ChildReport::Nothing);
        let mut w = [0u64; REPORT_WORDS];
        w[0] = STATUS_OK;
        w[2] = 2;
        w[3] = 10;
        w[4] = 20;
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_ne_bytes()).collect();
        assert_eq!(
            parse_report(&bytes),
            ChildReport::Done {
                marks: vec![10, 20],
                exec_errno: None
            }
        );
        let mut two = bytes.clone();
        let mut e = w;
        e[1] = libc::ENOENT as u64;
        two.extend(e.iter().flat_map(|x| x.to_ne_bytes()));
        assert_eq!(
            parse_report(&two),
            ChildReport::Done {
                marks: vec![10, 20],
                exec_errno: Some(libc::ENOENT)
            }
        );
        let mut f = [0u64; REPORT_WORDS];
        f[0] = 4;
        f[1] = libc::EINVAL as u64;
        let bytes: Vec<u8> = f.iter().flat_map(|x| x.to_ne_bytes()).collect();
        assert_eq!(
            parse_report(&bytes),
            ChildReport::StepFailed {
                step: 4,
                errno: libc::EINVAL
            }
        );
    }
}

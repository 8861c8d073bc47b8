//! clone3(2) of a minimal child: the primitive behind the `clone` scenario.
//!
//! The child shares the harness's memory (`CLONE_VM`) and runs on a stack of its own, like
//! glibc's posix_spawn, so the measured cost is the task and its new namespaces, not a
//! copy of the harness's page tables (which would make the figure depend on how much
//! memory the harness happens to hold). It runs no Rust code: a few instructions of inline
//! assembly write one byte to the ready pipe and call exit(2). That keeps it safe to run
//! on shared memory and identical to the C reference loop in `fixtures/reference/`.
//!
//! clone3 rather than clone: `CLONE_NEWTIME` (0x80) shares its bit with the exit-signal
//! byte of clone(2)'s flags, so only clone3 (Linux 5.3+; time namespaces 5.6+) can ask
//! for it at creation.
//!
//! Note on `CLONE_NEWTIME` with `CLONE_VM`: the kernel creates the time namespace but
//! the child itself stays in the parent's until it execs (kernel/nsproxy.c skips
//! timens_on_fork for a shared mm); creation is what is measured.

use std::io;
use std::os::fd::RawFd;

/// struct clone_args of <linux/sched.h>, version 2 (Linux 5.7).
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct CloneArgs {
    pub(crate) flags: u64,
    pub(crate) pidfd: u64,
    pub(crate) child_tid: u64,
    pub(crate) parent_tid: u64,
    pub(crate) exit_signal: u64,
    pub(crate) stack: u64,
    pub(crate) stack_size: u64,
    pub(crate) tls: u64,
    pub(crate) set_tid: u64,
    pub(crate) set_tid_size: u64,
    pub(crate) cgroup: u64,
}

/// Byte the child writes as its ready marker.
static READY: u8 = b'R';

/// Stack for clone children. One per creator thread, reused after each child is reaped.
#[derive(Debug)]
pub struct ChildStack {
    mem: Vec<u8>,
}

impl ChildStack {
    /// 64 KiB: the child uses a handful of bytes (no Rust code runs on it).
    pub fn new() -> Self {
        ChildStack {
            mem: vec![0u8; 64 * 1024],
        }
    }
}

impl Default for ChildStack {
    fn default() -> Self {
        Self::new()
    }
}

/// Create a child with `flags` (CLONE_NEW* bits; `CLONE_VM` is added) that writes one
/// byte to `ready_fd` and exits 0. Returns its pid; the child delivers SIGCHLD on exit, so
/// `wait4` reaps it normally.
///
/// The caller must reap the child (wait4) before reusing `stack` for another child.
pub fn clone_ready_exit(flags: u64, stack: &mut ChildStack, ready_fd: RawFd) -> io::Result<i32> {
    let args = CloneArgs {
        flags: flags | libc::CLONE_VM as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.mem.as_mut_ptr() as u64,
        stack_size: stack.mem.len() as u64,
        ..CloneArgs::default()
    };
    let ret = raw_clone3(&args, ready_fd);
    if ret < 0 {
        return Err(io::Error::from_raw_os_error((-ret) as i32));
    }
    Ok(ret as i32)
}

#[cfg(target_arch = "x86_64")]
fn raw_clone3(args: &CloneArgs, ready_fd: RawFd) -> i64 {
    let ret: i64;
    // SAFETY: clone3 reads `args` (valid for the call). In the parent only `syscall`,
    // `test` and `jnz` run, so only rax (result), rcx and r11 (clobbered by `syscall`) and
    // the flags change. The child starts on its own stack (args.stack) with rax = 0 and
    // executes only write(2) of a static byte and exit(2); it never returns into Rust, so
    // it cannot race with the parent on shared memory.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // child
            "mov eax, 1",      // SYS_write
            "mov edi, r12d",
            "mov rsi, r13",
            "mov edx, 1",
            "syscall",
            "mov eax, 60",     // SYS_exit
            "xor edi, edi",
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") ready_fd,
            in("r13") &READY as *const u8,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
fn raw_clone3(args: &CloneArgs, ready_fd: RawFd) -> i64 {
    let ret: i64;
    // SAFETY: as for x86_64: the parent only executes `svc` and `cbnz`; the child runs on
    // its own stack, writes one static byte and exits without returning into Rust.
    unsafe {
        std::arch::asm!(
            "svc 0",
            "cbnz x0, 2f",
            "mov x8, 64",      // __NR_write
            "mov x0, x9",
            "mov x1, x10",
            "mov x2, 1",
            "svc 0",
            "mov x8, 93",      // __NR_exit
            "mov x0, 0",
            "svc 0",
            "udf 0",
            "2:",
            inlateout("x0") args as *const CloneArgs as i64 => ret,
            in("x1") std::mem::size_of::<CloneArgs>(),
            in("x8") libc::SYS_clone3,
            in("x9") ready_fd as i64,
            in("x10") &READY as *const u8,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn raw_clone3(_args: &CloneArgs, _ready_fd: RawFd) -> i64 {
    -(libc::ENOSYS as i64)
}

/// Create a child with `flags` (`CLONE_VM` added) that calls execve(path, argv, envp) at
/// once (after dup2(stdout_fd, 1) when `stdout_fd` is given); exits 127 if execve fails. `argv`/`envp` are null-terminated arrays of pointers
/// to NUL-terminated strings that must stay alive until the child has exec'd — which the
/// caller knows when the ready marker arrives or the child is reaped.
///
/// This is the `namespaces` subject of the startup scenario: the probe exec'd in fresh
/// namespaces, with nothing else a container runtime does.
pub fn clone_exec(
    flags: u64,
    stack: &mut ChildStack,
    path: &std::ffi::CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    stdout_fd: Option<RawFd>,
) -> io::Result<i32> {
    if argv.last() != Some(&std::ptr::null()) || envp.last() != Some(&std::ptr::null()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "argv and envp must end with a null pointer",
        ));
    }
    let args = CloneArgs {
        flags: flags | libc::CLONE_VM as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.mem.as_mut_ptr() as u64,
        stack_size: stack.mem.len() as u64,
        ..CloneArgs::default()
    };
    let ret = raw_clone3_exec(
        &args,
        path.as_ptr(),
        argv.as_ptr(),
        envp.as_ptr(),
        stdout_fd.unwrap_or(-1),
    );
    if ret < 0 {
        return Err(io::Error::from_raw_os_error((-ret) as i32));
    }
    Ok(ret as i32)
}

#[cfg(target_arch = "x86_64")]
fn raw_clone3_exec(
    args: &CloneArgs,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdout_fd: RawFd,
) -> i64 {
    let ret: i64;
    // SAFETY: as in `raw_clone3`: the parent path only runs `syscall`/`test`/`jnz`. The
    // child, on its own stack, calls execve with pointers into memory the caller keeps
    // alive (shared through CLONE_VM) and otherwise exit(127); it never returns into Rust.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "test r15d, r15d",
            "js 3f",
            "mov eax, 33",     // SYS_dup2(stdout_fd, 1)
            "mov edi, r15d",
            "mov esi, 1",
            "syscall",
            "3:",
            "mov eax, 59",     // SYS_execve
            "mov rdi, r12",
            "mov rsi, r13",
            "mov rdx, r14",
            "syscall",
            "mov eax, 60",     // SYS_exit
            "mov edi, 127",
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") path,
            in("r13") argv,
            in("r14") envp,
            in("r15") stdout_fd,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(target_arch = "x86_64"))]
fn raw_clone3_exec(
    _args: &CloneArgs,
    _path: *const libc::c_char,
    _argv: *const *const libc::c_char,
    _envp: *const *const libc::c_char,
    _stdout_fd: RawFd,
) -> i64 {
    -(libc::ENOSYS as i64)
}

//! Set-up of children started with `std::process::Command` that must not outlive us.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Make the child receive SIGKILL when the thread that spawns it dies (prctl(2)
/// `PR_SET_PDEATHSIG`), so a VM does not outlive a harness that was itself SIGKILLed
/// (the cleanup journal covers every other path). Spawn from a thread that lives as long
/// as the child: the "parent" is the spawning thread, not the process.
pub fn kill_with_parent(cmd: &mut Command) -> &mut Command {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec in the child and only calls
    // async-signal-safe functions (prctl, getppid), allocating nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the parent exited during spawn"));
            }
            Ok(())
        })
    }
}

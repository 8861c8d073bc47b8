//! Timing one clone(): a [`Creator`] makes a child with the given namespace flags that
//! writes one byte and exits; `ready` is the byte's arrival, `total` the reap. The `clone`
//! scenario, `doctor`'s namespace checks and the criterion benches share it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::sys;
use crate::sys::clone::ChildStack;

/// Deadline for one child's ready byte.
const CHILD_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// One creator: its own pipe and child stack, reused for every child.
pub struct Creator {
    rd: OwnedFd,
    wr: OwnedFd,
    stack: ChildStack,
}

impl std::fmt::Debug for Creator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Creator")
    }
}

/// Timings of one clone.
#[derive(Debug, Clone, Copy)]
pub struct CloneTiming {
    pub ready: Duration,
    pub total: Duration,
}

impl Creator {
    pub fn new() -> std::io::Result<Creator> {
        let (rd, wr) = sys::pipe()?;
        Ok(Creator {
            rd,
            wr,
            stack: ChildStack::new(),
        })
    }

    /// Create one child with `flags`, wait for its byte, reap it.
    ///
    /// After the byte arrives the child has only exit(2) left (it runs no other code), so
    /// the blocking wait4 that follows cannot hang; the wait for the byte has a deadline.
    pub fn once(&mut self, flags: u64) -> std::io::Result<CloneTiming> {
        let t0 = Instant::now();
        let pid = sys::clone::clone_ready_exit(flags, &mut self.stack, self.wr.as_raw_fd())?;
        let ready = match super::wait_byte(self.rd.as_fd(), t0 + CHILD_READY_TIMEOUT) {
            Ok(t) => t,
            Err(e) => {
                let _ = sys::process::kill(pid, libc::SIGKILL);
                let _ = sys::process::wait4(pid, true);
                return Err(std::io::Error::other(e.to_string()));
            }
        };
        loop {
            match sys::process::wait4(pid, true) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let t_exit = Instant::now();
        Ok(CloneTiming {
            ready: ready - t0,
            total: t_exit - t0,
        })
    }
}

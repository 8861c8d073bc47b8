//! SIGINT/SIGTERM/SIGHUP handling: the handler only records the signal; the run loop
//! checks `interrupted()` between samples and unwinds, so every Drop guard runs.
//!
//! The handler is installed without SA_RESTART, so a blocking poll(2) or waitpid(2) in the
//! harness returns EINTR at once and the wait loops notice.

use std::sync::atomic::{AtomicI32, Ordering};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Install the handler for SIGINT, SIGTERM and SIGHUP.
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: sigaction is plain old data; zeroed is a valid starting value.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0; // no SA_RESTART: blocking waits must return EINTR
                         // SAFETY: `sa.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: valid signal number, valid sigaction, old action not requested.
        super::check(unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) }.into())?;
    }
    Ok(())
}

/// The signal that asked us to stop, if any.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Pretend a signal arrived (tests, and `--max-time` style limits).
pub fn raise_flag(sig: i32) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// The name of the signal that stopped the run (what `interrupted()` holds), for a
/// scenario that saw an interrupted wait; "signal" only when none was recorded.
pub fn interrupted_name() -> &'static str {
    interrupted().map(name).unwrap_or("signal")
}

/// Name of a signal for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGKILL => "SIGKILL",
        _ => "signal",
    }
}

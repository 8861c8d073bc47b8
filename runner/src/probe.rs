//! The probe binary, embedded at build time (see `runner/build.rs`).

use std::path::Path;

/// The static `isobench-probe` ELF.
pub const PROBE_ELF: &[u8] = include_bytes!(env!("ISOBENCH_PROBE_PATH"));

/// Write the probe to `path` (mode 0755), atomically. The bytes are written by a forked
/// child (see [`crate::sys::fs::write_executable`]) so that exec'ing the probe can never
/// fail with "Text file busy" because a concurrent fork inherited the writing fd.
pub fn write_to(path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    crate::sys::fs::write_executable(&tmp, PROBE_ELF, 0o755)?;
    std::fs::rename(&tmp, path)
}

/// What the probe does after signalling ready (its MODE argument).
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeMode {
    /// Exit 0 at once.
    Ready,
    /// Stay until killed (timeout and cleanup tests, footprint at ready).
    Hang,
    /// Print what it can see (isolation tests).
    Info,
    /// Fixed CPU-bound units for a wall-clock window.
    Work { window_ms: u64, unit_iters: u64 },
    /// Allocate and touch MiB.
    Alloc { mib: u64 },
}

impl ProbeMode {
    /// Arguments after the program name.
    pub fn args(&self) -> Vec<String> {
        match self {
            ProbeMode::Ready => vec!["ready".into()],
            ProbeMode::Hang => vec!["hang".into()],
            ProbeMode::Info => vec!["info".into()],
            ProbeMode::Work {
                window_ms,
                unit_iters,
            } => vec![
                "work".into(),
                "--window-ms".into(),
                window_ms.to_string(),
                "--unit-iters".into(),
                unit_iters.to_string(),
            ],
            ProbeMode::Alloc { mib } => vec!["alloc".into(), "--mib".into(), mib.to_string()],
        }
    }
}

/// Parse the probe's `key=value` result lines.
pub fn parse_output(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

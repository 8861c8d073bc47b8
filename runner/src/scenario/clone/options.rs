//! Options of the `clone` scenario: its command-line flags (flattened into `isobench run`)
//! and what the run file records under `config.options`.

use clap::builder::RangedU64ValueParser;
use serde::Serialize;

/// The concurrency levels of the sweep, the extra mounts of the mount-table sweep and
/// where the sequential cases run.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct CloneOptions {
    /// Creator threads for the clone concurrency sweep (1–256 each).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 2, 4, 8],
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: Vec<usize>,
    /// Extra mounts for the clone mount-table sweep (0–10000 each: every one is a real
    /// tmpfs mount).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0usize, 100, 1000],
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=10_000))]
    pub mounts: Vec<usize>,
    /// CPU for the clone scenario's sequential cases: `auto` (the last CPU this process may
    /// use; CPU 0 usually takes the device interrupts), a CPU number, or `off` (let the
    /// scheduler place creator and child). The concurrency sweep is never pinned.
    #[arg(long = "pin", default_value = "auto", value_name = "auto|off|CPU")]
    #[serde(skip)]
    pub pin: String,
    /// The CPU the clone scenario's sequential cases run on (creator and children pinned
    /// together); `None`: wherever the scheduler puts them. Resolved from `--pin`.
    #[arg(skip)]
    pub pin_cpu: Option<usize>,
}

impl Default for CloneOptions {
    fn default() -> Self {
        CloneOptions {
            concurrency: vec![1, 2, 4, 8],
            mounts: vec![0, 100, 1000],
            pin: "auto".into(),
            pin_cpu: None,
        }
    }
}

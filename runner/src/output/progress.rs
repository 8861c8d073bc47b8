//! A progress bar on stderr, hidden when stderr is not a terminal.
//!
//! It only redraws when the run loop calls `inc` between samples (no steady tick, no
//! background thread), so nothing ticks inside a timed region.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
}

impl Progress {
    /// `enabled = false` (or a non-terminal stderr) draws nothing.
    pub fn new(enabled: bool) -> Progress {
        let target = if enabled {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        // Until a scenario `start`s: only the message ("probing the host", "preparing X"),
        // not an empty 0/0 bar.
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        Progress { bar, enabled }
    }

    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    pub fn start(&self, scenario: &str, len: u64) {
        self.bar.reset();
        self.bar.set_length(len);
        self.bar.set_position(0);
        let style =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        self.bar.set_style(style);
        self.bar.set_prefix(scenario.to_string());
        // "preparing X" messages belong to the set-up before the rounds.
        self.bar.set_message(String::new());
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn message(&self, msg: &str) {
        if self.enabled {
            self.bar.set_message(msg.to_string());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Print a line above the bar.
    pub fn println(&self, msg: &str) {
        if self.enabled && !self.bar.is_hidden() {
            self.bar.println(msg);
        } else {
            eprintln!("{msg}");
        }
    }
}

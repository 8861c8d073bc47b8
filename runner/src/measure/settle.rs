//! Settling the machine between scenarios of one run.
//!
//! A scenario leaves the kernel work to finish after its last measurement: the clone
//! scenario's thousands of network namespaces are torn down by a workqueue (`cleanup_net`)
//! after the last process holding them is gone. Measured on the shared 2-core VM, the
//! first ~80 process launches of a `startup` section run straight after `clone` took
//! 640 µs against 565 µs for the rest (the section's first two time blocks of ten, a
//! +13 % shift that decided A/A comparisons), then the level dropped at once; the same
//! launches in a separate `isobench run` a moment later did not show it. So before each
//! scenario but the first the run waits, bounded, until the machine's CPU time (all CPUs,
//! `/proc/stat`, 10 ms ticks) is back to what it was before the run began, and records
//! how long that took (`time_spent[].settle_s`, `settle_quiet`).

use std::time::{Duration, Instant};

/// The first wait, and the window busy-ness is measured over.
pub const WINDOW: Duration = Duration::from_millis(50);
/// At most this long per settle: on a machine other tenants keep busy it never goes
/// quiet, and the run goes on (recorded as not quiet).
pub const MAX: Duration = Duration::from_millis(1500);
/// Busy fraction above the run's starting level still counted as quiet (one 10 ms tick
/// of 2 CPUs in a 50 ms window is 0.1).
pub const SLACK: f64 = 0.1;

/// CPU time counters of the `cpu` line of /proc/stat: (busy, total) in ticks.
fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is inside user already).
    let idle = v[3] + v[4];
    let total: u64 = v.iter().take(8).sum();
    Some((total - idle, total))
}

fn read_stat() -> Option<(u64, u64)> {
    parse_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Busy fraction of all CPUs over `window` (None when /proc/stat is unreadable, or no
/// tick passed).
pub fn busy_over(window: Duration) -> Option<f64> {
    let a = read_stat()?;
    std::thread::sleep(window);
    let b = read_stat()?;
    fraction(a, b)
}

fn fraction(a: (u64, u64), b: (u64, u64)) -> Option<f64> {
    let total = b.1.checked_sub(a.1)?;
    let busy = b.0.checked_sub(a.0)?;
    (total > 0).then(|| busy as f64 / total as f64)
}

/// How a settle ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settled {
    pub waited_s: f64,
    /// The last window's busy fraction, when it could be read.
    pub busy: Option<f64>,
    /// Two windows in a row at most `baseline + SLACK` busy before `MAX`.
    pub quiet: bool,
}

/// Wait until two consecutive windows are at most `baseline + SLACK` busy, or `MAX`.
pub fn settle(baseline: f64) -> Settled {
    settle_with(baseline, &mut || busy_over(WINDOW))
}

fn settle_with(baseline: f64, busy: &mut dyn FnMut() -> Option<f64>) -> Settled {
    let t = Instant::now();
    let mut quiet_windows = 0;
    let mut last = None;
    while t.elapsed() < MAX {
        let Some(b) = busy() else {
            // Nothing to read: one window's wait, and on.
            return Settled {
                waited_s: t.elapsed().as_secs_f64(),
                busy: None,
                quiet: false,
            };
        };
        last = Some(b);
        if b <= baseline + SLACK {
            quiet_windows += 1;
            if quiet_windows >= 2 {
                return Settled {
                    waited_s: t.elapsed().as_secs_f64(),
                    busy: last,
                    quiet: true,
                };
            }
        } else {
            quiet_windows = 0;
        }
    }
    Settled {
        waited_s: t.elapsed().as_secs_f64(),
        busy: last,
        quiet: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cpu_line() {
        let text = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        // busy = 100+5+50+3+2+1, total = busy + 1000 + 20
        assert_eq!(parse_stat(text), Some((161, 1181)));
        assert_eq!(parse_stat("cpu0 1 2 3 4 5\n"), None);
        assert_eq!(parse_stat("cpu  1 x 3 4 5\n"), None);
        assert_eq!(fraction((10, 100), (15, 110)), Some(0.5));
        assert_eq!(fraction((10, 100), (10, 100)), None);
        // A counter going backwards (a CPU taken offline) is no reading.
        assert_eq!(fraction((10, 100), (5, 110)), None);
    }

    #[test]
    fn waits_for_two_quiet_windows_in_a_row() {
        let mut seq = [0.9, 0.1, 0.8, 0.1, 0.15].into_iter();
        let s = settle_with(0.05, &mut || seq.next());
        assert!(s.quiet);
        assert_eq!(s.busy, Some(0.15));
    }

    #[test]
    fn gives_up_on_a_busy_machine_and_on_no_reading() {
        let s = settle_with(0.0, &mut || {
            std::thread::sleep(Duration::from_millis(100));
            Some(1.0)
        });
        assert!(!s.quiet);
        assert!(s.waited_s >= MAX.as_secs_f64());
        let s = settle_with(0.0, &mut || None);
        assert!(!s.quiet && s.busy.is_none());
    }
}

//! The host's memory counters (/proc/meminfo) and the bounded settle that precedes every
//! reading of them.
//!
//! `MemAvailable` is the kernel's estimate of what could be allocated without swapping
//! (free memory plus reclaimable page cache and slab, minus the low watermarks; see
//! `si_mem_available` in mm/show_mem.c). `Slab`, `KernelStack` and `PageTables` are
//! kernel memory that no process's PSS includes: the task_structs, namespaces, cgroups,
//! dentries and inodes a container costs, the stacks of its threads, its page tables;
//! `Percpu` holds the per-CPU parts of memory cgroups and network namespaces.

use std::path::Path;
use std::time::{Duration, Instant};

/// The counters density reads, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub available: u64,
    pub slab: u64,
    pub kernel_stack: u64,
    pub page_tables: u64,
    /// Per-CPU allocations (`Percpu`, Linux 4.16): a memory cgroup's statistics and a
    /// network namespace's counters live here, in neither Slab nor any PSS. 0 when absent.
    pub percpu: u64,
}

/// Why /proc/meminfo could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MemInfoError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} has no numeric {field} line (kernel before 3.14?)", .path.display())]
    Missing {
        path: std::path::PathBuf,
        field: &'static str,
    },
}

/// Parse meminfo text (`Name:   123 kB` lines).
pub fn parse(text: &str, path: &Path) -> Result<MemInfo, MemInfoError> {
    let field = |name: &'static str| -> Result<u64, MemInfoError> {
        text.lines()
            .find_map(|l| {
                let rest = l.strip_prefix(name)?.strip_prefix(':')?;
                let mut it = rest.split_whitespace();
                let v: u64 = it.next()?.parse().ok()?;
                Some(match it.next() {
                    Some("kB") => v * 1024,
                    _ => v,
                })
            })
            .ok_or(MemInfoError::Missing {
                path: path.to_path_buf(),
                field: name,
            })
    };
    Ok(MemInfo {
        available: field("MemAvailable")?,
        slab: field("Slab")?,
        kernel_stack: field("KernelStack")?,
        page_tables: field("PageTables")?,
        percpu: field("Percpu").unwrap_or(0),
    })
}

/// Read `path` (a meminfo file).
pub fn read_from(path: &Path) -> Result<MemInfo, MemInfoError> {
    let text = std::fs::read_to_string(path).map_err(|source| MemInfoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Read the host's /proc/meminfo.
pub fn read() -> Result<MemInfo, MemInfoError> {
    read_from(Path::new("/proc/meminfo"))
}

/// The settle criterion: MemAvailable moved less than `band` over the last `window`,
/// given up after `limit`. Relative criteria are useless here (1 % of 24 GiB is more
/// than eight containers use), so the band is absolute.
#[derive(Debug, Clone, Copy)]
pub struct SettleRule {
    pub band: u64,
    pub window: Duration,
    pub limit: Duration,
    pub poll: Duration,
}

/// 2 MiB over 1 s, at most 10 s, read every 100 ms.
pub const SETTLE: SettleRule = SettleRule {
    band: 2 << 20,
    window: Duration::from_secs(1),
    limit: Duration::from_secs(10),
    poll: Duration::from_millis(100),
};

/// What a settle found: the last reading, how long it took, whether the band was met.
#[derive(Debug, Clone, Copy)]
pub struct Settled {
    pub info: MemInfo,
    pub took: Duration,
    pub settled: bool,
}

/// Poll `read` until MemAvailable stayed within `rule.band` for `rule.window`, or
/// `rule.limit` passed (`settled: false`), or `stop()` says to stop. `sleep` is
/// `thread::sleep` outside tests.
pub fn settle_with<E>(
    rule: SettleRule,
    mut read: impl FnMut() -> Result<MemInfo, E>,
    mut sleep: impl FnMut(Duration),
    mut now: impl FnMut() -> Instant,
    stop: impl Fn() -> bool,
) -> Result<Settled, E> {
    let start = now();
    let mut window: std::collections::VecDeque<(Instant, u64)> = Default::default();
    loop {
        let info = read()?;
        let t = now();
        window.push_back((t, info.available));
        while window
            .front()
            .is_some_and(|(t0, _)| t.saturating_duration_since(*t0) > rule.window)
        {
            window.pop_front();
        }
        let covered = window
            .front()
            .is_some_and(|(t0, _)| t.saturating_duration_since(*t0) + rule.poll > rule.window);
        let lo = window.iter().map(|w| w.1).min().unwrap_or(0);
        let hi = window.iter().map(|w| w.1).max().unwrap_or(0);
        let took = t.saturating_duration_since(start);
        if covered && hi - lo < rule.band {
            return Ok(Settled {
                info,
                took,
                settled: true,
            });
        }
        if took >= rule.limit || stop() {
            return Ok(Settled {
                info,
                took,
                settled: false,
            });
        }
        sleep(rule.poll);
    }
}

/// Settle on the host's /proc/meminfo, stopping early on a signal.
pub fn settle() -> Result<Settled, MemInfoError> {
    settle_with(SETTLE, read, std::thread::sleep, Instant::now, || {
        crate::sys::signals::interrupted().is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const SAMPLE: &str = "MemTotal:       24576000 kB\nMemFree:        18336136 kB\n\
        MemAvailable:   23979824 kB\nSlab:             264848 kB\nSReclaimable:     225452 kB\n\
        KernelStack:        2128 kB\nPageTables:         4356 kB\nSecPageTables:         0 kB\n\
        Percpu:             5440 kB\n";

    #[test]
    fn parses_the_counters_in_bytes() {
        let m = parse(SAMPLE, Path::new("/proc/meminfo")).expect("parse");
        assert_eq!(m.available, 23_979_824 * 1024);
        assert_eq!(m.slab, 264_848 * 1024);
        assert_eq!(m.kernel_stack, 2128 * 1024);
        assert_eq!(m.page_tables, 4356 * 1024, "not SecPageTables");
        assert_eq!(m.percpu, 5440 * 1024);
        let e = parse("MemFree: 1 kB\n", Path::new("/x")).expect_err("no MemAvailable");
        assert_eq!(
            e.to_string(),
            "/x has no numeric MemAvailable line (kernel before 3.14?)"
        );
        let real = read().expect("this host's /proc/meminfo");
        assert!(real.available > 0 && real.slab > 0);
    }

    /// A fake clock that `sleep` advances, and MemAvailable from a function of time.
    fn run(avail: impl Fn(u64) -> u64) -> Settled {
        let t0 = Instant::now();
        let ms = Cell::new(0u64);
        settle_with::<()>(
            SETTLE,
            || {
                Ok(MemInfo {
                    available: avail(ms.get()),
                    ..MemInfo::default()
                })
            },
            |d| ms.set(ms.get() + d.as_millis() as u64),
            || t0 + Duration::from_millis(ms.get()),
            || false,
        )
        .expect("settle")
    }

    #[test]
    fn a_quiet_host_settles_after_one_window() {
        let s = run(|_| 10 << 30);
        assert!(s.settled);
        assert!(
            s.took >= Duration::from_millis(900) && s.took <= Duration::from_millis(1000),
            "{s:?}"
        );
    }

    #[test]
    fn memory_still_being_released_delays_the_settle() {
        // Falling 10 MiB/s for 3 s, then flat.
        let s = run(|ms| (10u64 << 30) - (ms.min(3000) * (10 << 20) / 1000));
        assert!(s.settled);
        assert!(s.took >= Duration::from_millis(3800), "{s:?}");
    }

    #[test]
    fn a_host_that_never_settles_gives_up_at_the_limit() {
        let s = run(|ms| (10u64 << 30) + (ms / 100 % 2) * (4 << 20));
        assert!(!s.settled);
        assert_eq!(s.took, SETTLE.limit);
    }
}

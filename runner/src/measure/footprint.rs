//! Memory footprint of processes: RSS and PSS from /proc/PID/smaps_rollup.
//!
//! RSS counts every resident page a process maps, shared ones in full; PSS divides each
//! shared page by the number of processes mapping it, so PSS of a set of processes adds up
//! to what they cost together. Both are read while the payload is alive (at ready).

use std::fs;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub rss_bytes: u64,
    pub pss_bytes: u64,
    /// How many of the processes could be read.
    pub processes: usize,
}

impl Footprint {
    /// Metrics named `<prefix>_rss`, `<prefix>_pss`.
    pub fn metrics(&self, prefix: &str) -> Vec<(String, u64)> {
        if self.processes == 0 {
            return Vec::new();
        }
        vec![
            (format!("{prefix}_rss"), self.rss_bytes),
            (format!("{prefix}_pss"), self.pss_bytes),
        ]
    }
}

impl std::ops::Add for Footprint {
    type Output = Footprint;
    fn add(self, o: Footprint) -> Footprint {
        Footprint {
            rss_bytes: self.rss_bytes + o.rss_bytes,
            pss_bytes: self.pss_bytes + o.pss_bytes,
            processes: self.processes + o.processes,
        }
    }
}

/// Parse smaps_rollup text: (Rss, Pss) in bytes.
pub fn parse_smaps_rollup(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l[name.len()..].split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// Sum of RSS and PSS over `pids` (processes that vanished are skipped).
pub fn of_pids(pids: &[i32]) -> Footprint {
    let mut f = Footprint::default();
    for pid in pids {
        if let Some((rss, pss)) = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .ok()
            .as_deref()
            .and_then(parse_smaps_rollup)
        {
            f.rss_bytes += rss;
            f.pss_bytes += pss;
            f.processes += 1;
        }
    }
    f
}

/// `pid` and all its descendants (via /proc/PID/task/*/children).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        if let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                if let Ok(c) = fs::read_to_string(t.path().join("children")) {
                    out.extend(c.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
                }
            }
        }
        i += 1;
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_rollup() {
        let t = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:                1084 kB\nPss:                 262 kB\nPss_Dirty: 100 kB\n";
        assert_eq!(
            super::parse_smaps_rollup(t),
            Some((1084 * 1024, 262 * 1024))
        );
        assert_eq!(super::parse_smaps_rollup("garbage"), None);
    }

    #[test]
    fn reads_self() {
        let f = super::of_pids(&[std::process::id() as i32]);
        assert_eq!(f.processes, 1);
        assert!(f.rss_bytes > 0 && f.pss_bytes > 0);
    }
}

//! Options of the `workload` scenario: which workloads, their sizes (each the probe's own
//! flag of the same name, passed explicitly so every subject does the same work), their
//! ranges, and the checks that a size fits where it runs. The run file records the
//! resolved sizes under `config.options` (`resolve` fills in the defaults first), so a
//! reader knows the work behind every figure; every subject of a run does the same.
//!
//! The full defaults are the probe's calibrated ones (~0.2–1 s per workload natively,
//! `fixtures/probe/src/modes/workload/mod.rs`). The `--quick` ones are 2–5 times smaller,
//! so that a quick run of every default subject — gVisor on its ptrace platform and a
//! VM under TCG included, where a syscall costs 10–70 times more — stays under 4 minutes
//! on a 2-core host; the memory buffers stay well past the last-level cache.

use clap::builder::RangedU64ValueParser;
use serde::Serialize;

use super::metrics;

/// Declares [`Sizes`]: per size flag its field, the probe's flag, its range, the quick
/// and the full default, and its help.
macro_rules! sizes {
    ($($(#[doc = $doc:literal])* $field:ident = $flag:literal, $lo:literal..=$hi:literal, quick $q:literal, full $f:literal;)+) => {
        /// The size flags (`None`: the default of `--quick` or of a full run).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, clap::Args)]
        pub struct Sizes {
            $(
                $(#[doc = $doc])*
                #[arg(long = $flag, value_parser = RangedU64ValueParser::<u64>::new().range($lo..=$hi))]
                pub $field: Option<u64>,
            )+
        }

        impl Sizes {
            /// Every size, `None` replaced by its default.
            pub fn resolved(&self, quick: bool) -> Sizes {
                Sizes { $($field: Some(self.$field.unwrap_or(if quick { $q } else { $f })),)+ }
            }

            /// `(flag, value)` of every size that is set, in declaration order.
            pub fn flags(&self) -> Vec<(&'static str, u64)> {
                let mut v = Vec::new();
                $(if let Some(x) = self.$field { v.push(($flag, x)); })+
                v
            }
        }
    };
}

sizes! {
    /// syscall: getppid calls (default 100000 with --quick, else 1000000).
    syscall_iters = "syscall-iters", 1..=1_000_000_000, quick 100_000, full 1_000_000;
    /// syscall: openat+close pairs (default 20000 with --quick, else 50000).
    open_iters = "open-iters", 1..=100_000_000, quick 20_000, full 50_000;
    /// memory: MiB of EACH of the triad's 3 arrays (default 32 with --quick, else 48: 96 or 144
    /// MiB in all, well past a 32 MiB L3).
    mem_mib = "mem-mib", 1..=65_536, quick 32, full 48;
    /// memory: MiB the pointer chase spreads its cache lines over (default 32 with --quick, else 128).
    chase_mib = "chase-mib", 1..=65_536, quick 32, full 128;
    /// memory: MiB mapped and touched once per 4 KiB page (default 32 with --quick, else 128).
    fault_mib = "fault-mib", 1..=65_536, quick 32, full 128;
    /// cpu: iterations of the latency-bound chain (default 20000000 with --quick, else 200000000).
    cpu_iters = "cpu-iters", 1..=100_000_000_000, quick 20_000_000, full 200_000_000;
    /// cpu: KiB of the L1-resident buffer hashed (default 16).
    hash_kib = "hash-kib", 1..=1024, quick 16, full 16;
    /// cpu: passes of the hash over its buffer (default 20000 with --quick, else 200000).
    hash_rounds = "hash-rounds", 1..=100_000_000, quick 20_000, full 200_000;
    /// fileio: MiB written sequentially in 1 MiB blocks, then fsync (default 8 with --quick, else 64).
    file_mib = "file-mib", 1..=65_536, quick 8, full 64;
    /// fileio: 4 KiB write + fdatasync rounds (default 50 with --quick, else 200).
    sync_count = "sync-count", 1..=1_000_000, quick 50, full 200;
    /// fileio: files created and unlinked (default 1000 with --quick, else 1000).
    files = "files", 1..=10_000_000, quick 1_000, full 1_000;
    /// net: 1-byte request/response round trips on 127.0.0.1 (default 2000 with --quick, else 5000).
    rr_count = "rr-count", 1..=100_000_000, quick 2_000, full 5_000;
    /// net: MiB streamed over 127.0.0.1 (default 64 with --quick, else 256).
    stream_mib = "stream-mib", 1..=1_048_576, quick 64, full 256;
    /// sqlite: transactions of 10 inserts, synchronous=FULL (default 20 with --quick, else 30).
    sqlite_tx = "sqlite-tx", 1..=10_000_000, quick 20, full 30;
    /// sqlite: indexed point queries (default 5000 with --quick, else 30000).
    sqlite_queries = "sqlite-queries", 1..=1_000_000_000, quick 5_000, full 30_000;
    /// getppid, openat+close and the sqlite queries: a loop stops after this many ms once
    /// it has made a tenth of its count; its figure is the mean over the calls it made,
    /// which the measurement's remark gives (default 60000, the workload's bound: no early
    /// stop; 500 made gVisor's quick workload 3x shorter but its CIs 3-5x wider).
    loop_budget_ms = "loop-budget-ms", 1..=600_000, quick 60_000, full 60_000;
}

/// The workload list and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct WorkloadOptions {
    /// Workloads of the workload scenario, run in this order in every launch (comma list of
    /// syscall, memory, cpu, fileio, net, sqlite; each at most once).
    #[arg(long, value_delimiter = ',', default_values_t = default_workloads(), value_parser = parse_workload)]
    pub workloads: Vec<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub sizes: Sizes,
}

fn default_workloads() -> Vec<String> {
    metrics::names().into_iter().map(String::from).collect()
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        WorkloadOptions {
            workloads: default_workloads(),
            sizes: Sizes::default(),
        }
    }
}

/// One `--workloads` name: one of the protocol's.
fn parse_workload(s: &str) -> Result<String, String> {
    let s = s.trim();
    match metrics::workload(s) {
        Some(w) => Ok(w.name.to_string()),
        None => Err(format!(
            "unknown workload {s:?}; valid: {}",
            metrics::names().join(", ")
        )),
    }
}

/// Reserve of a VM's RAM kept for its kernel, the initramfs (unpacked, with the probe)
/// and the page cache of its disk, beyond the largest buffer of a workload.
pub const GUEST_RESERVE_MIB: u64 = 96;

/// Free space a run keeps on the work directory's file system beyond what it writes.
pub const DISK_RESERVE_MIB: u64 = 256;

/// What a size is checked against (`check`): read from the host by `Limits::of_host`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// MemAvailable of /proc/meminfo.
    pub host_available_mib: u64,
    /// Free space (statvfs f_bavail) on the work directory's base.
    pub disk_free_mib: u64,
    /// The VM's RAM (`-m`), when the qemu subject is selected.
    pub guest_mib: Option<u64>,
    /// The VM disk image the file sizes need, when the qemu subject is selected.
    pub guest_disk_mib: Option<u64>,
}

impl Limits {
    /// This host's: MemAvailable, the free space at the work directory's `base` (its
    /// nearest existing ancestor), and with `qemu` the guest's RAM and the disk image the
    /// file sizes need.
    pub fn of_host(base: &std::path::Path, qemu: bool, file_mib: u64) -> Limits {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let host_available_mib = mem_available_kib(&meminfo).map_or(u64::MAX, |k| k / 1024);
        let existing = base.ancestors().find(|p| p.exists()).unwrap_or(base);
        let disk_free_mib =
            crate::sys::fs::free_bytes(existing).map_or(u64::MAX, |b| b / (1024 * 1024));
        Limits {
            host_available_mib,
            disk_free_mib,
            guest_mib: qemu.then_some(crate::vm::cmdline::GUEST_MEMORY_MIB),
            guest_disk_mib: qemu.then(|| crate::vm::disk::image_mib(file_mib)),
        }
    }
}

/// `MemAvailable:` of /proc/meminfo, in KiB.
fn mem_available_kib(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Why a combination of workload options cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkloadOptionsError {
    #[error("--workloads lists {name} twice; each workload runs once per launch")]
    Duplicate { name: String },
    #[error("--workloads is empty; give one or more of {valid}")]
    Empty { valid: String },
    #[error(
        "{flag} {value}: the {what} needs {need_mib} MiB, but {place} has {have_mib} MiB{}; \
         use a smaller {flag}{}",
        reserve_note(*.reserve_mib), alternative_note(.alternative)
    )]
    DoesNotFit {
        flag: &'static str,
        value: u64,
        what: &'static str,
        need_mib: u64,
        place: &'static str,
        have_mib: u64,
        reserve_mib: u64,
        alternative: Option<&'static str>,
    },
}

fn reserve_note(reserve: u64) -> String {
    if reserve == 0 {
        String::new()
    } else {
        format!(" of which {reserve} MiB are kept for everything else")
    }
}

fn alternative_note(a: &Option<&'static str>) -> String {
    a.map(|a| format!(", or {a}")).unwrap_or_default()
}

impl WorkloadOptions {
    /// The same options with every size resolved (what the run uses and records).
    pub fn resolve(&self, quick: bool) -> WorkloadOptions {
        WorkloadOptions {
            workloads: self.workloads.clone(),
            sizes: self.sizes.resolved(quick),
        }
    }

    /// The checks clap cannot make: duplicates, and sizes against `limits` (call on
    /// resolved options).
    pub fn check(&self, limits: &Limits) -> Result<(), WorkloadOptionsError> {
        if self.workloads.is_empty() {
            return Err(WorkloadOptionsError::Empty {
                valid: metrics::names().join(", "),
            });
        }
        for (i, w) in self.workloads.iter().enumerate() {
            if self.workloads[..i].contains(w) {
                return Err(WorkloadOptionsError::Duplicate { name: w.clone() });
            }
        }
        let has = |name: &str| self.workloads.iter().any(|w| w == name);
        let s = &self.sizes;
        let mut buffers: Vec<(&'static str, u64, &'static str, u64)> = Vec::new();
        if has("memory") {
            let mem = s.mem_mib.unwrap_or(0);
            buffers.push(("--mem-mib", mem, "triad's 3 arrays", mem.saturating_mul(3)));
            let chase = s.chase_mib.unwrap_or(0);
            buffers.push(("--chase-mib", chase, "pointer chase's buffer", chase));
            let fault = s.fault_mib.unwrap_or(0);
            buffers.push(("--fault-mib", fault, "page-fault mapping", fault));
        }
        for (flag, value, what, need) in &buffers {
            // Another engineer's run may be going on: never use more than half of it.
            let have = limits.host_available_mib / 2;
            if *need > have {
                return Err(WorkloadOptionsError::DoesNotFit {
                    flag,
                    value: *value,
                    what,
                    need_mib: *need,
                    place: "this host (half of MemAvailable)",
                    have_mib: have,
                    reserve_mib: 0,
                    alternative: None,
                });
            }
            if let Some(guest) = limits.guest_mib {
                if need.saturating_add(GUEST_RESERVE_MIB) > guest {
                    return Err(WorkloadOptionsError::DoesNotFit {
                        flag,
                        value: *value,
                        what,
                        need_mib: *need,
                        place: "the qemu guest (RAM, -m)",
                        have_mib: guest,
                        reserve_mib: GUEST_RESERVE_MIB,
                        alternative: Some("leave qemu out (--subject)"),
                    });
                }
            }
        }
        if has("fileio") || has("sqlite") {
            let file = s.file_mib.unwrap_or(0);
            // Every subject writes its file in turn (removed after each launch); a VM's
            // disk image exists during its boot only.
            let need = file.max(limits.guest_disk_mib.unwrap_or(0));
            if need.saturating_add(DISK_RESERVE_MIB) > limits.disk_free_mib {
                return Err(WorkloadOptionsError::DoesNotFit {
                    flag: "--file-mib",
                    value: file,
                    what: "file (or the VM's disk image for it)",
                    need_mib: need,
                    place: "the work directory's file system (free)",
                    have_mib: limits.disk_free_mib,
                    reserve_mib: DISK_RESERVE_MIB,
                    alternative: Some("point --workdir at a file system with more room"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        o: WorkloadOptions,
    }

    fn parse(args: &[&str]) -> Result<WorkloadOptions, String> {
        Flags::try_parse_from(std::iter::once("isobench").chain(args.iter().copied()))
            .map(|f| f.o)
            .map_err(|e| e.to_string())
    }

    const ROOMY: Limits = Limits {
        host_available_mib: 20_000,
        disk_free_mib: 50_000,
        guest_mib: Some(256),
        guest_disk_mib: Some(160),
    };

    #[test]
    fn host_limits_are_read_from_meminfo_and_statvfs() {
        assert_eq!(
            mem_available_kib("MemTotal:  100 kB\nMemAvailable:   2048000 kB\n"),
            Some(2_048_000)
        );
        assert_eq!(mem_available_kib("MemTotal: 1 kB\n"), None);
        let l = Limits::of_host(std::path::Path::new("/nonexistent/deeper"), true, 16);
        assert!(l.disk_free_mib > 0 && l.host_available_mib > 0);
        assert_eq!((l.guest_mib, l.guest_disk_mib), (Some(256), Some(160)));
    }

    #[test]
    fn unknown_workloads_are_refused_listing_the_valid_ones() {
        let e = parse(&["--workloads", "syscall,gpu"]).expect_err("gpu is no workload");
        assert!(
            e.contains(
                "unknown workload \"gpu\"; valid: syscall, memory, cpu, fileio, net, sqlite"
            ),
            "{e}"
        );
        let o = parse(&["--workloads", "net,cpu"]).expect("valid");
        assert_eq!(o.workloads, ["net", "cpu"]);
        assert_eq!(parse(&[]).expect("defaults"), WorkloadOptions::default());
    }

    #[test]
    fn sizes_have_ranges_and_defaults_that_fit_a_default_vm() {
        for bad in [
            &["--mem-mib", "0"][..],
            &["--files", "-1"],
            &["--sync-count", "x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for quick in [true, false] {
            let o = WorkloadOptions::default().resolve(quick);
            assert_eq!(o.sizes.flags().len(), 16, "every size is explicit");
            assert_eq!(o.check(&ROOMY), Ok(()), "quick={quick}");
        }
        let o = parse(&["--mem-mib", "7"]).expect("valid").resolve(true);
        assert!(o.sizes.flags().contains(&("mem-mib", 7)));
    }

    #[test]
    fn sizes_that_do_not_fit_are_refused_with_the_numbers_and_the_flag() {
        let mut o = WorkloadOptions::default().resolve(true);
        o.sizes.mem_mib = Some(64);
        let e = o.check(&ROOMY).expect_err("192 + 96 > 256").to_string();
        assert!(
            e.contains("--mem-mib 64: the triad's 3 arrays needs 192 MiB, but the qemu guest (RAM, -m) has 256 MiB of which 96 MiB")
                && e.contains("use a smaller --mem-mib, or leave qemu out"),
            "{e}"
        );
        // Without qemu the host's memory is the limit.
        let no_vm = Limits {
            guest_mib: None,
            guest_disk_mib: None,
            ..ROOMY
        };
        assert_eq!(o.check(&no_vm), Ok(()));
        let small_host = Limits {
            host_available_mib: 300,
            ..no_vm
        };
        let e = o.check(&small_host).expect_err("192 > 150").to_string();
        assert!(
            e.contains("this host (half of MemAvailable) has 150 MiB"),
            "{e}"
        );
        // Disk.
        let mut f = WorkloadOptions::default().resolve(true);
        f.sizes.file_mib = Some(1000);
        let tight = Limits {
            disk_free_mib: 1100,
            ..no_vm
        };
        let e = f.check(&tight).expect_err("1000 + 256 > 1100").to_string();
        assert!(
            e.contains("--file-mib 1000") && e.contains("--workdir"),
            "{e}"
        );
        f.workloads = vec!["cpu".into()];
        assert_eq!(f.check(&tight), Ok(()), "no file workload, no file");
        // The list itself.
        f.workloads = vec!["cpu".into(), "cpu".into()];
        assert!(f
            .check(&ROOMY)
            .expect_err("twice")
            .to_string()
            .contains("cpu twice"));
        f.workloads.clear();
        assert!(f.check(&ROOMY).is_err());
    }
}

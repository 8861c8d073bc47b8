//! The probe binary, embedded at build time (see `runner/build.rs`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// The static `isobench-probe` ELF.
pub const PROBE_ELF: &[u8] = include_bytes!(env!("ISOBENCH_PROBE_PATH"));

/// The probe's file name in the work directory.
pub const FILE_NAME: &str = "isobench-probe";

/// Create the probe as [`FILE_NAME`] in the open directory `dir` (mode 0755; nothing of
/// that name may exist yet), then check with fstat(2) that the file standing there is
/// the one written: a regular file of ours, mode 0755, of the probe's size. Returns its
/// name. Written by a forked child (see [`crate::sys::fs::write_executable`]) so that
/// exec'ing the probe can never fail with "Text file busy" because a concurrent fork
/// inherited the writing fd.
pub fn write_in(dir: BorrowedFd<'_>) -> io::Result<&'static str> {
    let name = Path::new(FILE_NAME);
    crate::sys::fs::create_executable_at(Some(dir), name, PROBE_ELF, 0o755)?;
    let f = crate::sys::fs::open_at(Some(dir), name, libc::O_RDONLY | libc::O_NOFOLLOW)?;
    let st = crate::sys::fs::fstat(f.as_fd())?;
    if !st.is_file()
        || st.uid != crate::sys::geteuid()
        || st.perm() != 0o755
        || st.size != PROBE_ELF.len() as u64
    {
        return Err(io::Error::other(format!(
            "the file there is not the probe just written (uid {}, mode {:04o}, {} bytes)",
            st.uid,
            st.perm(),
            st.size
        )));
    }
    Ok(FILE_NAME)
}

/// Write the probe to `path` (mode 0755), atomically: created under an unguessable temp
/// name beside it (`O_EXCL`: nothing planted is written through), then renamed.
pub fn write_to(path: &Path) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| FILE_NAME.into());
    let tmp = path.with_file_name(format!(".{name}.{:016x}.tmp", crate::sys::random_u64()?));
    crate::sys::fs::create_executable_at(None, &tmp, PROBE_ELF, 0o755)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
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
    /// The `workload` scenario's list of workloads, each run once, in order
    /// (fixtures/probe `workload` mode; `/work/brief`'s protocol: `wl.W.METRIC=` lines).
    Workload(WorkloadArgs),
    /// Kernel microbenchmarks with checksummed result lines
    /// (fixtures/probe/src/modes/bench.rs; read by `measure::bench_lines`).
    Bench {
        rounds: u64,
        seed: u64,
        /// Bench groups to run; empty = all.
        groups: Vec<String>,
    },
}

/// What the probe's `workload` mode is told (every size explicit, so the work is the
/// same in every subject whatever the probe's own defaults are).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadArgs {
    /// Workload names (`syscall`, `memory`, ...), run in this order.
    pub workloads: Vec<String>,
    /// `--dir`: where fileio, sqlite and syscall's openat work, as the probe sees it;
    /// `None`: the probe's default.
    pub dir: Option<String>,
    /// Size flags without their `--` (`mem-mib`, ...) and values.
    pub sizes: Vec<(&'static str, u64)>,
    /// `--disk DEV --modules DIR` (a VM's virtio-blk disk, mounted by the probe at `dir`).
    pub disk: Option<(String, String)>,
    /// How long the whole list may take once the probe is ready (the harness's deadline;
    /// not passed to the probe).
    pub budget: std::time::Duration,
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
            ProbeMode::Workload(w) => {
                let mut v = vec![
                    "workload".into(),
                    "--workloads".into(),
                    w.workloads.join(","),
                ];
                if let Some(d) = &w.dir {
                    v.extend(["--dir".into(), d.clone()]);
                }
                for (flag, value) in &w.sizes {
                    v.extend([format!("--{flag}"), value.to_string()]);
                }
                if let Some((disk, modules)) = &w.disk {
                    v.extend([
                        "--disk".into(),
                        disk.clone(),
                        "--modules".into(),
                        modules.clone(),
                    ]);
                }
                v
            }
            ProbeMode::Bench {
                rounds,
                seed,
                groups,
            } => {
                let mut v = vec![
                    "bench".into(),
                    "--bench-rounds".into(),
                    rounds.to_string(),
                    "--bench-seed".into(),
                    seed.to_string(),
                ];
                if !groups.is_empty() {
                    v.push("--bench-groups".into());
                    v.push(groups.join(","));
                }
                v
            }
        }
    }

    /// [`args`](Self::args) with every `--flag value` pair joined as `--flag=value`, which
    /// the probe reads the same: a VM's kernel hands /init at most 32 arguments
    /// (`MAX_INIT_ARGS`) and panics beyond ("Too many boot init vars").
    pub fn joined_args(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = self.args().into_iter().peekable();
        while let Some(a) = it.next() {
            match it.peek() {
                Some(v) if a.starts_with("--") && !v.starts_with("--") && !a.contains('=') => {
                    out.push(format!("{a}={v}"));
                    it.next();
                }
                _ => out.push(a),
            }
        }
        out
    }

    /// Whether the probe prints result lines the harness reads (stdout is captured).
    pub fn prints_results(&self) -> bool {
        !matches!(self, ProbeMode::Ready | ProbeMode::Hang)
    }
}

/// Parse the probe's `key=value` result lines.
pub fn parse_output(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_mode_is_the_protocol_command_line() {
        let mut w = WorkloadArgs {
            workloads: vec!["syscall".into(), "fileio".into()],
            dir: Some("/isobench-wl".into()),
            sizes: vec![("syscall-iters", 1000), ("file-mib", 8)],
            disk: None,
            budget: std::time::Duration::from_secs(5),
        };
        assert_eq!(
            ProbeMode::Workload(w.clone()).args().join(" "),
            "workload --workloads syscall,fileio --dir /isobench-wl --syscall-iters 1000 --file-mib 8"
        );
        assert_eq!(
            ProbeMode::Workload(w.clone()).joined_args().join(" "),
            "workload --workloads=syscall,fileio --dir=/isobench-wl --syscall-iters=1000 --file-mib=8"
        );
        assert_eq!(ProbeMode::Ready.joined_args(), ["ready"]);
        w.disk = Some(("/dev/vda".into(), "/lib/modules-isobench".into()));
        w.dir = Some("/mnt/wl".into());
        assert!(ProbeMode::Workload(w)
            .args()
            .join(" ")
            .ends_with("--dir /mnt/wl --syscall-iters 1000 --file-mib 8 --disk /dev/vda --modules /lib/modules-isobench"));
    }
}

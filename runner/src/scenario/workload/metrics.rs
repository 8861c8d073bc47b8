//! The workloads and their metrics: name, unit and which direction is better — the
//! table of the workload protocol (the probe prints `wl.W.METRIC=`; the reports read
//! `unit` and the label `better` from the run file and need no table of their own).

/// Which direction of a metric is better (label `better`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    pub fn name(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// One metric a workload prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// For a per-call figure of a count-bounded loop that `--loop-budget-ms` may stop
    /// early: the probe's key saying how many calls it made, and the size flag that asked
    /// for them.
    pub calls: Option<(&'static str, &'static str)>,
}

/// One workload of the probe's `workload` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    pub name: &'static str,
    pub metrics: &'static [Metric],
    /// Whether it works in `--dir` (label `storage`, and the probe's `fstype` line).
    pub uses_dir: bool,
    /// Whether it needs a writable disk of the subject's own (a VM's initramfs is RAM):
    /// without one it is skipped, not measured on the wrong storage.
    pub needs_disk: bool,
}

const fn m(name: &'static str, unit: &'static str, better: Better) -> Metric {
    Metric {
        name,
        unit,
        better,
        calls: None,
    }
}

/// A metric whose loop may stop at the budget: `key` is the probe's count line, `flag`
/// the size it was asked for.
const fn budgeted(
    name: &'static str,
    unit: &'static str,
    better: Better,
    key: &'static str,
    flag: &'static str,
) -> Metric {
    Metric {
        name,
        unit,
        better,
        calls: Some((key, flag)),
    }
}

use Better::{Higher, Lower};

/// Every workload, in the protocol's order.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "syscall",
        metrics: &[
            budgeted("getppid_ns", "ns", Lower, "getppid_calls", "syscall-iters"),
            budgeted("openat_close_ns", "ns", Lower, "openat_calls", "open-iters"),
        ],
        uses_dir: true,
        needs_disk: false,
    },
    Workload {
        name: "memory",
        metrics: &[
            m("triad_gbps", "GB/s", Higher),
            m("chase_ns", "ns", Lower),
            m("fault_ns", "ns", Lower),
        ],
        uses_dir: false,
        needs_disk: false,
    },
    Workload {
        name: "cpu",
        metrics: &[m("chain_ns", "ns", Lower), m("hash_gbps", "GB/s", Higher)],
        uses_dir: false,
        needs_disk: false,
    },
    Workload {
        name: "fileio",
        metrics: &[
            m("seqwrite_mbps", "MB/s", Higher),
            m("fdatasync_p50_us", "us", Lower),
            m("fdatasync_p99_us", "us", Lower),
            m("create_unlink_ops", "ops/s", Higher),
        ],
        uses_dir: true,
        needs_disk: true,
    },
    Workload {
        name: "net",
        metrics: &[
            m("rr_p50_us", "us", Lower),
            m("rr_p99_us", "us", Lower),
            m("stream_mbps", "MB/s", Higher),
        ],
        uses_dir: false,
        needs_disk: false,
    },
    Workload {
        name: "sqlite",
        metrics: &[
            m("insert_tps", "tx/s", Higher),
            budgeted("query_qps", "q/s", Higher, "queries", "sqlite-queries"),
        ],
        uses_dir: true,
        needs_disk: true,
    },
];

/// The workload named `name`.
pub fn workload(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name == name)
}

/// Every workload's name, for messages.
pub fn names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|w| w.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_protocols() {
        let rows: Vec<String> = WORKLOADS
            .iter()
            .flat_map(|w| {
                w.metrics
                    .iter()
                    .map(move |m| format!("{} {} {} {}", w.name, m.name, m.unit, m.better.name()))
            })
            .collect();
        assert_eq!(
            rows,
            [
                "syscall getppid_ns ns lower",
                "syscall openat_close_ns ns lower",
                "memory triad_gbps GB/s higher",
                "memory chase_ns ns lower",
                "memory fault_ns ns lower",
                "cpu chain_ns ns lower",
                "cpu hash_gbps GB/s higher",
                "fileio seqwrite_mbps MB/s higher",
                "fileio fdatasync_p50_us us lower",
                "fileio fdatasync_p99_us us lower",
                "fileio create_unlink_ops ops/s higher",
                "net rr_p50_us us lower",
                "net rr_p99_us us lower",
                "net stream_mbps MB/s higher",
                "sqlite insert_tps tx/s higher",
                "sqlite query_qps q/s higher",
            ]
        );
        // fstype is printed for exactly the workloads that work in --dir.
        let dir: Vec<&str> = WORKLOADS
            .iter()
            .filter(|w| w.uses_dir)
            .map(|w| w.name)
            .collect();
        assert_eq!(dir, ["syscall", "fileio", "sqlite"]);
    }
}

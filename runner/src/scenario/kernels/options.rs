//! Options of the `kernels` scenario: which guest kernels to boot and how long the
//! probe's in-guest bench runs (flattened into `isobench run`, recorded under
//! `config.options`).

use clap::builder::RangedU64ValueParser;
use serde::Serialize;

use crate::subject::SubjectKind;
use crate::vm::guest_kernels::GuestKernel;

#[derive(Debug, Clone, Default, PartialEq, Serialize, clap::Args)]
pub struct KernelsOptions {
    /// Guest kernels to compare, the first being the base: names under fixtures/kernels/
    /// (fetched by fixtures/setup.sh: cloud-57, cloud-47, rt-57) or paths to any bzImage.
    /// A kernel named twice is booted as two interleaved groups (`NAME#1`, `NAME#2`: an
    /// A/A check). Default: every kernel under fixtures/kernels/.
    #[arg(long, value_delimiter = ',', value_name = "NAME|PATH,...")]
    pub guest_kernels: Vec<String>,
    /// Measured rounds of each in-guest bench case per boot (1–1000; default 20).
    #[arg(long, value_parser = RangedU64ValueParser::<u64>::new().range(1..=1000))]
    pub kernel_bench_rounds: Option<u64>,
    /// Bench groups the probe runs in each guest (comma list of clone, fork, unshare,
    /// setns, vfork_exec, getppid, fault, pipe; default all).
    #[arg(long, value_delimiter = ',', value_parser = [
        "clone", "fork", "unshare", "setns", "vfork_exec", "getppid", "fault", "pipe"])]
    pub kernel_bench_groups: Vec<String>,
    /// The kernels, resolved and checked (`vm::guest_kernels::resolve`) before the run.
    #[arg(skip)]
    #[serde(skip)]
    pub resolved: Vec<GuestKernel>,
    /// Where the bench runs, from `--subject` when it was given (`qemu`: the guest
    /// kernels; any other subject: the host's kernel through that subject), else empty
    /// (see [`KernelsOptions::subjects_or_default`]). Recorded as `kernel_subjects`.
    #[arg(skip)]
    #[serde(rename = "kernel_subjects")]
    pub subjects: Vec<SubjectKind>,
}

impl KernelsOptions {
    /// The subjects the scenario runs in: those of `--subject`, or only the guest kernels
    /// (`qemu`) when none was named — the run's default subject list is every subject,
    /// and the scenario is about guest kernels unless host groups are asked for.
    pub fn subjects_or_default(&self) -> Vec<SubjectKind> {
        if self.subjects.is_empty() {
            vec![SubjectKind::Qemu]
        } else {
            self.subjects.clone()
        }
    }
}

//! Container startup: isobench's own `sandbox`, and OCI runtimes when installed.
//!
//! Cases (group `containers`): `sandbox` (clone3 with pid/mnt/uts/ipc/net namespaces,
//! rootfs bind + /proc + pivot_root, hostname, cgroup join, exec of the probe), and every
//! other container subject this build knows whose `available()` passes here, with its cases.
//! Timer: `iter_custom` over the startup scenario's `measure_once`: from just before the
//! launch to the payload's exit observed (`total`), **plus** its `teardown` (container
//! delete, cgroup removal) — for runc/crun that is create + start + delete. One-time
//! preparation (rootfs, bundles, images) is outside the timer. Flat sampling: these are
//! millisecond cases.

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::subject::SubjectKind;

/// Subjects benched here (engines and VMs are too slow for criterion's sampling).
const SUBJECTS: &[&str] = &["sandbox", "runc", "crun"];

fn bench(c: &mut Criterion) {
    let kinds: Vec<SubjectKind> = SubjectKind::all()
        .iter()
        .copied()
        .filter(|k| SUBJECTS.contains(&k.name()))
        .collect();
    isobench_bench::bench_launches(c, "containers", &kinds, &["total", "teardown"]);
}

criterion_group! { name = benches; config = isobench_bench::milli(); targets = bench }
criterion_main!(benches);

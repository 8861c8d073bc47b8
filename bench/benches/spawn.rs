//! Process spawn of the probe, and the probe exec'd in fresh namespaces.
//!
//! Cases (group `spawn`): `process` (posix_spawn of the static probe), `namespaces/all`
//! and `namespaces/container` (clone3 with those CLONE_NEW* flags, then execve).
//! Timer: `iter_custom` over the same `measure_once` the startup scenario uses: from just
//! before the launch call to wait4 returning (`total`); the work directory, the probe file
//! and the cleanup registry are set up once, outside the timer. Flat sampling: these are
//! sub-millisecond to millisecond cases.

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::subject::SubjectKind;

fn bench(c: &mut Criterion) {
    isobench_bench::bench_launches(
        c,
        "spawn",
        &[SubjectKind::Process, SubjectKind::Namespaces],
        &["total"],
    );
}

criterion_group! { name = benches; config = isobench_bench::milli(); targets = bench }
criterion_main!(benches);

//! Shared helpers of isobench's criterion benches (`cargo bench`). The benches themselves
//! are in `bench/benches/`; each opens with the list of its cases and what its timer
//! includes.

use std::time::Duration;

/// Whether this process may create namespaces other than user ones (a capability probe:
/// one real clone with CLONE_NEWNET).
pub fn can_create_namespaces() -> bool {
    isobench::measure::clone_timer::Creator::new().is_ok_and(|mut c| c.once(libc_newnet()).is_ok())
}

fn libc_newnet() -> u64 {
    isobench::sys::ns::by_name("net")
        .map(|n| n.flag)
        .unwrap_or(0)
}

/// Pin the calling thread (and so every child it creates) to the CPU `isobench run --pin
/// auto` uses, as the clone scenario does for its per-flag and unshare/setns cases; the
/// pin lasts until the returned guard drops. Unpinned, clone totals on a 2-vCPU VM are
/// bimodal (child on the creator's CPU or woken on the other one) and neither side would
/// agree with the other. `None` (with a printed reason) when pinning fails.
pub fn pin_like_the_scenario(group: &str) -> Option<isobench::sys::affinity::Pinned> {
    match isobench::sys::affinity::default_cpu() {
        Ok(cpu) => isobench::scenario::pin_or_warn(cpu?, group),
        Err(e) => {
            eprintln!("{group}: cannot read the CPU affinity ({e}); measuring unpinned");
            None
        }
    }
}

/// Print why a bench group is skipped (shown in `cargo bench` output).
pub fn skip(group: &str, why: &str) {
    eprintln!("skipping {group}: {why}");
}

/// Criterion settings for microsecond-scale cases: enough samples for a tight CI while a
/// whole `cargo bench` stays within minutes on a 2-core machine.
pub fn micro() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Settings for millisecond-scale cases: flat sampling (every sample the same iteration
/// count), fewer samples.
pub fn milli() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// What an `iter_custom` sample reports: `iters` × the median of the iterations it timed.
///
/// criterion divides a sample's total by its iteration count, i.e. it works with the
/// *mean* per-iteration time of each sample. On a shared machine a few iterations in a
/// thousand take a scheduler time slice (milliseconds) instead of microseconds, and such a
/// mean follows them. Reporting the batch's median keeps criterion's estimates (and its
/// baselines and change detection) on the typical per-operation cost — the figure
/// `isobench run` reports as p50 — while a real shift of the whole distribution still
/// moves it.
pub fn median_total(mut times: Vec<Duration>) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    let n = times.len() as u32;
    times.sort_unstable();
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2
    };
    median * n
}

/// Bench the startup of `kinds` (every case of each) in criterion group `group`, with the
/// startup scenario's own `measure_once`; a sample is the sum of `metrics` of each launch
/// (e.g. `total`, or `total` + `teardown`). The work directory, probe and one-time
/// preparation (rootfs, bundles) are set up outside the timer; a subject that cannot run
/// here is skipped with its reason. Flat sampling: these are millisecond cases.
pub fn bench_launches(
    c: &mut criterion::Criterion,
    group: &str,
    kinds: &[isobench::subject::SubjectKind],
    metrics: &[&str],
) {
    use isobench::probe::ProbeMode;
    use isobench::scenario::startup::measure_once;
    let cleanup = isobench::cleanup::Cleanup::in_memory();
    let env = match isobench::workdir::Env::new(cleanup.clone(), None) {
        Ok(e) => e,
        Err(e) => {
            skip(group, &e.to_string());
            return;
        }
    };
    let mut g = c.benchmark_group(group);
    g.sampling_mode(criterion::SamplingMode::Flat);
    for kind in kinds {
        let mut subject = kind.create();
        if let Err(u) = subject.available(&env) {
            skip(&format!("{group}/{kind}"), &u.to_string());
            continue;
        }
        if let Err(e) = subject.prepare(&env) {
            skip(&format!("{group}/{kind}"), &format!("prepare failed: {e}"));
            continue;
        }
        for case in subject.cases(&env) {
            let id = if case == "default" {
                kind.to_string()
            } else {
                format!("{kind}/{case}")
            };
            if let Err(e) = measure_once(subject.as_mut(), &env, &case, &ProbeMode::Ready) {
                skip(&format!("{group}/{id}"), &e.to_string());
                continue;
            }
            g.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    let mut sum = Duration::ZERO;
                    for _ in 0..iters {
                        let (s, _) = measure_once(subject.as_mut(), &env, &case, &ProbeMode::Ready)
                            .unwrap_or_else(|e| panic!("{id}: {e}"));
                        let ns: f64 = metrics.iter().map(|m| s.get(m).unwrap_or(0.0)).sum();
                        sum += Duration::from_nanos(ns as u64);
                    }
                    sum
                })
            });
        }
        if let Err(e) = subject.finish(&env) {
            eprintln!("{group}/{kind}: cleanup: {e}");
        }
    }
    g.finish();
    drop(env);
    for e in cleanup.release_all() {
        eprintln!("cleanup: {e}");
    }
}

/// The scenario's round order, for benches that time one case of a set: each call gives
/// a fresh seeded permutation of `0..n` (`isobench::measure::plan::Plan::round_order`,
/// the same shuffle `isobench run` uses). A bench runs the whole round and times only its
/// own case, so that case sees what precedes it in the scenario — a random neighbour,
/// sometimes one whose namespace is still being torn down asynchronously — rather than
/// always itself (a block: hot caches) or always the same heavy cases (a fixed order).
pub struct Rounds {
    plan: isobench::measure::plan::Plan,
    n: usize,
    round: usize,
}

impl Rounds {
    pub fn new(n: usize) -> Self {
        Rounds {
            plan: isobench::measure::plan::Plan {
                warmup: 0,
                iterations: 0,
                order: isobench::measure::plan::Order::Shuffled,
                seed: 0x150B_E4C4,
                time_budget_s: 0.0,
                fixed_iterations: false,
            },
            n,
            round: 0,
        }
    }

    /// The order of the next round.
    pub fn next_round(&mut self) -> Vec<usize> {
        self.round += 1;
        self.plan.round_order(self.n, self.round)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn median_total_ignores_a_rare_outlier() {
        let mut v = vec![Duration::from_micros(10); 99];
        v.push(Duration::from_millis(5));
        assert_eq!(super::median_total(v), Duration::from_micros(1000));
        assert_eq!(super::median_total(Vec::new()), Duration::ZERO);
    }

    #[test]
    fn rounds_are_fresh_permutations() {
        let mut r = super::Rounds::new(10);
        let (a, b) = (r.next_round(), r.next_round());
        for round in [&a, &b] {
            let mut sorted = round.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(a, b, "two rounds in the same order");
    }
}

pub mod synth;

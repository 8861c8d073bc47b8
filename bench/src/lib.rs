//! Shared helpers of isobench's criterion benches (`cargo bench`). The benches themselves
//! are in `bench/benches/`; each opens with the list of its cases and what its timer
//! includes.

use std::time::Duration;

/// Whether this process may create namespaces other than user ones (a capability probe:
/// one real clone with CLONE_NEWNET).
pub fn can_create_namespaces() -> bool {
    isobench::scenario::clone::Creator::new().is_ok_and(|mut c| c.once(libc_newnet()).is_ok())
}

fn libc_newnet() -> u64 {
    isobench::ns::by_name("net").map(|n| n.flag).unwrap_or(0)
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
}

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

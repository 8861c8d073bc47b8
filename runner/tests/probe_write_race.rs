//! Regression: exec'ing a freshly written probe must not fail with ETXTBSY ("Text file
//! busy") while other threads fork. CI once failed this way: a parallel test's fork
//! inherited the fd that was writing the probe. `probe::write_to` now writes from a forked
//! child, so no thread of this process ever holds a writable fd to the file.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn fresh_probe_execs_while_other_threads_fork() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = Arc::new(AtomicBool::new(false));
    let forkers: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // std's spawn forks (or clones) and execs: exactly the window in which
                    // a writable fd of another thread would be copied into a child.
                    let _ = Command::new("/bin/true").status();
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for i in 0..200 {
        let path = dir.path().join(format!("probe-{i}"));
        isobench::probe::write_to(&path).expect("write probe");
        match Command::new(&path).arg("ready").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => failures.push(format!("{i}: exit {:?}", out.status)),
            Err(e) => failures.push(format!("{i}: {e}")),
        }
        let _ = std::fs::remove_file(&path);
    }
    stop.store(true, Ordering::Relaxed);
    for f in forkers {
        f.join().expect("forker");
    }
    assert!(
        failures.is_empty(),
        "{} of 200 execs failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

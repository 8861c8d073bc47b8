//! Bounded input: `Run::load` on what is not a regular file (a FIFO, /dev/zero, a
//! directory) refuses it at once, naming the path and what it is, instead of blocking
//! for ever or reading without end; a file over the limit is refused even when its size
//! says 0 (procfs), through the capped reader.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use isobench_reports::model::RunFileError;
use isobench_reports::Run;

/// `Run::load(path)` on a thread; `None` when it has not returned within 5 s (blocked,
/// or reading an endless file).
fn load_within_5s(path: &Path) -> Option<Result<Run, RunFileError>> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Run::load(&p));
    });
    rx.recv_timeout(Duration::from_secs(5)).ok()
}

fn refused_as(path: &Path, what: &str) {
    match load_within_5s(path) {
        None => panic!("loading {} did not return within 5 s", path.display()),
        Some(Ok(_)) => panic!("{} loaded as a run file", path.display()),
        Some(Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()) && msg.contains(what),
                "the error should name {} and say it is {what}: {msg}",
                path.display()
            );
        }
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("run.json");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) is needed to make the FIFO");
    assert!(st.success(), "mkfifo {} failed", fifo.display());
    refused_as(&fifo, "a FIFO");
}

#[test]
fn character_devices_are_refused_not_read_for_ever() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        refused_as(Path::new(dev), "a character device");
    }
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    refused_as(dir.path(), "a directory");
}

#[test]
fn over_the_limit_is_refused_by_size_and_by_the_capped_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: PathBuf = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 2000]).expect("write");
    match Run::load_with_limit(&big, 1000) {
        Err(e @ RunFileError::TooLarge { .. }) => {
            let m = e.to_string();
            assert!(m.contains("big.json") && m.contains("1000"), "{m}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Exactly at the limit is read (and then is not JSON).
    assert!(matches!(
        Run::load_with_limit(&big, 2000),
        Err(RunFileError::Json { .. })
    ));
    // A regular file whose size says 0 but whose content is longer: only the capped
    // reader can see it is over the limit.
    let status = Path::new("/proc/self/status");
    let len = std::fs::metadata(status)
        .expect("stat /proc/self/status")
        .len();
    assert_eq!(len, 0, "procfs reports size 0");
    match Run::load_with_limit(status, 100) {
        Err(e @ RunFileError::TooLarge { .. }) => {
            assert!(e.to_string().contains("/proc/self/status"), "{e}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

//! Issue 13, item 14 (second half): a run and a clean by a user other than root must leave
//! no rootless podman state behind. Podman, asked anything by such a user (even
//! `--version`), creates its runtime directories ($XDG_RUNTIME_DIR/containers and
//! libpod, or /tmp/podman-run-<uid> and /tmp/containers-user-<uid>), and most commands
//! start a "pause" process that outlives them. isobench measures the engines rootful only,
//! so as another user it must not run their clients at all. Played by uid 65534 with its
//! own HOME and XDG_RUNTIME_DIR, so what podman would create is seen (and removed).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::hostile::{Hostile, NOBODY};

/// Processes of uid 65534 that are podman's (the pause process is a `podman` too).
fn podman_processes() -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // Status, not the owner of /proc/PID: podman's pause process is not dumpable,
        // which makes its /proc files root's.
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let owned = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|u| u.split_whitespace().next())
            == Some(NOBODY.to_string().as_str());
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if owned && (comm.starts_with("podman") || comm.starts_with("catatonit")) {
            out.push(pid);
        }
    }
    out
}

/// Kills, by pid, podman processes of uid 65534 that appeared during the test.
struct NewPodmans(Vec<i32>);

impl NewPodmans {
    fn new_ones(&self) -> Vec<i32> {
        podman_processes()
            .into_iter()
            .filter(|p| !self.0.contains(p))
            .filter(|p| !isobench::sys::process::is_zombie(*p))
            .collect()
    }
}

impl Drop for NewPodmans {
    fn drop(&mut self) {
        for p in self.new_ones() {
            let _ = isobench::sys::process::kill(p, libc::SIGKILL);
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_non_root_run_and_clean_leave_no_rootless_podman_state() {
    let Some(h) = Hostile::new("a_non_root_run_and_clean_leave_no_rootless_podman_state") else {
        return;
    };
    if isobench::subprocess::which("podman").is_none() {
        eprintln!("skipping: podman is not installed, so there is nothing it could leave");
        return;
    }
    let xdg = h.their_dir("xdg", 0o700);
    let home = h.their_dir("home", 0o700);
    let work = h.their_dir("work", 0o755);
    let out = h.their_dir("out", 0o755);
    let watch = NewPodmans(podman_processes());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_isobench"));
    let run = |args: &[&str]| {
        let o = Command::new(&bin)
            .args(args)
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &xdg)
            .env("ISOBENCH_WORKDIR", &work)
            .env_remove("ISOBENCH_JOURNAL_DIR")
            .current_dir(&out)
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("isobench as nobody");
        assert!(
            o.status.success(),
            "isobench {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "run",
        "--scenario",
        "startup",
        "--subject",
        "process",
        "--iterations",
        "2",
        "--warmup",
        "0",
        "--no-progress",
        "--json",
        "run.json",
    ]);
    run(&["clean"]);
    let left = watch.new_ones();
    assert!(
        left.is_empty(),
        "podman processes of uid {NOBODY} left: {left:?}"
    );
    for (dir, what) in [(&xdg, "XDG_RUNTIME_DIR"), (&home, "HOME")] {
        let found = entries(dir);
        assert!(found.is_empty(), "{what} {} holds {found:?}", dir.display());
    }
}

//! End-to-end tests of the foundation: `isobench run` writes a valid run file, Ctrl-C and
//! SIGKILL leave nothing behind (or `isobench clean` removes it), a hanging payload is
//! killed at its deadline, and a non-root user gets skips with reasons instead of panics.
//!
//! They drive the real binary (`assert_cmd`), with the work and journal directories
//! pointed at temp dirs so leftovers can be checked exactly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use isobench_reports::model::{Run, Status};

mod common;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_isobench"))
}

struct Dirs {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    journal: PathBuf,
    json: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let journal = tmp.path().join("journal");
    std::fs::create_dir_all(&work).expect("mkdir");
    let json = tmp.path().join("out/run.json");
    Dirs {
        work,
        journal,
        json,
        _tmp: tmp,
    }
}

fn cmd(d: &Dirs) -> Command {
    let mut c = Command::new(bin());
    c.env("ISOBENCH_WORKDIR", &d.work)
        .env("ISOBENCH_JOURNAL_DIR", &d.journal);
    c
}

fn entries(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Processes whose executable lives below `dir` (a probe left running).
fn processes_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries(Path::new("/proc")) {
        if let Ok(exe) = std::fs::read_link(e.join("exe")) {
            if exe.starts_with(dir) {
                out.push(format!("{} {}", e.display(), exe.display()));
            }
        }
    }
    out
}

/// After a run that ended by itself or by a signal: the work dir is empty, no process runs
/// from it, and the journal directory the run made went with its journal.
fn assert_nothing_left(d: &Dirs) {
    let work = entries(&d.work);
    assert!(work.is_empty(), "work dir left: {work:?}");
    let procs = processes_under(&d.work);
    assert!(procs.is_empty(), "processes left: {procs:?}");
    assert!(
        !d.journal.exists(),
        "journal dir left: {:?}",
        entries(&d.journal)
    );
}

#[test]
fn quick_run_writes_a_valid_run_file() {
    let d = dirs();
    let out = cmd(&d)
        .args([
            "run",
            "--scenario",
            "startup,clone",
            "--subject",
            "process,namespaces",
            "--iterations",
            "8",
            "--warmup",
            "1",
        ])
        .args([
            "--concurrency",
            "1,2",
            "--mounts",
            "0,10",
            "--no-progress",
            "--json",
        ])
        .arg(&d.json)
        .output()
        .expect("run isobench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Run::load(&d.json).expect("valid run file");
    assert!(run.finished_at.is_some() && !run.interrupted);
    assert!(!run.host.kernel.is_empty() && run.host.cpus > 0 && run.host.memory_bytes > 0);
    assert!(
        ["v1", "v2", "hybrid"].contains(&run.host.cgroup.as_str()),
        "cgroup {}",
        run.host.cgroup
    );
    let find = |scn: &str, subj: &str, case: &str, metric: &str| {
        run.measurements
            .iter()
            .find(|m| {
                m.scenario == scn
                    && m.subject == subj
                    && m.case == case
                    && m.metric == metric
                    && m.labels.is_empty()
            })
            .unwrap_or_else(|| panic!("no {scn}/{subj}/{case}/{metric} in the run file"))
    };
    let spawn = find("startup", "process", "default", "ready");
    assert_eq!(spawn.status, Status::Ok);
    let s = spawn.summary.expect("summary");
    assert_eq!(s.n, 8);
    assert_eq!(spawn.samples.len(), 8);
    assert!(s.min <= s.p50 && s.p50 <= s.max && s.p50_ci[0] <= s.p50 && s.p50 <= s.p50_ci[1]);
    assert!(spawn.histogram.is_some());
    // total (reaped) comes after ready in every sample.
    let total = find("startup", "process", "default", "total");
    for (r, t) in spawn.samples.iter().zip(&total.samples) {
        assert!(t >= r, "total {t} < ready {r}");
    }
    // The harness's own overhead is reported and small next to a process spawn.
    let overhead = find("startup", "harness", "empty", "ready")
        .summary
        .expect("summary");
    assert!(
        overhead.p50 < s.p50,
        "harness overhead {} vs spawn {}",
        overhead.p50,
        s.p50
    );
    if common::is_root() {
        for case in [
            "none", "pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "all",
        ] {
            let m = find("clone", "namespaces", case, "total");
            assert_eq!(m.status, Status::Ok, "{case}: {:?}", m.reason);
        }
        // Sweeps carry their labels.
        assert!(run.measurements.iter().any(|m| m
            .labels
            .get("concurrency")
            .is_some_and(|c| c == "2")
            && m.metric == "throughput"));
        assert!(run
            .measurements
            .iter()
            .any(|m| m.labels.get("mounts").is_some_and(|c| c == "10")));
        assert!(run
            .measurements
            .iter()
            .any(|m| m.metric == "unshare" && m.case == "net" && m.status == Status::Ok));
        assert!(run
            .measurements
            .iter()
            .any(|m| m.metric == "setns" && m.case == "pid" && m.status == Status::Ok));
        // `--pin auto` pinned the sequential sections to the last allowed CPU, recorded in
        // the config and remarked on each of their measurements; the concurrency sweep ran
        // unpinned and says nothing.
        let cpu = run.config["options"]["pin_cpu"]
            .as_u64()
            .expect("config.options.pin_cpu") as usize;
        let allowed = isobench::sys::affinity::allowed_cpus().expect("affinity");
        assert_eq!(Some(&cpu), allowed.last());
        let remark = isobench::scenario::pin_remark(cpu);
        for (case, metric) in [("none", "total"), ("net", "over_plain"), ("net", "unshare")] {
            let m = find("clone", "namespaces", case, metric);
            assert_eq!(
                m.reason.as_deref(),
                Some(remark.as_str()),
                "{case}/{metric}"
            );
        }
        assert!(run
            .measurements
            .iter()
            .filter(|m| m.labels.contains_key("mounts"))
            .all(|m| m.reason.as_deref() == Some(remark.as_str())));
        assert!(run
            .measurements
            .iter()
            .filter(|m| m.labels.contains_key("concurrency"))
            .all(|m| m.reason.is_none()));
        assert!(
            stdout.contains(&remark),
            "summary names the placement: {stdout}"
        );
    }
    // The run ends with the headline summary and names the command for the full table.
    assert!(stdout.contains("ready p50"), "summary printed: {stdout}");
    assert!(stdout.contains("full table: isobench report"), "{stdout}");
    let table = Command::new(bin())
        .arg("report")
        .arg(&d.json)
        .arg("--table")
        .output()
        .expect("isobench report --table");
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("95% CI of p50")
            && table
                .lines()
                .any(|l| l.starts_with("clone     namespaces  none")),
        "full table: {table}"
    );
    assert_nothing_left(&d);
}

#[test]
fn pin_outside_the_allowed_cpus_is_refused_before_anything_runs() {
    let d = dirs();
    for (arg, says) in [
        ("4095", "may run only on CPUs"),
        ("fast", "expected auto, off or a CPU number"),
    ] {
        let out = cmd(&d)
            .args([
                "run",
                "--scenario",
                "clone",
                "--quick",
                "--pin",
                arg,
                "--json",
            ])
            .arg(&d.json)
            .output()
            .expect("run isobench");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--pin {arg}: {stderr}");
        assert!(stderr.contains(says), "--pin {arg}: {stderr}");
        assert!(!d.json.exists(), "no run file for a refused command line");
    }
}

#[test]
fn sigint_keeps_what_was_measured_and_leaves_nothing() {
    let d = dirs();
    let mut child = cmd(&d)
        .args([
            "run",
            "--scenario",
            "startup,clone",
            "--subject",
            "process,namespaces",
            "--iterations",
            "1000000",
            "--no-progress",
            "--json",
        ])
        .arg(&d.json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn isobench");
    // Let it measure for a while.
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY-free: kill(1) sends SIGINT like a terminal's Ctrl-C would.
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "isobench did not stop within 30 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "exit code after SIGINT");
    let run = Run::load(&d.json).expect("the run file is valid JSON after SIGINT");
    assert!(run.interrupted);
    assert!(
        run.measurements
            .iter()
            .any(|m| m.status == Status::Ok && !m.samples.is_empty()),
        "what was measured is kept"
    );
    assert_nothing_left(&d);
}

#[test]
fn clean_removes_what_a_killed_run_left() {
    let d = dirs();
    let mut child = cmd(&d)
        .args([
            "run",
            "--scenario",
            "startup",
            "--subject",
            "process",
            "--iterations",
            "1000000",
            "--no-progress",
            "--json",
        ])
        .arg(&d.json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn isobench");
    // Wait until its work dir exists, then kill it without a chance to clean up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while entries(&d.work).is_empty() {
        assert!(Instant::now() < deadline, "no work dir appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(
        !entries(&d.work).is_empty(),
        "a SIGKILLed run cannot clean up after itself"
    );
    assert!(
        !entries(&d.journal).is_empty(),
        "its journal names what it left"
    );
    let out = cmd(&d)
        .args(["clean", "--journal-dir"])
        .arg(&d.journal)
        .output()
        .expect("clean");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed directory"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        entries(&d.work).is_empty(),
        "clean left: {:?}",
        entries(&d.work)
    );
    assert!(entries(&d.journal).is_empty());
    // Idempotent.
    let again = cmd(&d)
        .args(["clean", "--journal-dir"])
        .arg(&d.journal)
        .output()
        .expect("clean");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to clean"));
}

#[test]
fn non_root_runs_what_it_can() {
    if !common::is_root() {
        eprintln!("skipping: needs root to switch to an unprivileged user with setpriv");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipping: setpriv (util-linux) is not installed");
        return;
    }
    let d = dirs();
    // Everything the unprivileged user writes lives in world-writable temp dirs.
    for p in [&d.work, d.json.parent().expect("parent")] {
        std::fs::create_dir_all(p).expect("mkdir");
        Command::new("chmod")
            .arg("1777")
            .arg(p)
            .status()
            .expect("chmod");
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args([
            "run",
            "--scenario",
            "startup,clone",
            "--subject",
            "process,namespaces",
            "--iterations",
            "3",
            "--warmup",
            "0",
        ])
        .args([
            "--concurrency",
            "1",
            "--mounts",
            "0",
            "--no-progress",
            "--json",
        ])
        .arg(&d.json)
        .env("ISOBENCH_WORKDIR", &d.work)
        .env_remove("ISOBENCH_JOURNAL_DIR")
        .env("HOME", "/tmp");
    let journal_dir = Path::new("/tmp/isobench-65534");
    let had_journal_dir = journal_dir.exists();
    let out = c.output().expect("run as nobody");
    // The journal directory the run made for itself went with its journal.
    if !had_journal_dir {
        assert!(
            !journal_dir.exists(),
            "{} left behind",
            journal_dir.display()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("not running as root"), "{stderr}");
    let run = Run::load(&d.json).unwrap_or_else(|e| panic!("run file: {e}\n{stderr}"));
    let net = run
        .measurements
        .iter()
        .find(|m| m.scenario == "clone" && m.case == "net" && m.metric == "total")
        .expect("net case");
    assert_eq!(net.status, Status::Skipped);
    assert!(
        net.reason.as_deref().unwrap_or("").contains("root"),
        "{:?}",
        net.reason
    );
    let spawn = run
        .measurements
        .iter()
        .find(|m| m.subject == "process" && m.metric == "ready")
        .expect("process");
    assert_eq!(
        spawn.status,
        Status::Ok,
        "the process subject needs no privilege"
    );
    assert!(
        stdout.contains("SKIPPED"),
        "skips are listed with reasons: {stdout}"
    );
}

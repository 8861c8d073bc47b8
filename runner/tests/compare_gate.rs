//! The regression gate end to end: two real quick runs of the `process` subject, one of
//! them slowed by the test-only `ISOBENCH_TEST_DELAY_US`, must make `isobench compare`
//! exit 1 and flag exactly the slowed subject; `history check` must do the same against
//! a rolling baseline; malformed run files must fail with a clear error, never a panic.
//!
//! The delay (20 ms) is 40x a plain process start here, so the verdicts do not depend on
//! how noisy the machine is; no absolute time is asserted.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

const DELAY: &str = "process:20000";

fn isobench() -> Command {
    let mut c = Command::cargo_bin("isobench").expect("isobench binary");
    c.env_remove("ISOBENCH_TEST_DELAY_US");
    c.timeout(std::time::Duration::from_secs(300));
    c
}

/// One quick startup run of the process subject. It needs no privilege and nothing but
/// the embedded probe, so a failure is a failure of isobench, not of the host.
fn quick_run(dir: &Path, name: &str, delay: Option<&str>) -> PathBuf {
    let json = dir.join(name);
    let mut c = isobench();
    c.args(["run", "--scenario", "startup", "--subject", "process"])
        .args([
            "--iterations",
            "25",
            "--warmup",
            "2",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .arg("--out")
        .arg(dir);
    if let Some(d) = delay {
        c.env("ISOBENCH_TEST_DELAY_US", d);
    }
    let out = c.output().expect("run isobench");
    assert!(
        out.status.success(),
        "`isobench run` of the process subject failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&json).expect("run file")).expect("json");
    let ok = v["measurements"].as_array().is_some_and(|ms| {
        ms.iter()
            .any(|m| m["subject"] == "process" && m["metric"] == "ready" && m["status"] == "ok")
    });
    assert!(ok, "the process subject produced no ready measurement");
    json
}

fn regressed(v: &Value) -> Vec<(String, String)> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["deltas"][0]["verdict"] == "regressed")
        .map(|r| {
            (
                r["subject"].as_str().unwrap_or_default().to_string(),
                r["metric"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn slowed_subject_fails_the_gate_and_only_it_is_flagged() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = quick_run(dir.path(), "a.json", None);
    let b = quick_run(dir.path(), "b.json", Some(DELAY));

    // A run against itself: nothing changes, exit 0.
    isobench().arg("compare").arg(&a).arg(&a).assert().code(0);

    // The slowed run: exit 1, and the regressions are the process subject's timed metrics.
    let out = dir.path().join("cmp.json");
    isobench()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .args(["--format", "json", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&std::fs::read(&out).expect("cmp")).expect("json");
    assert_eq!(v["schema"], "isobench.compare/v1");
    let flagged = regressed(&v);
    assert!(
        flagged.contains(&("process".into(), "ready".into()))
            && flagged.contains(&("process".into(), "total".into())),
        "ready and total of the slowed subject must regress: {flagged:?}"
    );
    assert!(
        flagged.iter().all(|(s, _)| s == "process"),
        "only the slowed subject may be flagged: {flagged:?}"
    );

    // The other way round it is an improvement, not a regression: exit 0.
    isobench()
        .arg("compare")
        .arg(&b)
        .arg(&a)
        .assert()
        .code(0)
        .stdout(predicates::str::contains("improved"));

    // Markdown names the regression.
    isobench()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .args(["--format", "markdown"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("### Regressions"));

    // Different core count: refused with the reason unless --force.
    let mut other: Value = serde_json::from_slice(&std::fs::read(&a).expect("a")).expect("json");
    other["host"]["cpus"] = Value::from(other["host"]["cpus"].as_u64().unwrap_or(1) + 62);
    let c = dir.path().join("other-host.json");
    std::fs::write(&c, serde_json::to_vec(&other).expect("ser")).expect("write");
    isobench()
        .arg("compare")
        .arg(&a)
        .arg(&c)
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("online CPU count").and(predicates::str::contains("--force")),
        );
    isobench()
        .arg("compare")
        .arg(&a)
        .arg(&c)
        .arg("--force")
        .assert()
        .code(0);
}

#[test]
fn history_check_flags_a_slowed_night() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("history.sqlite");
    let mut nights = Vec::new();
    for i in 0..3 {
        let r = quick_run(dir.path(), &format!("night{i}.json"), None);
        isobench()
            .arg("history")
            .arg(&db)
            .arg("record")
            .arg(&r)
            .assert()
            .code(0);
        nights.push(r);
    }
    // Recording twice is a no-op.
    isobench()
        .arg("history")
        .arg(&db)
        .arg("record")
        .arg(&nights[0])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("already recorded"));
    // `run --history` records by itself.
    let slow = dir.path().join("slow.json");
    let out = isobench()
        .args(["run", "--scenario", "startup", "--subject", "process"])
        .args([
            "--iterations",
            "25",
            "--warmup",
            "2",
            "--no-progress",
            "--json",
        ])
        .arg(&slow)
        .arg("--out")
        .arg(dir.path())
        .arg("--history")
        .arg(&db)
        .env("ISOBENCH_TEST_DELAY_US", DELAY)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("history: recorded as run 4"));

    isobench()
        .arg("history")
        .arg(&db)
        .arg("list")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("    4  "));
    isobench()
        .arg("history")
        .arg(&db)
        .args(["trend", "startup/process/default/ready", "--json"])
        .assert()
        .code(0);
    isobench()
        .arg("history")
        .arg(&db)
        .args(["trend", "process/ready"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("startup/process/default/ready"));

    let out = isobench()
        .arg("history")
        .arg(&db)
        .arg("check")
        .arg(&slow)
        .args(["--last", "3", "--format", "json"])
        .output()
        .expect("check");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let flagged: Vec<&str> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["verdict"] == "regressed")
        .filter_map(|r| r["identity"].as_str())
        .collect();
    assert!(
        flagged.contains(&"startup/process/default/ready"),
        "{flagged:?}"
    );
    assert!(
        flagged.iter().all(|id| id.starts_with("startup/process/")),
        "only the slowed subject may be flagged: {flagged:?}"
    );
}

#[test]
fn broken_run_files_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"schema":"isobench.run/v1","started_at":"x","tool":{"name":"isobench","version":"0"},
            "host":{"hostname":"h","kernel":"k","os":"o","cpu_model":"c","cpus":1,"memory_bytes":1,
            "cgroup":"v2","virtualization":"none","kvm_usable":false},"measurements":[]}"#,
    )
    .expect("write");
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "malformed.json",
            b"this is not json".to_vec(),
            "not valid JSON",
        ),
        (
            "truncated.json",
            br#"{"schema":"isobench.run/v1","started_at":"#.to_vec(),
            "truncated",
        ),
        (
            "schema.json",
            br#"{"schema":"isobench.run/v9"}"#.to_vec(),
            "has schema \"isobench.run/v9\"",
        ),
        (
            "shape.json",
            br#"{"schema":"isobench.run/v1","host":3}"#.to_vec(),
            "does not match",
        ),
        ("empty.json", Vec::new(), "not valid JSON"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        isobench()
            .arg("compare")
            .arg(&good)
            .arg(&p)
            .assert()
            .code(1)
            .stderr(predicates::str::contains(want).and(predicates::str::contains(name)))
            .stderr(predicates::str::contains("panicked").not());
    }
    // Huge: a sparse file over the size limit is refused before it is read.
    let huge = dir.path().join("huge.json");
    let f = std::fs::File::create(&huge).expect("create");
    f.set_len(isobench_reports::model::MAX_RUN_FILE_BYTES + 1)
        .expect("set_len");
    isobench()
        .arg("compare")
        .arg(&good)
        .arg(&huge)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("over the").and(predicates::str::contains("huge.json")));
    // Missing file.
    isobench()
        .arg("compare")
        .arg(&good)
        .arg(dir.path().join("nope.json"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot read run file"));
}

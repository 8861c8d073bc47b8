//! The run-file parser on hostile input, on stable Rust (the cargo-fuzz target in
//! fuzz/ needs nightly): truncated, byte-mutated, structurally mutated, huge and deeply
//! nested variants of a real run file must give a `Run` or a clear `RunFileError` that
//! names the file — never a panic — and whatever parses must survive a comparison and
//! a history record.

use std::path::PathBuf;

use isobench_reports::compare::{compare, CompareOptions, Input};
use isobench_reports::history::History;
use isobench_reports::model::{RunFileError, MAX_RUN_FILE_BYTES};
use isobench_reports::stats::SplitMix64;
use isobench_reports::Run;
use serde_json::Value;

fn fixture() -> Vec<u8> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs/small-startup-clone.json");
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading fixture {}: {e}", p.display()))
}

/// Parse; on error, check the message names the origin and is not empty.
fn parse_checked(bytes: &[u8], origin: &str) -> Option<Run> {
    match Run::parse(bytes, origin) {
        Ok(r) => Some(r),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(origin), "error does not name the file: {msg}");
            assert!(msg.len() > origin.len() + 10, "error too terse: {msg}");
            None
        }
    }
}

/// The measurements a mutation touched (at most a few) plus the first two, so the
/// comparison below stays quick in a debug build.
fn reduce(run: &Run, original: &Run) -> Run {
    let mut r = run.clone();
    r.measurements = run
        .measurements
        .iter()
        .enumerate()
        .filter(|(i, m)| *i < 2 || original.measurements.get(*i) != Some(*m))
        .map(|(_, m)| m.clone())
        .take(6)
        .collect();
    r
}

/// Whatever parses must be comparable (with itself and the original) and recordable.
fn exercise(run: &Run, original: &Run) {
    let run = &reduce(run, original);
    let original = &reduce(original, original);
    let opts = CompareOptions {
        force: true,
        ..CompareOptions::default()
    };
    for (a, b) in [(run, run), (original, run), (run, original)] {
        let inputs = [
            Input {
                origin: "a",
                run: a,
            },
            Input {
                origin: "b",
                run: b,
            },
        ];
        if let Ok(c) = compare(&inputs, &opts) {
            let _ = isobench_reports::compare::table::render(&c);
            let _ = isobench_reports::compare::markdown::render(&c);
            let _ = isobench_reports::compare::html::render(&c);
            let _ = serde_json::to_string(&c);
        }
    }
    let mut h = History::in_memory().expect("in-memory db");
    h.record(run).expect("a parsed run is always recordable");
}

#[test]
fn the_fixture_parses() {
    let run = Run::parse(&fixture(), "fixture").expect("fixture parses");
    assert!(!run.measurements.is_empty());
}

#[test]
fn every_truncation_is_a_clear_json_error() {
    let bytes = fixture();
    let mut lengths: Vec<usize> = (0..300).collect();
    lengths.extend((300..bytes.len()).step_by(211));
    lengths.extend(bytes.len().saturating_sub(300)..bytes.len() - 1);
    // Trailing whitespace aside, no proper prefix of a JSON object is valid JSON.
    let body_end = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    for len in lengths.into_iter().filter(|&l| l < body_end) {
        match Run::parse(&bytes[..len], "cut.json") {
            Err(RunFileError::Json { .. }) => {}
            other => panic!("truncated at {len}: expected a JSON error, got {other:?}"),
        }
    }
}

#[test]
fn random_byte_mutations_never_panic() {
    let bytes = fixture();
    let original = Run::parse(&bytes, "fixture").expect("fixture");
    let mut rng = SplitMix64::new(0x15_0BE4C4);
    let mut parsed = 0;
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            match rng.below(4) {
                0 => b[i] = rng.next_u64() as u8,
                1 => {
                    b.remove(i);
                }
                2 => b.insert(i, b"{}[]\",:0-eE.9\\"[rng.below(14)]),
                _ => b[i] = b'"',
            }
        }
        if let Some(r) = parse_checked(&b, "mutated.json") {
            parsed += 1;
            exercise(&r, &original);
        }
    }
    eprintln!("{parsed} of 300 byte-mutated files still parsed");
}

/// Every JSON path to a scalar or container in `v`, as a list of steps.
fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(Step::Key(k.clone()));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        // A few elements of each array are enough.
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate().take(3) {
                prefix.push(Step::Index(i));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            Step::Key(k) => cur.get_mut(k.as_str())?,
            Step::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

#[test]
fn wrong_types_and_extreme_values_never_panic() {
    let bytes = fixture();
    let original = Run::parse(&bytes, "fixture").expect("fixture");
    let base: Value = serde_json::from_slice(&bytes).expect("json");
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    let replacements = [
        Value::Null,
        Value::from(-1),
        Value::from(0),
        Value::from(1e308),
        Value::from(-1e308),
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(""),
        Value::from("\u{202e}<script>alert(1)</script>|*_`"),
        Value::Array(vec![]),
        serde_json::json!({}),
        serde_json::json!([1e308, -1e308, 0, 5e-324]),
        Value::Bool(true),
    ];
    let mut rng = SplitMix64::new(7);
    let mut parsed = 0;
    for path in all.iter().skip(1) {
        // One or two replacements per path keeps this quick; the fuzzer does the rest.
        for _ in 0..2 {
            let mut v = base.clone();
            let Some(slot) = at(&mut v, path) else {
                continue;
            };
            *slot = replacements[rng.below(replacements.len())].clone();
            let text = serde_json::to_vec(&v).expect("serialise");
            if let Some(r) = parse_checked(&text, "typed.json") {
                parsed += 1;
                exercise(&r, &original);
            }
        }
    }
    eprintln!("{parsed} structurally mutated files still parsed");
}

#[test]
fn wrong_schema_is_named() {
    for (text, want) in [
        (r#"{"schema":"isobench.run/v2"}"#, "\"isobench.run/v2\""),
        (r#"{"schema":7}"#, "<missing>"),
        (r#"{"measurements":[]}"#, "<missing>"),
        (r#"[1,2,3]"#, "<missing>"),
        (r#""isobench.run/v1""#, "<missing>"),
    ] {
        match Run::parse(text.as_bytes(), "s.json") {
            Err(e @ RunFileError::Schema { .. }) => {
                let m = e.to_string();
                assert!(m.contains(want) && m.contains("s.json"), "{m}");
            }
            other => panic!("{text}: expected a schema error, got {other:?}"),
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [200, 10_000, 200_000] {
        let mut s = String::from(r#"{"schema":"isobench.run/v1","config":"#);
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push('}');
        match Run::parse(s.as_bytes(), "deep.json") {
            Err(RunFileError::Json { source, .. }) => {
                assert!(source.to_string().contains("recursion limit"), "{source}");
            }
            other => panic!("depth {depth}: expected a JSON error, got {other:?}"),
        }
    }
}

#[test]
fn huge_files_are_refused_or_parsed_without_trouble() {
    // Over the limit: refused before reading (a sparse file costs no disk).
    let dir = std::env::temp_dir().join(format!("isobench-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let huge = dir.join("huge.json");
    let f = std::fs::File::create(&huge).expect("create");
    f.set_len(MAX_RUN_FILE_BYTES + 1).expect("set_len");
    match Run::load(&huge) {
        Err(e @ RunFileError::TooLarge { .. }) => assert!(e.to_string().contains("huge.json")),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Under the limit but large: 200 000 samples and 10 000 labels parse.
    let mut v: Value = serde_json::from_slice(&fixture()).expect("json");
    let m = &mut v["measurements"][0];
    let samples: Vec<f64> = (0..200_000).map(f64::from).collect();
    m["samples"] = Value::Array(samples.iter().map(|&x| Value::from(x)).collect());
    // The summary those samples give (the loader checks it; the CI is not recomputed).
    let p = |q| isobench_reports::stats::percentile_sorted(&samples, q);
    m["summary"] = serde_json::json!({
        "n": samples.len(), "min": 0.0, "p50": p(0.5), "p90": p(0.9), "p99": p(0.99),
        "p999": p(0.999), "max": 199_999.0,
        "mean": isobench_reports::stats::mean(&samples),
        "stddev": isobench_reports::stats::stddev(&samples),
        "p50_ci": [p(0.49), p(0.51)],
    });
    m["labels"] = Value::Object(
        (0..10_000)
            .map(|i| (format!("k{i}"), Value::from("v")))
            .collect(),
    );
    let text = serde_json::to_vec(&v).expect("serialise");
    let r = Run::parse(&text, "big.json").expect("large but valid");
    assert_eq!(r.measurements[0].samples.len(), 200_000);
}

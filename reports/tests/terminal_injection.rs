//! Terminal injection: a run file whose hostname, kernel, case names, labels and reasons
//! carry ESC sequences, BEL, CR, NUL, C1 controls and bidi overrides must reach no text
//! output (compare table and Markdown, Markdown and CSV exports) raw.

use std::collections::BTreeMap;

use isobench_reports::compare::{self, CompareOptions, Input};
use isobench_reports::export::ExportFormat;
use isobench_reports::model::{Measurement, MeasurementKey, Status};
use isobench_reports::terminal::has_unprintable;
use isobench_reports::{Host, Run, RUN_SCHEMA};

/// Retitles the terminal, rings, overwrites the line, clears the screen (C1 CSI), and
/// reverses the text after it.
const EVIL: &str = "x\x1b]0;owned\x07\r\0\u{9b}2J\u{202e}desserger\u{2066}\u{200f}\u{7f}";

fn hostile_run(kernel: &str) -> Run {
    let labels: BTreeMap<String, String> = [(format!("k{EVIL}"), format!("v{EVIL}"))]
        .into_iter()
        .collect();
    let samples: Vec<f64> = (0..40).map(|i| 1000.0 + f64::from(i % 7)).collect();
    let ok = Measurement::from_samples(
        MeasurementKey::new(
            &format!("startup{EVIL}"),
            &format!("sub{EVIL}"),
            &format!("case{EVIL}"),
            &format!("ready{EVIL}"),
        ),
        "ns",
        labels.clone(),
        samples,
    );
    let mut remark = ok.clone();
    remark.case.push('2');
    remark.reason = Some(format!("pinned{EVIL}"));
    let skipped = Measurement::not_ok(
        MeasurementKey::new("startup", "qemu", &format!("c{EVIL}"), "ready"),
        "ns",
        Status::Skipped,
        format!("no KVM{EVIL}"),
    )
    .with_labels(labels);
    Run {
        schema: RUN_SCHEMA.into(),
        started_at: format!("2026-01-01T00:00:00Z{EVIL}"),
        finished_at: None,
        tool: Default::default(),
        host: Host {
            hostname: format!("host{EVIL}"),
            kernel: kernel.into(),
            os: format!("os{EVIL}"),
            cpu_model: format!("cpu{EVIL}"),
            cpus: 2,
            cgroup: format!("v2{EVIL}"),
            components: [(format!("runc{EVIL}"), format!("1.0{EVIL}"))]
                .into_iter()
                .collect(),
            ..Host::default()
        },
        config: serde_json::json!({ "quick": EVIL }),
        interrupted: true,
        subjects: Default::default(),
        time_spent: Vec::new(),
        measurements: vec![ok, remark, skipped],
    }
}

/// Through a file, as the command line gets it.
fn loaded(run: &Run, dir: &std::path::Path, name: &str) -> Run {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(run).expect("serialise")).expect("write run file");
    Run::load(&p).expect("hostile text is valid in a run file")
}

/// Whether `text` is free of raw controls; says what leaked when not.
fn clean(what: &str, text: &str) -> bool {
    // Line breaks the renderer itself writes (CSV rows end in CRLF) are the only ones.
    let body = text.replace("\r\n", "\n").replace('\n', "");
    let ok = !has_unprintable(&body);
    if !ok {
        eprintln!("{what} printed a raw control or bidi character:\n{text:?}");
    }
    ok
}

#[test]
fn no_text_output_prints_hostile_run_text_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = loaded(&hostile_run(&format!("6.1{EVIL}")), dir.path(), "a.json");
    let b = loaded(&hostile_run(&format!("6.6{EVIL}")), dir.path(), "b.json");
    let origin_a = format!("a{EVIL}.json");
    let c = compare::compare(
        &[
            Input {
                origin: &origin_a,
                run: &a,
            },
            Input {
                origin: "b.json",
                run: &b,
            },
        ],
        &CompareOptions::default(),
    )
    .expect("compare");
    let mut leaked = Vec::new();
    for (what, text) in [
        ("compare table", compare::table::render(&c)),
        ("compare markdown", compare::markdown::render(&c)),
    ] {
        if !clean(what, &text) {
            leaked.push(what);
        }
    }
    for f in [ExportFormat::Markdown, ExportFormat::Csv] {
        let bytes = f.exporter().serialize(&a).expect("export");
        if !clean(f.name(), &String::from_utf8(bytes).expect("utf-8")) {
            leaked.push(f.name());
        }
    }
    assert!(leaked.is_empty(), "raw controls in: {leaked:?}");
}

/// The workload table (terminal summary, Markdown export): subject names, workload and
/// metric names, labels (storage, fstype, accel) and reasons from the run file.
#[test]
fn the_workload_table_prints_no_hostile_text_raw() {
    let labels = |extra: &[(&str, String)]| -> BTreeMap<String, String> {
        let mut l: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        l.insert("better".into(), "lower".into());
        l
    };
    let samples: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i % 5)).collect();
    let wl = |subject: &str, l: BTreeMap<String, String>| {
        Measurement::from_samples(
            MeasurementKey::new(
                "workload",
                subject,
                &format!("syscall{EVIL}"),
                &format!("getppid_ns{EVIL}"),
            ),
            "ns",
            l,
            samples.clone(),
        )
    };
    let mut run = hostile_run("6.1");
    run.measurements = vec![
        wl("process", labels(&[("storage", format!("host{EVIL}"))])),
        wl(
            &format!("qemu{EVIL}"),
            labels(&[
                ("accel", format!("tcg{EVIL}")),
                ("storage", format!("virtio{EVIL}")),
                ("fstype", format!("ext4{EVIL}")),
            ]),
        ),
        Measurement::not_ok(
            MeasurementKey::new("workload", "runc", &format!("syscall{EVIL}"), "x"),
            "ns",
            Status::Failed,
            format!("probe died{EVIL}"),
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let run = loaded(&run, dir.path(), "w.json");
    let summary = isobench_reports::text::summary::render_run(&run);
    assert!(summary.contains("workload: the same work"), "{summary}");
    assert!(clean("workload summary", &summary));
    let md = ExportFormat::Markdown
        .exporter()
        .serialize(&run)
        .expect("export");
    assert!(clean("markdown", &String::from_utf8(md).expect("utf-8")));
}

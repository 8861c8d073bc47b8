//! Exports of the handcrafted fixture: documented shapes, escaping, and snapshots.

mod common;

use isobench_reports::export::ExportFormat;
use isobench_reports::model::Status;

fn export(format: ExportFormat, fixture: &str) -> String {
    let run = common::input(fixture).run;
    String::from_utf8(format.exporter().serialize(&run).expect("export")).expect("utf-8")
}

#[test]
fn bmf_has_the_bencher_shape() {
    let text = export(ExportFormat::Bmf, "handcrafted-run.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let benches = v.as_object().expect("top level is an object of benchmarks");
    assert!(!benches.is_empty());
    for (name, measures) in benches {
        let measures = measures.as_object().expect("benchmark maps measures");
        for (slug, m) in measures {
            assert!(
                slug.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "slug {slug}"
            );
            let o = m.as_object().expect("measure is an object");
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["lower_value", "upper_value", "value"],
                "{name}/{slug}"
            );
            let (lo, val, hi) = (
                o["lower_value"].as_f64().expect("f64"),
                o["value"].as_f64().expect("f64"),
                o["upper_value"].as_f64().expect("f64"),
            );
            assert!(lo <= val && val <= hi, "{name}/{slug}: {lo} {val} {hi}");
        }
    }
    assert!(benches["startup/qemu/microvm[accel=tcg]"]
        .get("ready-ns")
        .is_some());
    assert!(benches["clone/namespaces/net[concurrency=4]"]
        .get("throughput-ops-s")
        .is_some());
    // Skipped measurements have no number and are not exported.
    assert!(!benches.contains_key("startup/docker/default"));
    common::snapshot("handcrafted.bmf.json", &text);
}

#[test]
fn gab_is_an_array_of_smaller_is_better_entries() {
    let text = export(ExportFormat::Gab, "handcrafted-run.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let arr = v.as_array().expect("top level is an array");
    assert!(!arr.is_empty());
    for e in arr {
        let o = e.as_object().expect("entry object");
        for k in o.keys() {
            assert!(
                ["name", "unit", "value", "range", "extra"].contains(&k.as_str()),
                "key {k}"
            );
        }
        assert!(o["name"].is_string() && o["unit"].is_string() && o["value"].is_f64());
        let unit = o["unit"].as_str().expect("unit");
        assert!(
            unit != "ops/s" && unit != "ratio",
            "bigger-is-better leaked: {e}"
        );
        if let Some(r) = o.get("range") {
            assert!(r.as_str().expect("range is a string").starts_with("± "));
        }
    }
    assert!(arr
        .iter()
        .any(|e| e["name"] == "startup/runc/default/ready"));
    common::snapshot("handcrafted.gab.json", &text);
}

#[test]
fn csv_has_one_row_per_measurement_and_quotes_fields() {
    let run = common::input("handcrafted-run.json").run;
    let text = export(ExportFormat::Csv, "handcrafted-run.json");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), run.measurements.len() + 1);
    assert!(lines[0].starts_with("scenario,subject,case,metric,unit,labels,status,reason,n,"));
    let skipped = run
        .measurements
        .iter()
        .filter(|m| m.status == Status::Skipped)
        .count();
    assert_eq!(
        lines.iter().filter(|l| l.contains(",skipped,")).count(),
        skipped
    );
    // A reason with a comma or quote is quoted (RFC 4180).
    assert!(text.contains(
        r#","setns(CLONE_NEWTIME) failed: ""Invalid argument"", the kernel lacks CONFIG_TIME_NS","#
    ));
    common::snapshot("handcrafted.csv", &text);
}

#[test]
fn markdown_escapes_and_summarizes() {
    let text = export(ExportFormat::Markdown, "handcrafted-run.json");
    assert!(!text.contains("<script"), "hostname must be escaped");
    assert!(text.contains("&lt;script&gt;"));
    assert!(!text.contains("<img"));
    assert!(text.contains("### Headline"));
    assert!(text.contains("| aspect | lighter | heavier | ratio | 95% CI | in words |"));
    assert!(text.contains("reached its first instruction"));
    assert!(text.contains("**skipped** startup docker/default ready"));
    assert!(text.contains("<details>"));
    common::snapshot("handcrafted.md", &text);
}

#[test]
fn real_run_exports_are_well_formed() {
    for f in ExportFormat::ALL {
        let text = export(f, "sample-run.json");
        assert!(!text.is_empty(), "{}", f.name());
        if f.exporter().extension() == "json" {
            serde_json::from_str::<serde_json::Value>(&text).expect("valid json");
        }
    }
}

#[test]
fn workload_metrics_export_by_their_better_label() {
    let gab = export(ExportFormat::Gab, "handcrafted-workload-run.json");
    let v: serde_json::Value = serde_json::from_str(&gab).expect("json");
    let names: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    // Lower is better: in, whatever the unit (ns, us); higher and ratios: out.
    assert!(names.iter().any(|n| n.contains("getppid_ns")), "{names:?}");
    assert!(
        names.iter().any(|n| n.contains("fdatasync_p50_us")),
        "{names:?}"
    );
    for out in ["triad_gbps", "insert_tps", "vs_process"] {
        assert!(!names.iter().any(|n| n.contains(out)), "{out} in {names:?}");
    }
    let csv = export(ExportFormat::Csv, "handcrafted-workload-run.json");
    assert!(csv.contains(",GB/s,") && csv.contains(",us,") && csv.contains(",ratio,"));
    // The failure's ESC from the run file is made visible.
    assert!(!csv.contains('\x1b') && csv.contains("\\x1b[2J"));
    let md = export(ExportFormat::Markdown, "handcrafted-workload-run.json");
    assert!(md.contains("| performance |"), "{md}");
    assert!(
        md.contains("### Workloads: ratio to a plain process"),
        "{md}"
    );
    assert!(md.contains("| sqlite | insert\\_tps | higher |"), "{md}");
}

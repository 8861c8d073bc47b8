//! The HTML report of the fixtures: self-contained, escaped, charts where data exist.

mod common;

use isobench_reports::report;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let html = report::html(&[common::input("handcrafted-run.json")]).expect("render");
    // The hostname, a component name and a case name carry markup; none may survive.
    assert!(
        !html.contains("<script"),
        "a <script> element leaked into the report"
    );
    assert!(
        !html.contains("<img"),
        "an <img> element leaked into the report"
    );
    assert!(
        !html.contains("<b>evil"),
        "a <b> element leaked into the report"
    );
    assert!(html.contains("&lt;script&gt;alert(&quot;host&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("1 &amp; 2"));
}

#[test]
fn self_contained_no_external_resources() {
    let html = report::html(&[common::input("handcrafted-run.json")]).expect("render");
    for bad in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
    ] {
        assert!(
            !html.contains(bad),
            "report references an external resource: {bad}"
        );
    }
    assert!(
        html.contains("default-src 'none'"),
        "CSP forbids every fetch"
    );
}

#[test]
fn handcrafted_run_draws_every_chart_and_the_headline() {
    let html = report::html(&[common::input("handcrafted-run.json")]).expect("render");
    for id in [
        "run1-startup",
        "run1-phases",
        "run1-phases-vm",
        "run1-footprint",
        "run1-clone-cost",
        "run1-concurrency-throughput",
        "run1-concurrency-latency",
        "run1-mounts",
        "run1-throttle-share",
        "run1-throttle-latency",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "chart {id} missing");
    }
    // Ten charts and the ladder.
    assert_eq!(count(&html, "<svg"), 11);
    // Headline: container vs emulated VM, with its CI and the caveat next to it.
    assert!(html.contains("A runc container reached its first instruction"));
    assert!(html.contains("under software emulation (TCG)"));
    assert!(html.contains("class=\"emulated\""));
    assert!(html.contains("95% CI"));
    // Memory and throughput rows exist.
    assert!(html.contains("used 15× the memory of a runc container"));
    assert!(html.contains("the work per second of"));
    // Skipped and failed subjects with their reasons.
    assert!(html.contains("docker: image isobench-probe:latest missing"));
    assert!(html.contains("podman run exited 125"));
    assert!(html.contains("CONFIG_TIME_NS"));
    // Environment block.
    for k in [
        "kernel",
        "cgroup layout",
        "accelerator",
        "6.18.44-fc-v857",
        "hybrid",
        "accel=tcg",
        "kvm_probe",
    ] {
        assert!(html.contains(k), "environment lacks {k}");
    }
}

#[test]
fn the_page_opens_with_the_ladder_and_the_verdict_then_the_folded_pairs() {
    let html = report::html(&[common::input("handcrafted-run.json")]).expect("render");
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing"))
    };
    // Ladder and verdict come before the pairwise list, which comes before the charts.
    assert!(at("id=\"run1-ladder\"") < at("id=\"run1-verdict\""));
    assert!(at("id=\"run1-verdict\"") < at("<details class=\"pairs\""));
    assert!(at("<details class=\"pairs\"") < at("id=\"run1-charts\""));
    // Three verdict rows, each linking to its chart.
    for (aspect, target) in [
        ("startup", "run1-startup"),
        ("memory", "run1-footprint"),
        ("performance", "run1-throttle-share"),
    ] {
        assert!(
            html.contains(&format!("<a href=\"#{target}\">{aspect}</a>")),
            "verdict row {aspect} does not link to {target}"
        );
    }
    assert!(html.contains("crun 20.5 ms vs qemu/microvm [tcg] 2.60 s"));
    // The TCG caveat is said once on the first screen, and each pairwise caveat once per
    // aspect rather than once per row.
    assert_eq!(count(&html, "class=\"caveat-once\""), 1);
    let pairs = &html[at("<details class=\"pairs\"")..at("id=\"run1-charts\"")];
    let groups = count(pairs, "<h4>");
    assert_eq!(groups, 3, "one group per aspect");
    let tcg = count(pairs, "emulated: qemu/microvm [tcg] ran under QEMU TCG");
    assert!(
        (1..=groups).contains(&tcg),
        "{tcg} copies of the TCG caveat"
    );
    // Every SVG says what it shows.
    assert_eq!(count(&html, "<svg"), count(&html, "<title>") - 1);
    assert_eq!(count(&html, "<svg"), count(&html, "<desc>"));
}

#[test]
fn real_run_has_charts_for_what_it_measured() {
    let html = report::html(&[common::input("sample-run.json")]).expect("render");
    for id in [
        "run1-startup",
        "run1-clone-cost",
        "run1-concurrency-throughput",
        "run1-mounts",
        "run1-footprint",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "chart {id} missing");
    }
    // No throttle data in a startup,clone run: no throttle chart.
    assert!(!html.contains("id=\"run1-throttle-share\""));
    // Only a process was started: the headline says what is missing.
    assert!(html.contains("No container startup was measured"));
    assert!(html.contains("No virtual machine startup was measured"));
    assert!(html.contains("harness floor (startup ready)"));
}

#[test]
fn several_runs_get_one_section_each() {
    let inputs = vec![
        common::input("sample-run.json"),
        common::input("handcrafted-run.json"),
    ];
    let html = report::html(&inputs).expect("render");
    assert!(html.contains("id=\"run1\"") && html.contains("id=\"run2\""));
    assert!(html.contains("<nav>"));
    assert!(report::html(&[]).is_err());
}

#[test]
fn workload_run_has_its_section_table_charts_and_caveats() {
    let html = report::html(&[common::input("handcrafted-workload-run.json")]).expect("render");
    assert!(html.contains("id=\"run1-workload\""));
    for w in ["syscall", "memory", "cpu", "fileio", "net", "sqlite"] {
        assert!(
            html.contains(&format!("id=\"run1-workload-{w}\"")),
            "chart of {w} missing"
        );
    }
    // The verdict's performance row links to the section and compares the workloads.
    assert!(html.contains("href=\"#run1-workload\">performance</a>"));
    assert!(html.contains("workloads, geomean"));
    assert!(html.contains("fileio, sqlite and openat left out"));
    // The method note: timer points inside the probe, storage per subject, direction.
    assert!(html.contains("inside the probe"));
    assert!(html.contains("docker fuse-overlayfs (fuse)"));
    assert!(html.contains("right is better"));
    // VMs say emulated; skips and failures are in the table with their reasons.
    assert!(html.contains("qemu [tcg] emulated"));
    assert!(html.contains("include the emulation"));
    assert!(html.contains(
        "class=\"num skipped\" title=\"the root filesystem of this subject is read-only"
    ));
    assert!(html.contains("class=\"num failed\""));
    // The failure's reason carries markup and an ESC: escaped, never raw.
    assert!(
        !html.contains("<b>gofer"),
        "a <b> element leaked into the report"
    );
    assert!(html.contains("&lt;b&gt;gofer&lt;/b&gt;"));
    // No latency-bound fallback when the workloads are there.
    assert!(!html.contains("latency-bound unit"));
}

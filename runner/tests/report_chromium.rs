//! The HTML report of a real run (fixtures/results/sample-run.json, produced by
//! `isobench run --scenario startup,clone --quick --iterations 20`) and of the handcrafted
//! fixture, rendered by headless Chromium: no console error (a CSP violation would be
//! one, so this also proves no fetch was attempted), charts present in the DOM with drawn
//! data, and a non-trivial screenshot. Skips with a reason when Chromium is missing.
//!
//! `first_screen_*` measures the layout: the report forbids scripts (its CSP), so the test
//! renders a copy of the page with the CSP removed and a script that writes the bottom
//! edge of the ladder and of the verdict table into the DOM, which `--dump-dom` returns.
//! `ISOBENCH_KEEP_SCREENSHOT=DIR` keeps the screenshots (the README's come from there).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/results")
        .join(name)
}

fn chromium() -> Option<PathBuf> {
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .find_map(|p| isobench::subprocess::which(p))
}

fn headless(browser: &Path, profile: &Path, extra: &[String], url: &str) -> std::process::Output {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url);
    isobench::subprocess::run(&mut cmd, BROWSER_TIMEOUT).expect("chromium ran within its timeout")
}

/// Console messages and CSP refusals in Chromium's log.
fn console_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Refused to") || l.contains("Uncaught"))
        .collect()
}

/// Elements `tag` whose `attr` is a series colour (anything but black and white).
fn data_elements(dom: &str, tag: &str, attr: &str) -> usize {
    dom.split(tag)
        .skip(1)
        .filter(|rest| {
            let head = rest.split('>').next().unwrap_or("");
            let key = format!("{attr}=\"#");
            head.find(&key).is_some_and(|i| {
                let colour = &head[i + key.len()..];
                let colour = colour.get(..6).unwrap_or("").to_ascii_uppercase();
                colour.len() == 6 && colour != "000000" && colour != "FFFFFF"
            })
        })
        .count()
}

fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    Some((w, h))
}

/// `isobench report` of the fixture `run_file` into `html`.
fn report_of(run_file: &str, html: &Path) {
    let out = Command::cargo_bin("isobench")
        .expect("isobench binary")
        .args([
            "report",
            fixture(run_file).to_str().expect("utf-8 path"),
            "-o",
        ])
        .arg(html)
        .output()
        .expect("isobench report runs");
    assert!(
        out.status.success(),
        "isobench report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Measures, after layout, the bottom edge in CSS pixels of each selector, and writes it
/// into `data-bottom-N` attributes of `<body>` (-1 when the element is missing).
const MEASURE: &str = r##"<script>
["#run1-ladder", "#run1 table.verdict"].forEach(function (sel, i) {
  var e = document.querySelector(sel);
  document.body.setAttribute("data-bottom-" + i, e ? Math.round(e.getBoundingClientRect().bottom) : -1);
});
</script>"##;

/// The first number after `attr="` in `dom`.
fn attr_number(dom: &str, attr: &str) -> Option<i64> {
    let key = format!("{attr}=\"");
    let rest = &dom[dom.find(&key)? + key.len()..];
    rest.split('"').next()?.parse().ok()
}

fn first_screen(run_file: &str) {
    let Some(browser) = chromium() else {
        eprintln!("skipping: no chromium/google-chrome on PATH (Debian package chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("report.html");
    report_of(run_file, &html);
    let page = std::fs::read_to_string(&html).expect("report written");
    let csp = page
        .lines()
        .find(|l| l.contains("Content-Security-Policy"))
        .expect("the report has a CSP")
        .to_string();
    let measured = dir.path().join("measured.html");
    std::fs::write(
        &measured,
        page.replace(&csp, "")
            .replace("</body>", &format!("{MEASURE}</body>")),
    )
    .expect("write the measuring copy");
    let window = "--window-size=1400,1000".to_string();
    let dom = headless(
        &browser,
        &dir.path().join("profile1"),
        &["--dump-dom".into(), window.clone()],
        &format!("file://{}", measured.display()),
    );
    assert!(dom.status.success(), "chromium --dump-dom failed");
    let dom = String::from_utf8_lossy(&dom.stdout);
    for (i, what) in ["ladder", "verdict table"].iter().enumerate() {
        let bottom = attr_number(&dom, &format!("data-bottom-{i}"))
            .unwrap_or_else(|| panic!("the measuring script did not run for the {what}"));
        eprintln!("{run_file}: the {what} ends {bottom} px down");
        assert!(bottom > 0, "{run_file}: no {what} on the page");
        assert!(
            bottom <= 1000,
            "{run_file}: the {what} ends {bottom} px down, below the first 1000 px"
        );
    }
    // The first screen as a small PNG (layout at 1400 px, drawn at 0.6 scale), and the same
    // in greyscale to check that the classes stay apart without colour.
    let grey = dir.path().join("grey.html");
    std::fs::write(
        &grey,
        page.replace("</style>", "html { filter: grayscale(1); }</style>"),
    )
    .expect("write the greyscale copy");
    for (src, name) in [(&html, "first-screen"), (&grey, "first-screen-grey")] {
        let png = dir.path().join(format!("{name}.png"));
        let shot = headless(
            &browser,
            &dir.path().join(format!("profile-{name}")),
            &[
                format!("--screenshot={}", png.display()),
                window.clone(),
                "--force-device-scale-factor=0.6".into(),
                "--hide-scrollbars".into(),
            ],
            &format!("file://{}", src.display()),
        );
        assert!(shot.status.success(), "chromium --screenshot failed");
        let bytes = std::fs::read(&png).expect("screenshot written");
        assert_eq!(png_size(&bytes), Some((840, 600)), "not an 840x600 PNG");
        assert!(bytes.len() > 20_000, "{name} is nearly blank");
        if let Some(dest) = std::env::var_os("ISOBENCH_KEEP_SCREENSHOT").map(PathBuf::from) {
            let stem = run_file.trim_end_matches(".json");
            let _ = std::fs::copy(&png, dest.join(format!("{stem}.{name}.png")));
        }
    }
}

#[test]
fn first_screen_holds_the_ladder_and_the_verdict() {
    first_screen("handcrafted-run.json");
    first_screen("sample-run.json");
}

fn check(run_file: &str, min_svgs: usize) {
    let Some(browser) = chromium() else {
        eprintln!("skipping: no chromium/google-chrome on PATH (Debian package chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("report.html");
    report_of(run_file, &html);
    let url = format!("file://{}", html.display());

    let dom = headless(
        &browser,
        &dir.path().join("profile1"),
        &["--dump-dom".into()],
        &url,
    );
    assert!(dom.status.success(), "chromium --dump-dom failed");
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let stderr = String::from_utf8_lossy(&dom.stderr);
    let problems = console_problems(&stderr);
    assert!(
        problems.is_empty(),
        "console errors in {run_file}: {problems:#?}"
    );
    let svgs = dom_text.matches("<svg").count();
    // Data, not axes or grid (drawn in black/white): elements in a series colour.
    let lines = data_elements(&dom_text, "<polyline", "stroke");
    let bars = data_elements(&dom_text, "<rect", "fill");
    let points = data_elements(&dom_text, "<circle", "fill");
    eprintln!(
        "{run_file}: {svgs} charts; data elements: {lines} lines, {bars} bars, {points} points"
    );
    assert!(
        svgs >= min_svgs,
        "{svgs} charts, expected at least {min_svgs}"
    );
    assert!(lines >= 4, "too few data lines drawn: {lines}");
    assert!(bars >= 5, "too few bars drawn: {bars}");
    assert!(points >= 5, "too few points drawn: {points}");
    assert!(dom_text.contains("Headline"));

    let png = dir.path().join("report.png");
    let shot = headless(
        &browser,
        &dir.path().join("profile2"),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,4000".into(),
        ],
        &url,
    );
    assert!(shot.status.success(), "chromium --screenshot failed");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(png_size(&bytes), Some((1400, 4000)), "not a 1400x4000 PNG");
    // A blank 1400x4000 page compresses to a few KiB; text and charts take far more.
    assert!(
        bytes.len() > 60_000,
        "screenshot is nearly blank: {} bytes",
        bytes.len()
    );
    let keep = std::env::var_os("ISOBENCH_KEEP_SCREENSHOT").map(PathBuf::from);
    if let Some(dest) = keep {
        let _ = std::fs::copy(&png, dest.join(format!("{run_file}.png")));
    }
}

#[test]
fn real_run_report_renders_in_chromium() {
    check("sample-run.json", 5);
}

#[test]
fn handcrafted_report_renders_in_chromium() {
    check("handcrafted-run.json", 9);
}

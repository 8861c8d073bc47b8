//! The self-contained HTML report: `template.html` rendered by tinytemplate from the
//! `#[derive(Serialize)]` context below. Every interpolated value is HTML-escaped by the
//! template's default formatter; the only unescaped ones are the stylesheet (a constant)
//! and the charts' SVG, whose text plotters escapes itself. A Content-Security-Policy of
//! `default-src 'none'` makes the browser refuse any fetch, so the file stands alone.
//!
//! A run's section opens with the answer (the ladder figure beside the three-row verdict,
//! each row linking to the chart it summarises), then the pairwise ratios folded in a
//! `<details>` with each caveat said once per aspect, then the charts and tables.

use serde::Serialize;
use tinytemplate::TinyTemplate;

use super::headline::{headline, Headline, HeadlineRow, VerdictRow};
use super::tables::{self, KeyValue, ProblemRow, SummaryRow};
use super::{Input, ReportError};
use crate::chart::{self, Chart};

const TEMPLATE: &str = include_str!("template.html");
const CSS: &str = include_str!("style.css");

#[derive(Debug, Serialize)]
struct Page<'a> {
    title: String,
    generator: String,
    css: &'static str,
    many: bool,
    runs: Vec<RunSection<'a>>,
}

#[derive(Debug, Serialize)]
struct RunSection<'a> {
    anchor: String,
    name: &'a str,
    host_line: String,
    started_at: &'a str,
    finished_at: &'a str,
    tool: String,
    interrupted: bool,
    headline: Headline,
    ladder: Option<Chart>,
    verdict: Vec<VerdictLine>,
    /// Instances per GiB of each class (the `density` scenario), when it ran.
    density: Vec<super::density::DensityLine>,
    pair_count: usize,
    pairs: Vec<PairGroup>,
    charts: Vec<Chart>,
    workload: Option<super::workload_section::WorkloadSection>,
    chart_errors: Vec<String>,
    problems: Vec<ProblemRow>,
    summary: Vec<SummaryRow>,
    environment: Vec<KeyValue>,
    components: Vec<KeyValue>,
    notes: Vec<KeyValue>,
}

/// A verdict row and where on the page its details are.
#[derive(Debug, Serialize)]
struct VerdictLine {
    row: VerdictRow,
    href: String,
}

/// The pairwise ratios of one aspect, with the caveats of its rows said once.
#[derive(Debug, Serialize)]
struct PairGroup {
    aspect: String,
    rows: Vec<HeadlineRow>,
    caveats: Vec<String>,
}

/// Rows grouped by aspect in their order; each distinct caveat once per group.
fn pair_groups(rows: &[HeadlineRow]) -> Vec<PairGroup> {
    let mut groups: Vec<PairGroup> = Vec::new();
    for r in rows {
        let group = match groups.iter().position(|g| g.aspect == r.aspect) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(PairGroup {
                    aspect: r.aspect.clone(),
                    rows: Vec::new(),
                    caveats: Vec::new(),
                });
                let last = groups.len() - 1;
                &mut groups[last]
            }
        };
        for c in &r.caveats {
            if !group.caveats.contains(c) {
                group.caveats.push(c.clone());
            }
        }
        group.rows.push(r.clone());
    }
    groups
}

/// The anchor a verdict row links to: the chart of its aspect if it was drawn, else the
/// table of every measurement.
fn verdict_href(anchor: &str, aspect: &str, charts: &[Chart], workload: bool) -> String {
    if aspect == "performance" && workload {
        return format!("#{anchor}-workload");
    }
    let chart_id = match aspect {
        "startup" => "startup",
        "memory" => "footprint",
        _ => "throttle-share",
    };
    if charts.iter().any(|c| c.id == chart_id) {
        format!("#{anchor}-{chart_id}")
    } else {
        format!("#{anchor}-summary")
    }
}

fn section<'a>(i: usize, input: &'a Input) -> RunSection<'a> {
    let run = &input.run;
    let (charts, mut errors) = chart::all(run);
    let ladder = chart::ladder::chart(run).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let workload = super::workload_section::section(run).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let anchor = format!("run{}", i + 1);
    let headline = headline(run);
    let verdict = headline
        .verdict
        .rows
        .iter()
        .map(|row| VerdictLine {
            href: verdict_href(&anchor, &row.aspect, &charts, workload.is_some()),
            row: row.clone(),
        })
        .collect();
    RunSection {
        ladder,
        verdict,
        density: super::density::instances_per_gib(run)
            .iter()
            .map(|r| r.line())
            .collect(),
        pair_count: headline.rows.len(),
        pairs: pair_groups(&headline.rows),
        anchor,
        name: &input.name,
        host_line: format!(
            "{} · Linux {} · {} × {}",
            run.host.hostname, run.host.kernel, run.host.cpus, run.host.cpu_model
        ),
        started_at: &run.started_at,
        finished_at: run.finished_at.as_deref().unwrap_or("—"),
        tool: format!("{} {}", run.tool.name, run.tool.version),
        interrupted: run.interrupted,
        headline,
        charts,
        workload,
        chart_errors: errors.iter().map(|e| e.to_string()).collect(),
        problems: tables::problem_rows(run),
        summary: tables::summary_rows(run),
        environment: tables::environment(run),
        components: tables::components(run),
        notes: tables::notes(run),
    }
}

/// Render the report of `inputs` (one section per run) as one HTML document.
pub fn render(inputs: &[Input]) -> Result<String, ReportError> {
    if inputs.is_empty() {
        return Err(ReportError::NoRuns);
    }
    let title = if inputs.len() == 1 {
        format!("isobench report — {}", inputs[0].run.host.hostname)
    } else {
        format!("isobench report — {} runs", inputs.len())
    };
    let page = Page {
        title,
        generator: format!("isobench-reports {}", env!("CARGO_PKG_VERSION")),
        css: CSS,
        many: inputs.len() > 1,
        runs: inputs
            .iter()
            .enumerate()
            .map(|(i, r)| section(i, r))
            .collect(),
    };
    let mut tt = TinyTemplate::new();
    tt.set_default_formatter(&tinytemplate::format);
    tt.add_template("report", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    tt.render("report", &page)
        .map_err(|e| ReportError::Template(e.to_string()))
}

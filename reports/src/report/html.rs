//! The self-contained HTML report: `template.html` rendered by tinytemplate from the
//! `#[derive(Serialize)]` context below. Every interpolated value is HTML-escaped by the
//! template's default formatter; the only unescaped ones are the stylesheet (a constant)
//! and the charts' SVG, whose text plotters escapes itself. A Content-Security-Policy of
//! `default-src 'none'` makes the browser refuse any fetch, so the file stands alone.

use serde::Serialize;
use tinytemplate::TinyTemplate;

use super::headline::{headline, Headline};
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
    charts: Vec<Chart>,
    chart_errors: Vec<String>,
    problems: Vec<ProblemRow>,
    summary: Vec<SummaryRow>,
    environment: Vec<KeyValue>,
    components: Vec<KeyValue>,
    notes: Vec<KeyValue>,
}

fn section<'a>(i: usize, input: &'a Input) -> RunSection<'a> {
    let run = &input.run;
    let (charts, errors) = chart::all(run);
    RunSection {
        anchor: format!("run{}", i + 1),
        name: &input.name,
        host_line: format!(
            "{} · Linux {} · {} × {}",
            run.host.hostname, run.host.kernel, run.host.cpus, run.host.cpu_model
        ),
        started_at: &run.started_at,
        finished_at: run.finished_at.as_deref().unwrap_or("—"),
        tool: format!("{} {}", run.tool.name, run.tool.version),
        interrupted: run.interrupted,
        headline: headline(run),
        charts,
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

//! `isobench report` and `isobench export`: thin commands over the pure reports crate.
//! They read run files, ask `isobench_reports` for the HTML or the export bytes, and write
//! them atomically (temp file + rename) or to stdout; `report --table` / `--summary` print
//! the terminal views of `isobench_reports::text` for a run file instead. Also the after-run
//! hook that writes `<json stem>.html` beside a fresh run file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use isobench_reports::export::ExportFormat;
use isobench_reports::report::{self, Input};
use isobench_reports::text::{summary, table};
use isobench_reports::Run;

/// Why a report or export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportCmdError {
    #[error(transparent)]
    Load(#[from] isobench_reports::model::RunFileError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error(transparent)]
    Export(#[from] isobench_reports::export::ExportError),
    #[error("cannot write {path}: {source} (is the directory writable?)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run JSON files (one section each).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output HTML file (default: RUN.html beside a single run, isobench-report.html for several).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the full table of each run (what `isobench run --full-table` prints) instead of
    /// writing HTML.
    #[arg(long, conflicts_with_all = ["output", "summary"])]
    pub table: bool,
    /// Print the headline summary of each run (what `isobench run` prints at its end)
    /// instead of writing HTML.
    #[arg(long, conflicts_with = "output")]
    pub summary: bool,
}

/// Export formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Bencher Metric Format JSON.
    Bmf,
    /// github-action-benchmark customSmallerIsBetter JSON.
    Gab,
    /// CSV, one row per measurement.
    Csv,
    /// Markdown summary (PR comment, $GITHUB_STEP_SUMMARY).
    Markdown,
}

impl From<FormatArg> for ExportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Bmf => ExportFormat::Bmf,
            FormatArg::Gab => ExportFormat::Gab,
            FormatArg::Csv => ExportFormat::Csv,
            FormatArg::Markdown => ExportFormat::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run JSON file.
    pub run: PathBuf,
    /// Export format.
    #[arg(long, short, value_enum)]
    pub format: FormatArg,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn input_of(path: &Path) -> Result<Input, ReportCmdError> {
    let run = Run::load(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(Input { name, run })
}

/// The HTML path beside a run file: `results/run-1.json` → `results/run-1.html`.
pub fn html_path_for(json: &Path) -> PathBuf {
    json.with_extension("html")
}

/// Render the HTML report of `runs` into `out`.
pub fn write_report(runs: &[PathBuf], out: &Path) -> Result<(), ReportCmdError> {
    let inputs = runs
        .iter()
        .map(|p| input_of(p))
        .collect::<Result<Vec<_>, _>>()?;
    write_inputs(&inputs, out)
}

fn write_inputs(inputs: &[Input], out: &Path) -> Result<(), ReportCmdError> {
    let html = report::html(inputs)?;
    crate::atomic_write::replace(out, html.as_bytes(), crate::atomic_write::PUBLIC).map_err(
        |source| ReportCmdError::Write {
            path: out.to_path_buf(),
            source,
        },
    )
}

/// `isobench report`.
pub fn report_cmd(a: ReportArgs) -> anyhow::Result<i32> {
    if a.table || a.summary {
        let mut text = String::new();
        for path in &a.runs {
            let input = input_of(path)?;
            if a.runs.len() > 1 {
                text.push_str(&format!("== {} ==\n", input.name));
            }
            let ms = &input.run.measurements;
            text.push_str(&if a.table {
                table::render(ms, table::FULL_TABLE_METRICS)
            } else {
                summary::render_run(&input.run)
            });
        }
        let mut so = std::io::stdout().lock();
        so.write_all(text.as_bytes())
            .and_then(|()| so.flush())
            .map_err(|source| ReportCmdError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            })?;
        return Ok(0);
    }
    let out = a.output.clone().unwrap_or_else(|| match a.runs.as_slice() {
        [one] => html_path_for(one),
        _ => PathBuf::from("isobench-report.html"),
    });
    write_report(&a.runs, &out)?;
    println!("report: {}", out.display());
    Ok(0)
}

/// `isobench export`.
pub fn export_cmd(a: ExportArgs) -> anyhow::Result<i32> {
    let run = Run::load(&a.run).map_err(ReportCmdError::from)?;
    let bytes = ExportFormat::from(a.format)
        .exporter()
        .serialize(&run)
        .map_err(ReportCmdError::from)?;
    match &a.output {
        Some(path) => crate::atomic_write::replace(path, &bytes, crate::atomic_write::PUBLIC)
            .map_err(|source| ReportCmdError::Write {
                path: path.clone(),
                source,
            })?,
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(&bytes)
                .and_then(|()| so.flush())
                .map_err(|source| ReportCmdError::Write {
                    path: PathBuf::from("<stdout>"),
                    source,
                })?;
        }
    }
    Ok(0)
}

/// After `isobench run`: the HTML report beside the run file. A failure is printed, not
/// fatal: the run file is what matters and it is already written.
pub fn after_run(run: &Run, json: &Path) {
    let out = html_path_for(json);
    let input = Input {
        name: json
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| json.display().to_string()),
        run: run.clone(),
    };
    match write_inputs(&[input], &out) {
        Ok(()) => println!("report: {}", out.display()),
        Err(e) => eprintln!("isobench: the HTML report was not written: {e}"),
    }
}

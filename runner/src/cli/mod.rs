//! The command line (clap): `isobench run | doctor | report | compare | export | history |
//! clean | completions`. Exit codes: 0 success; 1 error (or, for `compare`, a significant
//! regression); 2 usage error; 3 (`compare`) inconclusive: the machine drifted; 130, 143,
//! 129 interrupted by SIGINT, SIGTERM, SIGHUP.

pub mod clean;
pub mod compare;
pub mod doctor;
pub mod history;
pub mod report;
pub mod run;

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "isobench",
    version,
    about = "How much lighter is a container than a VM? Startup, per-namespace clone() cost and cgroup throttling, measured on this machine."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of `RunArgs` does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Measure: run scenarios over subjects, write the run JSON and print a summary.
    Run(Box<run::RunArgs>),
    /// Check what this host can run (root, namespaces, cgroups, runtimes, QEMU/KVM).
    Doctor(doctor::DoctorArgs),
    /// Remove what a crashed or killed run left behind (from its journal).
    Clean(clean::CleanArgs),
    /// Compare run files (kernel A vs B, last night vs tonight); exit 1 on a significant regression.
    Compare(crate::cli::compare::CompareArgs),
    /// Recorded runs: list, trend of a metric, check a run against a rolling baseline.
    History(history::HistoryArgs),
    /// Write the embedded static probe binary to PATH (for cross-checks with other tools).
    #[command(hide = true)]
    WriteProbe { path: PathBuf },
    /// Write the self-contained HTML report of one or more run files.
    Report(crate::cli::report::ReportArgs),
    /// Export a run file as Bencher BMF, github-action-benchmark, CSV or Markdown.
    Export(crate::cli::report::ExportArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parse and dispatch; returns the process exit code.
pub fn main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => run::cmd_run(*a),
        Command::Doctor(a) => doctor::cmd(a.json),
        Command::Clean(a) => clean::cmd_clean(a),
        Command::Compare(a) => crate::cli::compare::cmd_compare(a),
        Command::History(a) => history::cmd_history(a),
        Command::WriteProbe { path } => {
            crate::probe::write_to(&path)
                .with_context(|| format!("writing the probe to {}", path.display()))?;
            Ok(0)
        }
        Command::Report(a) => crate::cli::report::report_cmd(a),
        Command::Export(a) => crate::cli::report::export_cmd(a),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "isobench",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

/// The error and its causes, "outer: inner: ...", skipping a cause whose text the outer
/// messages already contain (our error messages embed their source's text).
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = isobench_reports::terminal::printable(&cause.to_string()).into_owned();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

//! The command line (clap): `isobench run | doctor | report | compare | export | history |
//! clean | completions`. Exit codes: 0 success; 1 error (or, for `compare`, a significant
//! regression); 2 usage error; 130 interrupted by SIGINT, 143 by SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::measure::Order;
use crate::run::RunConfig;
use crate::scenario::{ScenarioKind, ScenarioOptions};
use crate::subject::SubjectKind;

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
    Run(Box<RunArgs>),
    /// Check what this host can run (root, namespaces, cgroups, runtimes, QEMU/KVM).
    Doctor(DoctorArgs),
    /// Remove what a crashed or killed run left behind (from its journal).
    Clean(CleanArgs),
    /// Compare run files (kernel A vs B, last night vs tonight); exit 1 on a significant regression.
    Compare(crate::cmd_compare::CompareArgs),
    /// Recorded runs: list, trend of a metric, check a run against a rolling baseline.
    History(crate::cmd_compare::HistoryArgs),
    /// Write the embedded static probe binary to PATH (for cross-checks with other tools).
    #[command(hide = true)]
    WriteProbe { path: PathBuf },
    /// Write the self-contained HTML report of one or more run files.
    Report(crate::cmd_report::ReportArgs),
    /// Export a run file as Bencher BMF, github-action-benchmark, CSV or Markdown.
    Export(crate::cmd_report::ExportArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenarios to run (comma list).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = ScenarioKind::all().to_vec())]
    pub scenario: Vec<ScenarioKind>,
    /// Subjects for the startup scenario (comma list); default: every startup subject.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub subject: Vec<SubjectKind>,
    /// Fewer iterations: a first look, or CI.
    #[arg(long)]
    pub quick: bool,
    /// Measured iterations per case (overrides the scenario's default).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Warm-up iterations per case, discarded.
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Order of cases within a round.
    #[arg(long, value_enum, default_value_t = Order::Shuffled)]
    pub order: Order,
    /// Seed of the shuffled order (recorded in the run file).
    #[arg(long, default_value_t = 0x150BE4C4)]
    pub seed: u64,
    /// Stop a scenario's rounds after this many seconds (0: no limit).
    #[arg(long, default_value_t = 0.0)]
    pub time_budget: f64,
    /// Output directory for the run JSON (and report).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Run JSON path (default: OUT/run-<timestamp>.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Creator threads for the clone concurrency sweep.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 2, 4, 8])]
    pub concurrency: Vec<usize>,
    /// Extra mounts for the clone mount-table sweep.
    #[arg(long, value_delimiter = ',', default_values_t = vec![0usize, 100, 1000])]
    pub mounts: Vec<usize>,
    /// CPU quotas of the throttle sweep, in % of one CPU (comma list).
    #[arg(long, value_delimiter = ',', default_values_t = vec![10.0f64, 25.0, 50.0, 100.0, 150.0, 200.0])]
    pub quotas: Vec<f64>,
    /// CFS period of the throttle sweep, in ms.
    #[arg(long, default_value_t = 100)]
    pub period_ms: u64,
    /// Work window of one throttle run, in ms (default: 2000 with --quick, else 5000).
    #[arg(long)]
    pub throttle_window_ms: Option<u64>,
    /// CPU for the clone scenario's sequential cases: `auto` (the last CPU this process may
    /// use; CPU 0 usually takes the device interrupts), a CPU number, or `off` (let the
    /// scheduler place creator and child). The concurrency sweep is never pinned.
    #[arg(long, default_value = "auto", value_name = "auto|off|CPU")]
    pub pin: String,
    /// Work directory base (default /var/tmp, or $ISOBENCH_WORKDIR).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Print per-launch errors and timings.
    #[arg(long, short)]
    pub verbose: bool,
    /// End with the full table (every measurement: p50, CI, p90, p99, max) instead of the
    /// headline summary.
    #[arg(long)]
    pub full_table: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Record the run in this history database (SQLite, created when missing).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Guest kernel for the qemu subject (default: $ISOBENCH_KERNEL, fixtures/kernels/vmlinuz, /boot/vmlinuz-*).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Journal directory (default: /run/isobench for root).
    #[arg(long)]
    pub journal_dir: Option<PathBuf>,
}

/// Exit code for a run stopped by `signal`.
pub fn exit_code_for_signal(sig: &str) -> i32 {
    match sig {
        "SIGTERM" => 143,
        "SIGHUP" => 129,
        _ => 130,
    }
}

/// Parse and dispatch; returns the process exit code.
pub fn main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => cmd_run(*a),
        Command::Doctor(a) => crate::doctor::cmd(a.json),
        Command::Clean(a) => cmd_clean(a),
        Command::Compare(a) => crate::cmd_compare::cmd_compare(a),
        Command::History(a) => crate::cmd_compare::cmd_history(a),
        Command::WriteProbe { path } => {
            crate::probe::write_to(&path)
                .with_context(|| format!("writing the probe to {}", path.display()))?;
            Ok(0)
        }
        Command::Report(a) => crate::cmd_report::report_cmd(a),
        Command::Export(a) => crate::cmd_report::export_cmd(a),
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

fn cmd_run(a: RunArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let json = a.json.clone().unwrap_or_else(|| {
        let ts = time::OffsetDateTime::now_utc();
        a.out.join(format!(
            "run-{:04}{:02}{:02}-{:02}{:02}{:02}.json",
            ts.year(),
            ts.month() as u8,
            ts.day(),
            ts.hour(),
            ts.minute(),
            ts.second()
        ))
    });
    if let Some(k) = &a.kernel {
        crate::vm::kernel::set_cli_override(k.clone());
    }
    let subjects = if a.subject.is_empty() {
        SubjectKind::startup_subjects()
    } else {
        a.subject.clone()
    };
    if a.concurrency.iter().any(|&c| c == 0 || c > 256) {
        anyhow::bail!("--concurrency values must be between 1 and 256");
    }
    if a.mounts.iter().any(|&m| m > 10_000) {
        anyhow::bail!("--mounts values above 10000 are refused (each is a real tmpfs mount)");
    }
    if a.quotas.iter().any(|&q| !(q > 0.0 && q <= 10_000.0)) {
        anyhow::bail!("--quotas values must be above 0 and at most 10000 (% of one CPU)");
    }
    if !(1..=1000).contains(&a.period_ms) {
        anyhow::bail!("--period-ms must be between 1 and 1000 (the kernel's CFS period range)");
    }
    let cfg = RunConfig {
        // Once each: a scenario given twice would write every measurement twice.
        scenarios: (a.scenario.iter().enumerate())
            .filter(|(i, s)| !a.scenario[..*i].contains(s))
            .map(|(_, s)| *s)
            .collect(),
        subjects,
        quick: a.quick,
        iterations: a.iterations,
        warmup: a.warmup,
        order: a.order,
        seed: a.seed,
        time_budget_s: a.time_budget,
        json: json.clone(),
        options: ScenarioOptions {
            concurrency: a.concurrency.clone(),
            mounts: a.mounts.clone(),
            quotas: a.quotas.clone(),
            period_ms: a.period_ms,
            throttle_window_ms: a.throttle_window_ms,
            pin_cpu: resolve_pin(&a.pin)?,
        },
        verbose: a.verbose,
        progress: !a.no_progress && std::io::stderr().is_terminal(),
        workdir: a.workdir.clone(),
    };
    crate::cmd_compare::check_run_history(a.history.as_deref())?;
    if crate::sys::geteuid() != 0 {
        eprintln!(
            "isobench: not running as root: cases that need CAP_SYS_ADMIN (namespaces other than user, cgroups, containers) \
             are skipped with a reason; run with sudo for the full suite."
        );
    }
    let result = crate::run::execute(&cfg)
        .with_context(|| format!("run (results in {})", json.display()))?;
    let ms = &result.run.measurements;
    if a.full_table {
        print!(
            "{}",
            crate::output::table::render(ms, crate::output::table::FULL_TABLE_METRICS)
        );
    } else {
        print!("{}", crate::output::summary::render(ms));
        println!(
            "\nfull table: isobench report {} --table (or run with --full-table)",
            json.display()
        );
    }
    if let Some(note) = emulation_note(&result.run) {
        println!("\n{note}");
    }
    crate::hooks::after_run(&result.run, &json, a.history.as_deref());
    println!("\nrun file: {}", json.display());
    for f in &result.cleanup_failures {
        eprintln!("isobench: cleanup failed: {f}");
    }
    if let Some(sig) = result.interrupted {
        eprintln!("isobench: interrupted by {sig}; the run file holds what was finished");
        return Ok(exit_code_for_signal(sig));
    }
    Ok(if result.cleanup_failures.is_empty() {
        0
    } else {
        1
    })
}

/// `--pin`: `off` → None; `auto` → the last CPU this process may run on
/// (`sys::affinity::default_cpu`); `N` → N, which must be one of those CPUs.
fn resolve_pin(arg: &str) -> anyhow::Result<Option<usize>> {
    const CONTEXT: &str = "--pin: cannot read this process's CPU affinity (sched_getaffinity)";
    match arg {
        "off" => return Ok(None),
        "auto" => return crate::sys::affinity::default_cpu().context(CONTEXT),
        _ => {}
    }
    let cpu: usize = arg
        .parse()
        .map_err(|_| anyhow::anyhow!("--pin {arg:?}: expected auto, off or a CPU number"))?;
    let allowed = crate::sys::affinity::allowed_cpus().context(CONTEXT)?;
    if !allowed.contains(&cpu) {
        let list: Vec<String> = allowed.iter().map(usize::to_string).collect();
        anyhow::bail!(
            "--pin {cpu}: this process may run only on CPUs {} (affinity mask / cpuset); pick one of them, or --pin off",
            list.join(",")
        );
    }
    Ok(Some(cpu))
}

/// A plain sentence when VM figures come from software emulation.
fn emulation_note(run: &isobench_reports::Run) -> Option<String> {
    let tcg = run.measurements.iter().any(|m| {
        m.labels.get("accel").is_some_and(|a| a == "tcg")
            && m.status == isobench_reports::Status::Ok
    });
    if !tcg {
        return None;
    }
    let why = run
        .host
        .notes
        .get("kvm_probe")
        .cloned()
        .unwrap_or_else(|| "KVM was not usable".into());
    Some(format!(
        "NOTE: the qemu figures (label accel=tcg) come from software emulation (TCG), not hardware \
         virtualization: a VM under KVM boots several times faster. KVM probe: {why}"
    ))
}

fn cmd_clean(a: CleanArgs) -> anyhow::Result<i32> {
    let dir = a.journal_dir.unwrap_or_else(crate::cleanup::journal_dir);
    let r = crate::cleanup::clean_leftovers(&dir)
        .with_context(|| format!("reading journals in {}", dir.display()))?;
    for (p, pid) in &r.active {
        println!("skipped {} (run {pid} is still alive)", p.display());
    }
    for x in &r.removed {
        println!("removed {x}");
    }
    for x in &r.failed {
        println!("FAILED  {x}");
    }
    let extra = crate::hooks::clean_extra();
    for x in &extra {
        println!("removed {x}");
    }
    if r.removed.is_empty() && r.failed.is_empty() && extra.is_empty() {
        println!(
            "nothing to clean ({} journals in {})",
            r.journals.len(),
            dir.display()
        );
    }
    Ok(if r.failed.is_empty() { 0 } else { 1 })
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

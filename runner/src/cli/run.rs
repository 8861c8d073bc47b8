//! `isobench run`: its arguments, their validation, and what is printed at the end.

use std::path::PathBuf;

use anyhow::Context;
use clap::builder::RangedU64ValueParser;
use clap::Args;
use isobench_reports::text::{summary, table};

use crate::measure::Order;
use crate::run::RunConfig;
use crate::scenario::{ScenarioKind, ScenarioOptions};
use crate::subject::SubjectKind;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenarios to run (comma list; default: all but density and kernels, which are asked
    /// for by name).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = ScenarioKind::default_run())]
    pub scenario: Vec<ScenarioKind>,
    /// Subjects (comma list); default: every subject (for `kernels`: only the guest
    /// kernels, `qemu`; name others to run its bench on the host through them).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub subject: Vec<SubjectKind>,
    /// Fewer iterations: a first look, or CI.
    #[arg(long)]
    pub quick: bool,
    /// Measured iterations per case (1–10000000; overrides the scenario's default).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub iterations: Option<usize>,
    /// Warm-up iterations per case, discarded (0–1000000).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(0..=1_000_000))]
    pub warmup: Option<usize>,
    /// Order of cases within a round.
    #[arg(long, value_enum, default_value_t = Order::Shuffled)]
    pub order: Order,
    /// Seed of the shuffled order (recorded in the run file).
    #[arg(long, default_value_t = 0x150BE4C4)]
    pub seed: u64,
    /// Stop a scenario's rounds after this many seconds (0: no limit; at most 1000000).
    #[arg(long, default_value_t = 0.0, value_parser = parse_time_budget)]
    pub time_budget: f64,
    /// Output directory for the run JSON (and report).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Run JSON path (default: OUT/run-<timestamp>.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub options: ScenarioOptions,
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

/// Exit code for a run stopped by `signal`.
pub fn exit_code_for_signal(sig: &str) -> i32 {
    match sig {
        "SIGTERM" => 143,
        "SIGHUP" => 129,
        _ => 130,
    }
}

pub fn cmd_run(a: RunArgs) -> anyhow::Result<i32> {
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
    a.options.throttle.validate()?;
    if a.scenario.contains(&ScenarioKind::Density) {
        crate::scenario::density::preflight(&a.options.density, &subjects)?;
    }
    let mut options = a.options.clone();
    if a.scenario.contains(&ScenarioKind::Workload) {
        // Resolved (the run file records the sizes used) and checked before anything runs.
        use crate::scenario::workload::options::Limits;
        let resolved = options.workload.resolve(a.quick);
        let base = a.workdir.clone().unwrap_or_else(|| {
            std::env::var_os("ISOBENCH_WORKDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/tmp"))
        });
        let qemu = subjects.contains(&SubjectKind::Qemu);
        let file_mib = resolved.sizes.file_mib.unwrap_or(0);
        resolved.check(&Limits::of_host(&base, qemu, file_mib))?;
        options.workload = resolved;
    }
    options.clone.pin_cpu = resolve_pin(&options.clone.pin)?;
    if a.scenario.contains(&ScenarioKind::Kernels) {
        // Once each: a subject named twice would be two groups of one label.
        options.kernels.subjects = (a.subject.iter().enumerate())
            .filter(|(i, s)| !a.subject[..*i].contains(s))
            .map(|(_, s)| *s)
            .collect();
        // A kernel that is missing or untrusted is a usage error, found before anything runs.
        if options
            .kernels
            .subjects_or_default()
            .contains(&SubjectKind::Qemu)
        {
            options.kernels.resolved = crate::vm::guest_kernels::resolve(
                &options.kernels.guest_kernels,
                &crate::vm::kernel::fixture_dirs(),
            )?;
        }
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
        options,
        verbose: a.verbose,
        progress: !a.no_progress && std::io::stderr().is_terminal(),
        workdir: a.workdir.clone(),
    };
    crate::cli::history::check_run_history(a.history.as_deref())?;
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
        print!("{}", table::render(ms, table::FULL_TABLE_METRICS));
    } else {
        print!("{}", summary::render_run(&result.run));
        if result.write_error.is_none() {
            println!(
                "\nfull table: isobench report {} --table (or run with --full-table)",
                json.display()
            );
        }
    }
    if let Some(note) = emulation_note(&result.run) {
        println!("\n{note}");
    }
    let spent = isobench_reports::text::time_spent::render(&result.run.time_spent);
    if !spent.is_empty() {
        print!("\n{spent}");
    }
    if let Some(e) = &result.write_error {
        for f in &result.cleanup_failures {
            eprintln!("isobench: cleanup failed: {f}");
        }
        eprintln!("isobench: {e}: the results above are not (all) in it");
        return Ok(1);
    }
    crate::cli::report::after_run(&result.run, &json);
    crate::cli::history::record_history_after_run(&result.run, a.history.as_deref());
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

/// `--time-budget`: finite seconds, 0 (no limit) to 1000000.
fn parse_time_budget(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1_000_000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: expected seconds from 0 (no limit) to 1000000"
        )),
    }
}

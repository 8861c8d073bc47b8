//! `kernels`: the same in-guest microbenchmarks and the same boot under several guest
//! kernels, so kernel versions (or a developer's own build) can be compared without
//! rebooting the host.
//!
//! Method (subject `qemu`):
//! * Each kernel of `--guest-kernels` (`vm::guest_kernels`) boots the probe's initramfs in
//!   QEMU exactly as the `qemu` subject does (`subject::qemu::VmInstance`, first machine
//!   type, `-nic` absent: `-nodefaults` gives the guest no network device at all), with
//!   the probe in `bench` mode (fixtures/probe/src/modes/bench.rs). The accelerator is
//!   KVM when one bounded probe boot under KVM reaches the ready marker (`vm::kvm`), else
//!   TCG; every measurement carries `accel` and `machine`.
//! * Boots are interleaved across kernels: every round boots each kernel once, in the
//!   plan's (seeded, shuffled) order; `--quick` gives 3 measured boots per kernel after one
//!   discarded warm-up round, so every figure has replicates. A kernel named twice is two
//!   groups (`NAME#1`, `NAME#2`) booted alternately: the A/A check of the comparison.
//! * Case `boot`: the host-side timer points of the `qemu` subject (`ready`: t0 → the
//!   probe's ISOBENCH-READY on the console, `total`: t0 → QEMU reaped, and its phases
//!   `vmm_start`, `firmware`, `kernel_boot`, `run`, `poweroff`, `*_at`), one value per boot.
//! * The bench cases (`none` … `all` with `semantics=vm|fork`, unshare/setns per type,
//!   `vfork_exec`, `syscall`/getppid, `fault`/first_touch, `pipe`/round_trip): timed by
//!   the guest's own CLOCK_MONOTONIC, `--kernel-bench-rounds` values per boot, all boots'
//!   values of a kernel pooled in boot order.
//! * Every measurement is labelled `guest_kernel` = `<name> <uname -r> <package version>`
//!   (the release as the guest reported it). `isobench compare RUN.json --by guest_kernel`
//!   compares the kernels, the first being the base.
//! * A result line that fails its checksum or its counts (`measure::bench_lines`) is
//!   never read as a number: the measurement it claims is `failed` with the reason, and
//!   output that lost lines or its end line fails case `bench`, metric `output`.
//! * Under TCG the guest's timings include QEMU's binary translation: differences between
//!   kernels under the same accelerator are code-path differences, not hardware costs. The
//!   run says so on stderr and in every measurement's remark; a KVM host gives real figures.
//!
//! Every boot is bounded by the VM boot timeout (QEMU is killed at it, and on Ctrl-C);
//! the initramfs is journalled and removed at the end.

pub mod options;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::{Measurement, Status};

use super::{Ctx, Outcome};
use crate::measure::bench_lines;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::subject::qemu::VmInstance;
use crate::subject::{Instance, SubjectError};
use crate::vm::cmdline::{Accel, BootConfig};
use crate::vm::guest_kernels::GuestKernel;

/// `(warm-up rounds, measured rounds)`: a round boots every kernel once.
pub const PLAN: [(usize, usize); 2] = [(1, 3), (1, 10)];

/// The scenario boots its own VMs; the run's subjects are not launched.
pub const LAUNCHES_SUBJECTS: bool = false;

const SUBJECT: &str = "qemu";

/// Consecutive failed boots after which a kernel is given up for this run.
const MAX_CONSECUTIVE_FAILURES: usize = 2;

/// Bench rounds per boot with `--quick` and without.
const QUICK_BENCH_ROUNDS: u64 = 8;
const FULL_BENCH_ROUNDS: u64 = 20;

/// What the output says about TCG figures.
pub const TCG_CAVEAT: &str = "accel=tcg: the guest runs under QEMU's binary translator, so \
differences between kernels show code-path differences, not hardware costs; a KVM host gives real figures";

type Key = (String, String, BTreeMap<String, String>);

/// One kernel group (a kernel named twice is two groups).
struct Group {
    name: String,
    kernel: GuestKernel,
    release: Option<String>,
    keys: Vec<Key>,
    values: BTreeMap<Key, Vec<f64>>,
    units: BTreeMap<Key, &'static str>,
    /// Measurements that must not be reported as numbers, with why.
    failed: BTreeMap<Key, String>,
    skipped: BTreeMap<Key, String>,
    consecutive_failures: usize,
    boots_ok: usize,
    given_up: Option<String>,
}

impl Group {
    fn push(&mut self, key: Key, unit: &'static str, v: &[f64]) {
        if !self.values.contains_key(&key) {
            self.keys.push(key.clone());
            self.units.insert(key.clone(), unit);
        }
        self.values.entry(key).or_default().extend_from_slice(v);
    }

    fn fail(&mut self, key: Key, why: String) {
        let e = self.failed.entry(key).or_default();
        if e.is_empty() {
            *e = why;
        }
    }

    /// `guest_kernel`: name, the release the guest reported, the package's version.
    fn label(&self) -> String {
        let version = self
            .kernel
            .package
            .split_whitespace()
            .nth(1)
            .unwrap_or(&self.kernel.package);
        let release = self.release.as_deref().unwrap_or("release-unknown");
        let short = if self.kernel.name.contains('/') {
            std::path::Path::new(&self.kernel.name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.kernel.name.clone())
        } else {
            self.name.clone()
        };
        if self.kernel.name.contains('/') {
            let suffix = self.name.find('#').map(|i| &self.name[i..]).unwrap_or("");
            format!("{short}{suffix} {release} (path)")
        } else {
            format!("{short} {release} {version}")
        }
    }
}

/// Group names: the entry, suffixed `#1`, `#2`, ... when it is named more than once.
pub fn group_names(kernels: &[GuestKernel]) -> Vec<String> {
    kernels
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let total = kernels.iter().filter(|x| x.name == k.name).count();
            if total > 1 {
                let nth = kernels[..=i].iter().filter(|x| x.name == k.name).count();
                format!("{}#{nth}", k.name)
            } else {
                k.name.clone()
            }
        })
        .collect()
}

pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let started = Instant::now();
    let outcome = run_untimed(ctx);
    ctx.ledger.add(
        SUBJECT,
        crate::measure::ledger::Spent::Measure,
        started.elapsed(),
    );
    outcome
}

fn fail_all(col: &mut Collector, status: Status, why: &str) -> Outcome {
    col.problem(SUBJECT, "boot", "ready", status, why);
    Outcome {
        measurements: col.finish(),
        interrupted: None,
    }
}

fn run_untimed(ctx: &Ctx<'_>) -> Outcome {
    let started = Instant::now();
    let mut col = Collector::new("kernels");
    let kernels = if ctx.options.kernels.resolved.is_empty() {
        match crate::vm::guest_kernels::resolve(
            &ctx.options.kernels.guest_kernels,
            &crate::vm::kernel::fixture_dirs(),
        ) {
            Ok(k) => k,
            Err(e) => return fail_all(&mut col, Status::Skipped, &e.to_string()),
        }
    } else {
        ctx.options.kernels.resolved.clone()
    };
    let Some(info) = crate::vm::qemu_info() else {
        return fail_all(
            &mut col,
            Status::Skipped,
            &format!(
                "{} is not installed; fix: apt-get install qemu-system-x86",
                crate::vm::QEMU
            ),
        );
    };
    let Some(machine) = info.machines.first().cloned() else {
        return fail_all(
            &mut col,
            Status::Skipped,
            "QEMU has none of the machine types pc, microvm",
        );
    };
    let (initramfs, _initramfs_guard) =
        match crate::vm::write_initramfs(ctx.env, "kernels.initramfs") {
            Ok(x) => x,
            Err(e) => return fail_all(&mut col, Status::Failed, &e.to_string()),
        };
    let mut base = crate::vm::boot_config(info, &kernels[0].path, &initramfs, &machine, Accel::Tcg);
    base.accel = crate::vm::kvm::status(&base, &ctx.env.cleanup, ctx.env.timeouts.vm_boot).accel();
    if base.accel == Accel::Tcg {
        eprintln!("kernels: {TCG_CAVEAT}");
    }
    let names = group_names(&kernels);
    let mut groups: Vec<Group> = kernels
        .iter()
        .zip(&names)
        .map(|(k, n)| Group {
            name: n.clone(),
            kernel: k.clone(),
            release: None,
            keys: Vec::new(),
            values: BTreeMap::new(),
            units: BTreeMap::new(),
            failed: BTreeMap::new(),
            skipped: BTreeMap::new(),
            consecutive_failures: 0,
            boots_ok: 0,
            given_up: None,
        })
        .collect();
    let opts = &ctx.options.kernels;
    let rounds = opts.kernel_bench_rounds.unwrap_or(if ctx.quick {
        QUICK_BENCH_ROUNDS
    } else {
        FULL_BENCH_ROUNDS
    });
    let plan = &ctx.plan;
    ctx.progress.start(
        "kernels",
        ((plan.warmup + plan.iterations) * groups.len()) as u64,
    );
    let mut interrupted = None;
    let mut boot_no = 0u64;
    'rounds: for round in 0..plan.warmup + plan.iterations {
        let warm = round < plan.warmup;
        for i in plan.round_order(groups.len(), round) {
            if let Some(sig) = crate::sys::signals::interrupted() {
                interrupted = Some(crate::sys::signals::name(sig));
                break 'rounds;
            }
            ctx.progress.inc(1);
            let g = &mut groups[i];
            if g.given_up.is_some() {
                continue;
            }
            boot_no += 1;
            let mode = ProbeMode::Bench {
                rounds,
                seed: plan.seed ^ boot_no.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                groups: opts.kernel_bench_groups.clone(),
            };
            let cfg = BootConfig {
                kernel: g.kernel.path.clone(),
                probe_args: mode.args(),
                ..base.clone()
            };
            if ctx.env.verbose {
                eprintln!("kernels: {} boot {}: {}", g.name, round + 1, cfg.describe());
            }
            match boot_once(ctx, &cfg) {
                Ok(b) => {
                    g.consecutive_failures = 0;
                    if !warm {
                        record(g, &b, round + 1);
                    }
                }
                Err(e) if e.is_interrupt() => {
                    interrupted = Some(crate::sys::signals::interrupted_name());
                    break 'rounds;
                }
                Err(e) => {
                    g.consecutive_failures += 1;
                    let why = format!("boot {} of {} failed: {e}", round + 1, g.name);
                    eprintln!("kernels: {why}");
                    let key = (String::from("boot"), "ready".to_string(), BTreeMap::new());
                    g.fail(key.clone(), why.clone());
                    if g.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                        g.given_up = Some(why);
                        if let Some(first) = g.failed.get_mut(&key) {
                            first.push_str(&format!(
                                "; given up after {MAX_CONSECUTIVE_FAILURES} failed boots in a row ({} measured)",
                                g.boots_ok
                            ));
                        }
                    }
                }
            }
        }
        if !warm && ctx.over_budget(started) {
            break;
        }
    }
    ctx.progress.finish();
    let mut measurements = finish(&groups, base.accel, &machine);
    if base.accel == Accel::Tcg {
        for m in measurements.iter_mut().filter(|m| m.status == Status::Ok) {
            m.reason = Some(match m.reason.take() {
                Some(r) => format!("{r}; {TCG_CAVEAT}"),
                None => TCG_CAVEAT.to_string(),
            });
        }
    }
    Outcome {
        measurements,
        interrupted,
    }
}

/// What one boot gave.
struct Booted {
    phases: Vec<(String, Duration)>,
    ready: Duration,
    total: Duration,
    output: String,
}

fn boot_once(ctx: &Ctx<'_>, cfg: &BootConfig) -> Result<Booted, SubjectError> {
    let mut inst = VmInstance::start(cfg, ctx.env)?;
    let t0 = inst.boot().t0;
    let r = (|| {
        let ready = inst.wait_ready(Instant::now() + ctx.env.timeouts.vm_boot)?;
        let exit = inst.wait_exit(Instant::now() + ctx.env.timeouts.vm_boot)?;
        Ok::<_, SubjectError>((ready, exit))
    })();
    let _ = inst.teardown();
    let (ready, exit) = r?;
    Ok(Booted {
        phases: inst.phases(),
        ready: ready.saturating_duration_since(t0),
        total: exit
            .at
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(t0),
        output: exit.output,
    })
}

/// Add one measured boot's values to its group; rejected lines fail what they claim.
fn record(g: &mut Group, b: &Booted, boot: usize) {
    g.boots_ok += 1;
    let none = BTreeMap::new();
    let key =
        |c: &str, m: &str, l: &BTreeMap<String, String>| (c.to_string(), m.to_string(), l.clone());
    g.push(
        key("boot", "ready", &none),
        "ns",
        &[b.ready.as_nanos() as f64],
    );
    g.push(
        key("boot", "total", &none),
        "ns",
        &[b.total.as_nanos() as f64],
    );
    for (name, d) in &b.phases {
        g.push(key("boot", name, &none), "ns", &[d.as_nanos() as f64]);
    }
    let out = bench_lines::parse(&b.output);
    match (&g.release, &out.release) {
        (None, Some(r)) => g.release = Some(r.clone()),
        (Some(a), Some(r)) if a != r => g.fail(
            key("bench", "output", &none),
            format!("boot {boot} reported release {r}, earlier boots {a}"),
        ),
        _ => {}
    }
    for r in &out.results {
        g.push(key(&r.case, &r.metric, &r.labels), r.unit, &r.values);
    }
    for p in &out.problems {
        let k = key(&p.case, &p.metric, &p.labels);
        let why = format!("boot {boot}: {}", p.reason);
        if p.failed {
            g.fail(k, why);
        } else {
            g.skipped.entry(k).or_insert(why);
        }
    }
    for r in &out.rejected {
        let why = format!("boot {boot}: result line {} rejected: {}", r.line, r.why);
        match &r.claims {
            Some((c, m, l)) => g.fail(key(c, m, l), why),
            None => g.fail(key("bench", "output", &none), why),
        }
    }
    if let Some(why) = &out.incomplete {
        g.fail(key("bench", "output", &none), format!("boot {boot}: {why}"));
    }
}

/// Every group's measurements, labelled, group after group in the order of
/// `--guest-kernels` (`compare --by guest_kernel` takes the first group as its base).
fn finish(groups: &[Group], accel: Accel, machine: &str) -> Vec<Measurement> {
    let mut cases = vec!["boot", "none"];
    cases.extend(crate::sys::ns::ALL.iter().map(|n| n.name));
    cases.extend(["all", "vfork_exec", "syscall", "fault", "pipe", "bench"]);
    let mut all = Vec::new();
    for g in groups {
        let mut col = Collector::new("kernels");
        col.set_order(&[SUBJECT], &cases);
        let col = &mut col;
        let labels_of = |l: &BTreeMap<String, String>| {
            let mut l = l.clone();
            l.insert("guest_kernel".into(), g.label());
            l.insert("accel".into(), accel.name().into());
            l.insert("machine".into(), machine.into());
            l
        };
        for k in &g.keys {
            if g.failed.contains_key(k) {
                continue;
            }
            let unit = g.units.get(k).copied().unwrap_or("ns");
            for v in &g.values[k] {
                col.add_value(SUBJECT, &k.0, &k.1, &labels_of(&k.2), unit, *v);
            }
        }
        for (k, why) in &g.failed {
            col.problem_labeled(SUBJECT, &k.0, &k.1, &labels_of(&k.2), Status::Failed, why);
        }
        for (k, why) in &g.skipped {
            if !g.values.contains_key(k) {
                col.problem_labeled(SUBJECT, &k.0, &k.1, &labels_of(&k.2), Status::Skipped, why);
            }
        }
        all.extend(col.finish());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str) -> GuestKernel {
        GuestKernel {
            name: name.into(),
            path: "/k".into(),
            package: "linux-image-6.1.0-57-cloud-amd64 6.1.192-3".into(),
        }
    }

    #[test]
    fn a_kernel_named_twice_is_two_groups() {
        let names = group_names(&[k("cloud-57"), k("rt-57"), k("cloud-57")]);
        assert_eq!(names, ["cloud-57#1", "rt-57", "cloud-57#2"]);
    }

    #[test]
    fn a_garbled_line_fails_its_measurement_and_keeps_the_rest() {
        let line = |t: &str| format!("{t} {:08x}\n", bench_lines::fnv1a32(t.as_bytes()));
        let good = [
            line("U 6.1.0-57-cloud-amd64"),
            line("B none total ns semantics=fork 2 100,200"),
            line("B pipe round_trip ns - 2 10,20"),
            line("E 3"),
        ]
        .concat();
        let mut g = Group {
            name: "cloud-57".into(),
            kernel: k("cloud-57"),
            release: None,
            keys: Vec::new(),
            values: BTreeMap::new(),
            units: BTreeMap::new(),
            failed: BTreeMap::new(),
            skipped: BTreeMap::new(),
            consecutive_failures: 0,
            boots_ok: 0,
            given_up: None,
        };
        let boot = |output: String| Booted {
            phases: vec![("kernel_boot".into(), Duration::from_millis(900))],
            ready: Duration::from_secs(2),
            total: Duration::from_secs(3),
            output,
        };
        record(&mut g, &boot(good.clone()), 1);
        record(&mut g, &boot(good.replace("10,20", "10,29")), 2);
        assert_eq!(g.label(), "cloud-57 6.1.0-57-cloud-amd64 6.1.192-3");
        let ms = finish(std::slice::from_ref(&g), Accel::Tcg, "pc");
        let find = |case: &str, metric: &str| {
            ms.iter()
                .find(|m| m.case == case && m.metric == metric)
                .unwrap_or_else(|| panic!("{case}/{metric} missing"))
        };
        let clone = find("none", "total");
        assert_eq!(clone.status, Status::Ok);
        assert_eq!(clone.samples, vec![100.0, 200.0, 100.0, 200.0]);
        assert_eq!(clone.labels["semantics"], "fork");
        assert_eq!(clone.labels["guest_kernel"], g.label());
        let pipe = find("pipe", "round_trip");
        assert_eq!(pipe.status, Status::Failed);
        assert!(
            pipe.reason
                .as_deref()
                .unwrap_or("")
                .contains("boot 2: result line 3 rejected"),
            "{:?}",
            pipe.reason
        );
        assert_eq!(find("bench", "output").status, Status::Failed);
        assert_eq!(find("boot", "kernel_boot").samples.len(), 2);
    }
}

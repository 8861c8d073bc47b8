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
//!   plan's (seeded, shuffled) order; `--quick` gives 5 measured boots per kernel after one
//!   discarded warm-up round, so every figure has replicates (see [`PLAN`]). A kernel named twice is two
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
//! * **Host groups** (`--subject`): the same bench mode runs on the host's kernel through
//!   each other subject named (`process`: the probe as a plain process; `runc`, `crun`,
//!   ...: inside that container), interleaved with the boots in the same shuffled rounds,
//!   one launch per round. Their measurements carry the real subject and `guest_kernel` =
//!   `host <uname -r as the probe saw it> (<subject>)` (gVisor's runsc reports its own
//!   kernel's release), so `compare --by guest_kernel` sets them beside the guests (the
//!   subject and `accel`/`machine` describe whole groups there: `compare::by_label`).
//!   What a subject's privileges do not allow (new namespaces without CAP_SYS_ADMIN or
//!   under a seccomp filter) the probe prints as a skipped line with the reason, and the
//!   measurement is `skipped` with it. `qemu` in `--subject` is the guest kernels;
//!   without `--subject` only they run (`options::KernelsOptions::subjects`).
//!
//! * Host groups run pinned like the `clone` scenario (`--pin`, default the last allowed
//!   CPU; remark [`super::pin_remark`]): the subject's processes inherit the
//!   harness thread's mask, so the probe and the children it clones share a CPU.
//! * Stability (README, kernels: "Stability across runs"): QEMU is left unpinned and
//!   THP as the host has it, on purpose. Pinning QEMU to one host CPU made every clone
//!   case ~7 % slower (its vCPU and main-loop threads share the core) and agreed no
//!   better run to run; disabling THP for QEMU changed nothing measurable (0.998–1.021×);
//!   the probe's two discarded rounds already absorb the empty translation cache of each
//!   fresh QEMU (no trend across the measured rounds). A whole run still moves by up to
//!   ~10 % with the host's state, which under TCG is in every guest instruction; kernels
//!   booted interleaved in one run share it.
//!
//! Every boot is bounded by the VM boot timeout (QEMU is killed at it, and on Ctrl-C),
//! every host launch by the ready and exit timeouts (then killed and torn down); the
//! initramfs is journalled and removed at the end.

pub mod options;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::{Measurement, Status};

use super::{Ctx, Outcome};
use crate::measure::bench_lines;
use crate::measure::ledger::Spent;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::subject::qemu::VmInstance;
use crate::subject::{Instance, Subject, SubjectError, SubjectKind};
use crate::vm::cmdline::{Accel, BootConfig};
use crate::vm::guest_kernels::GuestKernel;

/// `(warm-up rounds, measured rounds)`: a round boots every kernel once. Quick runs boot
/// each kernel 5 times (with 20 bench rounds each): with 3 boots 7 of 9 consecutive A/A
/// runs agreed within 10 % in every clone case, with 5 boots 7 of 7 (a two-group A/A
/// 30 s → 48 s on the 2-core TCG host).
pub const PLAN: [(usize, usize); 2] = [(1, 5), (1, 10)];

/// The scenario boots its own VMs (the `qemu` subject's KVM probe boot is not needed
/// for that: it probes KVM itself); host groups launch their subjects directly.
pub const LAUNCHES_SUBJECTS: bool = false;

const SUBJECT: &str = "qemu";

/// Consecutive failed boots after which a kernel is given up for this run.
const MAX_CONSECUTIVE_FAILURES: usize = 2;

/// Bench rounds per boot, with `--quick` too (quick runs have fewer boots, not fewer
/// rounds): a TCG fork-semantics clone has a long right tail (a quarter of the values
/// 1.2–3.5× the mode), so the p50 of 3 boots × 8 rounds sat on the tail's shoulder and
/// moved 10–19 % between consecutive runs in 2 of 3 pairs; 20 rounds cost ~1.5 s a boot.
const BENCH_ROUNDS: u64 = 20;

/// What the output says about TCG figures.
pub const TCG_CAVEAT: &str = "accel=tcg: the guest runs under QEMU's binary translator, so \
differences between kernels show code-path differences, not hardware costs; a KVM host gives real figures";

type Key = (String, String, BTreeMap<String, String>);

/// Where a group's bench runs.
enum Place {
    /// A guest kernel booted in QEMU.
    Guest(GuestKernel),
    /// The host's kernel, through a prepared subject (`subjects[subject]`), its first case.
    Host {
        kind: SubjectKind,
        subject: usize,
        case: String,
    },
}

/// One group: a guest kernel (named twice: two groups) or a host subject.
struct Group {
    name: String,
    place: Place,
    release: Option<String>,
    keys: Vec<Key>,
    values: BTreeMap<Key, Vec<f64>>,
    units: BTreeMap<Key, &'static str>,
    /// Measurements that must not be reported as numbers, with why.
    failed: BTreeMap<Key, String>,
    skipped: BTreeMap<Key, String>,
    /// Labels of every measurement besides `guest_kernel` (`accel`, `machine`; a host
    /// subject's own).
    labels: BTreeMap<String, String>,
    consecutive_failures: usize,
    launches_ok: usize,
    given_up: Option<String>,
}

impl Group {
    fn new(name: String, place: Place, labels: BTreeMap<String, String>) -> Group {
        Group {
            name,
            place,
            release: None,
            keys: Vec::new(),
            values: BTreeMap::new(),
            units: BTreeMap::new(),
            failed: BTreeMap::new(),
            skipped: BTreeMap::new(),
            labels,
            consecutive_failures: 0,
            launches_ok: 0,
            given_up: None,
        }
    }

    fn subject(&self) -> &'static str {
        match &self.place {
            Place::Guest(_) => SUBJECT,
            Place::Host { kind, .. } => kind.name(),
        }
    }

    /// What a launch of this group is called in messages: `boot`, `launch`.
    fn launch_word(&self) -> &'static str {
        match self.place {
            Place::Guest(_) => "boot",
            Place::Host { .. } => "launch",
        }
    }

    /// Where a failed launch is recorded: a guest's `boot`/`ready`, a host subject's
    /// `bench`/`output`.
    fn launch_key(&self) -> Key {
        let (c, m) = match self.place {
            Place::Guest(_) => ("boot", "ready"),
            Place::Host { .. } => ("bench", "output"),
        };
        (c.to_string(), m.to_string(), BTreeMap::new())
    }

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

    /// `guest_kernel`: for a guest its name, the release the guest reported and the
    /// package's version; for a host group `host <release> (<subject>)`.
    fn label(&self) -> String {
        let release = self.release.as_deref().unwrap_or("release-unknown");
        let kernel = match &self.place {
            Place::Guest(k) => k,
            Place::Host { kind, .. } => return format!("host {release} ({kind})"),
        };
        let version = kernel
            .package
            .split_whitespace()
            .nth(1)
            .unwrap_or(&kernel.package);
        let short = if kernel.name.contains('/') {
            std::path::Path::new(&kernel.name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| kernel.name.clone())
        } else {
            self.name.clone()
        };
        if kernel.name.contains('/') {
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

/// What the guest groups share: the initramfs (removed when this is dropped) and the boot
/// configuration every kernel's boot starts from.
struct Guests {
    base: BootConfig,
    _initramfs: crate::cleanup::Guard,
}

/// Resolve the kernels, check QEMU, write the initramfs and pick the accelerator; the
/// guest groups are appended to `groups`. `Err`: why no guest can boot (status, reason).
fn prepare_guests(ctx: &Ctx<'_>, groups: &mut Vec<Group>) -> Result<Guests, (Status, String)> {
    let kernels = if ctx.options.kernels.resolved.is_empty() {
        crate::vm::guest_kernels::resolve(
            &ctx.options.kernels.guest_kernels,
            &crate::vm::kernel::fixture_dirs(),
        )
        .map_err(|e| (Status::Skipped, e.to_string()))?
    } else {
        ctx.options.kernels.resolved.clone()
    };
    let info = crate::vm::qemu_info().ok_or_else(|| {
        (
            Status::Skipped,
            format!(
                "{} is not installed; fix: apt-get install qemu-system-x86",
                crate::vm::QEMU
            ),
        )
    })?;
    let machine = info.machines.first().cloned().ok_or_else(|| {
        (
            Status::Skipped,
            "QEMU has none of the machine types pc, microvm".to_string(),
        )
    })?;
    let (initramfs, guard) = crate::vm::write_initramfs(ctx.env, "kernels.initramfs")
        .map_err(|e| (Status::Failed, e.to_string()))?;
    let mut base = crate::vm::boot_config(info, &kernels[0].path, &initramfs, &machine, Accel::Tcg);
    base.accel = crate::vm::kvm::status(&base, &ctx.env.cleanup, ctx.env.timeouts.vm_boot).accel();
    if base.accel == Accel::Tcg {
        eprintln!("kernels: {TCG_CAVEAT}");
    }
    let labels = BTreeMap::from([
        ("accel".to_string(), base.accel.name().to_string()),
        ("machine".to_string(), machine.clone()),
    ]);
    for (k, n) in kernels.iter().zip(group_names(&kernels)) {
        groups.push(Group::new(n, Place::Guest(k.clone()), labels.clone()));
    }
    Ok(Guests {
        base,
        _initramfs: guard,
    })
}

pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let mut col = Collector::new("kernels");
    let mut groups: Vec<Group> = Vec::new();
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let opts = &ctx.options.kernels;
    let wanted = opts.subjects_or_default();
    let mut guests = None;
    if wanted.contains(&SubjectKind::Qemu) {
        let t = Instant::now();
        match prepare_guests(ctx, &mut groups) {
            Ok(g) => guests = Some(g),
            Err((status, why)) => col.problem(SUBJECT, "boot", "ready", status, &why),
        }
        ctx.ledger.add(SUBJECT, Spent::Prepare, t.elapsed());
    }
    for &kind in wanted.iter().filter(|k| **k != SubjectKind::Qemu) {
        match super::prepare_subject(ctx, "kernels", kind, &mut col, "bench", "output") {
            super::Prepared::Ready(s) => {
                let Some(case) = s.cases(ctx.env).into_iter().next() else {
                    subjects.push(s);
                    continue;
                };
                let labels = s.labels(&case);
                let place = Place::Host {
                    kind,
                    subject: subjects.len(),
                    case,
                };
                groups.push(Group::new(kind.name().to_string(), place, labels));
                subjects.push(s);
            }
            super::Prepared::Unusable => {}
            super::Prepared::Interrupted => {
                super::finish_subjects(ctx, &mut subjects);
                return Outcome {
                    measurements: col.finish(),
                    interrupted: Some(crate::sys::signals::interrupted_name()),
                };
            }
        }
    }
    let rounds = opts.kernel_bench_rounds.unwrap_or(BENCH_ROUNDS);
    let plan = &ctx.plan;
    ctx.progress.start(
        "kernels",
        ((plan.warmup + plan.iterations) * groups.len()) as u64,
    );
    let started = Instant::now();
    let mut interrupted = None;
    let mut boot_no = 0u64;
    let pin_cpu = ctx.options.clone.pin_cpu;
    // Whether every host launch ran pinned (then its measurements say so).
    let mut host_pinned = pin_cpu.is_some();
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
            let t = Instant::now();
            let result = match &g.place {
                Place::Guest(k) => {
                    // `guests` is set whenever a guest group exists.
                    let Some(guests) = guests.as_ref() else {
                        continue;
                    };
                    let cfg = BootConfig {
                        kernel: k.path.clone(),
                        probe_args: mode.args(),
                        ..guests.base.clone()
                    };
                    if ctx.env.verbose {
                        eprintln!("kernels: {} boot {}: {}", g.name, round + 1, cfg.describe());
                    }
                    boot_once(ctx, &cfg)
                }
                Place::Host { subject, case, .. } => {
                    // Pinned like the clone scenario (`--pin`): the subject's processes
                    // inherit the harness thread's mask, so the probe and its children
                    // share one CPU (unpinned, a fork-semantics clone on this 2-core VM
                    // took 87–112 µs against 46–48 µs pinned: the parent's wake-up from
                    // the other CPU).
                    let pinned = pin_cpu.and_then(|cpu| super::pin_or_warn(cpu, "kernels"));
                    host_pinned &= pinned.is_some();
                    let r = launch_once(subjects[*subject].as_mut(), ctx.env, case, &mode);
                    drop(pinned);
                    r
                }
            };
            ctx.ledger.add(g.subject(), Spent::Measure, t.elapsed());
            match result {
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
                    let why = format!(
                        "{} {} of {} failed: {e}",
                        g.launch_word(),
                        round + 1,
                        g.name
                    );
                    eprintln!("kernels: {why}");
                    let key = g.launch_key();
                    g.fail(key.clone(), why.clone());
                    if g.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                        g.given_up = Some(why);
                        let measured = g.launches_ok;
                        let word = g.launch_word();
                        if let Some(first) = g.failed.get_mut(&key) {
                            first.push_str(&format!(
                                "; given up after {MAX_CONSECUTIVE_FAILURES} failed {word}s in a row ({measured} measured)"
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
    super::finish_subjects(ctx, &mut subjects);
    let mut measurements = col.finish();
    measurements.extend(finish(&groups));
    if let (Some(cpu), true) = (pin_cpu, host_pinned) {
        for m in measurements
            .iter_mut()
            .filter(|m| m.status == Status::Ok && m.subject != SUBJECT)
        {
            m.reason = Some(super::pin_remark(cpu));
        }
    }
    if guests.as_ref().is_some_and(|g| g.base.accel == Accel::Tcg) {
        for m in measurements
            .iter_mut()
            .filter(|m| m.status == Status::Ok && m.subject == SUBJECT)
        {
            m.reason = Some(match m.reason.take() {
                Some(r) => format!("{r}; {TCG_CAVEAT}"),
                None => TCG_CAVEAT.to_string(),
            });
        }
    }
    drop(guests);
    Outcome {
        measurements,
        interrupted,
    }
}

/// What one boot or host launch gave: a boot's host-side timer points (none for a host
/// launch) and the probe's output.
struct Booted {
    phases: Vec<(String, Duration)>,
    ready: Option<Duration>,
    total: Option<Duration>,
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
        ready: Some(ready.saturating_duration_since(t0)),
        total: Some(
            exit.at
                .unwrap_or_else(Instant::now)
                .saturating_duration_since(t0),
        ),
        output: exit.output,
    })
}

/// One host launch of the probe's bench mode: ready within the ready timeout, the bench
/// within the exit timeout, then teardown (also when either fails).
fn launch_once(
    subject: &mut dyn Subject,
    env: &crate::workdir::Env,
    case: &str,
    mode: &ProbeMode,
) -> Result<Booted, SubjectError> {
    let output = super::launch_for_output(subject, env, case, mode, env.timeouts.exit)?.0;
    Ok(Booted {
        phases: Vec::new(),
        ready: None,
        total: None,
        output,
    })
}

/// Add one measured launch's values to its group; rejected lines fail what they claim.
fn record(g: &mut Group, b: &Booted, boot: usize) {
    g.launches_ok += 1;
    let none = BTreeMap::new();
    let word = g.launch_word();
    let key =
        |c: &str, m: &str, l: &BTreeMap<String, String>| (c.to_string(), m.to_string(), l.clone());
    for (metric, d) in [("ready", b.ready), ("total", b.total)] {
        if let Some(d) = d {
            g.push(key("boot", metric, &none), "ns", &[d.as_nanos() as f64]);
        }
    }
    for (name, d) in &b.phases {
        g.push(key("boot", name, &none), "ns", &[d.as_nanos() as f64]);
    }
    let out = bench_lines::parse(&b.output);
    match (&g.release, &out.release) {
        (None, Some(r)) => g.release = Some(r.clone()),
        (Some(a), Some(r)) if a != r => g.fail(
            key("bench", "output", &none),
            format!("{word} {boot} reported release {r}, earlier {word}s {a}"),
        ),
        _ => {}
    }
    for r in &out.results {
        g.push(key(&r.case, &r.metric, &r.labels), r.unit, &r.values);
    }
    for p in &out.problems {
        let k = key(&p.case, &p.metric, &p.labels);
        let why = format!("{word} {boot}: {}", p.reason);
        if p.failed {
            g.fail(k, why);
        } else {
            g.skipped.entry(k).or_insert(why);
        }
    }
    for r in &out.rejected {
        let why = format!("{word} {boot}: result line {} rejected: {}", r.line, r.why);
        match &r.claims {
            Some((c, m, l)) => g.fail(key(c, m, l), why),
            None => g.fail(key("bench", "output", &none), why),
        }
    }
    if let Some(why) = &out.incomplete {
        g.fail(
            key("bench", "output", &none),
            format!("{word} {boot}: {why}"),
        );
    }
}

/// Every group's measurements, labelled, group after group: the guests in the order of
/// `--guest-kernels` (`compare --by guest_kernel` takes the first group as its base),
/// then the host subjects in the order of `--subject`.
fn finish(groups: &[Group]) -> Vec<Measurement> {
    let mut cases = vec!["boot", "none"];
    cases.extend(crate::sys::ns::ALL.iter().map(|n| n.name));
    cases.extend(["all", "vfork_exec", "syscall", "fault", "pipe", "bench"]);
    let mut all = Vec::new();
    for g in groups {
        let subject = g.subject();
        let mut col = Collector::new("kernels");
        col.set_order(&[subject], &cases);
        let col = &mut col;
        let labels_of = |l: &BTreeMap<String, String>| {
            let mut l = l.clone();
            l.extend(g.labels.clone());
            l.insert("guest_kernel".into(), g.label());
            l
        };
        for k in &g.keys {
            if g.failed.contains_key(k) {
                continue;
            }
            let unit = g.units.get(k).copied().unwrap_or("ns");
            for v in &g.values[k] {
                col.add_value(subject, &k.0, &k.1, &labels_of(&k.2), unit, *v);
            }
        }
        for (k, why) in &g.failed {
            col.problem_labeled(subject, &k.0, &k.1, &labels_of(&k.2), Status::Failed, why);
        }
        for (k, why) in &g.skipped {
            if !g.values.contains_key(k) {
                col.problem_labeled(subject, &k.0, &k.1, &labels_of(&k.2), Status::Skipped, why);
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

    fn tcg_pc() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("accel".to_string(), "tcg".to_string()),
            ("machine".to_string(), "pc".to_string()),
        ])
    }

    fn line(t: &str) -> String {
        format!("{t} {:08x}\n", bench_lines::fnv1a32(t.as_bytes()))
    }

    #[test]
    fn a_host_group_is_labelled_by_release_and_subject_and_keeps_skips() {
        let place = Place::Host {
            kind: SubjectKind::Runc,
            subject: 0,
            case: "create-start".into(),
        };
        let mut g = Group::new("runc".into(), place, BTreeMap::new());
        let out = [
            line("U 6.18.0-1-amd64"),
            line("B none total ns semantics=fork 2 100,200"),
            line("S net unshare - unshare(net) failed: EPERM (errno 1): this process lacks CAP_SYS_ADMIN"),
            line("E 3"),
        ]
        .concat();
        let launch = |output: String| Booted {
            phases: Vec::new(),
            ready: None,
            total: None,
            output,
        };
        record(&mut g, &launch(out.clone()), 2);
        record(&mut g, &launch(out), 3);
        let ms = finish(std::slice::from_ref(&g));
        assert!(
            ms.iter().all(|m| m.subject == "runc" && m.case != "boot"),
            "{ms:?}"
        );
        assert!(ms.iter().all(|m| !m.labels.contains_key("accel")));
        let clone = ms.iter().find(|m| m.case == "none").expect("none");
        assert_eq!(clone.labels["guest_kernel"], "host 6.18.0-1-amd64 (runc)");
        assert_eq!(clone.samples, vec![100.0, 200.0, 100.0, 200.0]);
        let net = ms.iter().find(|m| m.case == "net").expect("net");
        assert_eq!(net.status, Status::Skipped);
        assert_eq!(net.labels["guest_kernel"], "host 6.18.0-1-amd64 (runc)");
        let why = net.reason.as_deref().unwrap_or("");
        assert!(
            why.starts_with("launch 2: unshare(net) failed: EPERM")
                && why.contains("CAP_SYS_ADMIN"),
            "{why}"
        );
        // A host subject's failed launch is `bench`/`output`, a guest's `boot`/`ready`.
        assert_eq!(g.launch_key().0, "bench");
        let guest = Group::new("k".into(), Place::Guest(k("cloud-57")), tcg_pc());
        assert_eq!(guest.launch_key().0, "boot");
    }

    #[test]
    fn without_subjects_only_the_guests_run() {
        let mut o = options::KernelsOptions::default();
        assert_eq!(o.subjects_or_default(), [SubjectKind::Qemu]);
        o.subjects = vec![SubjectKind::Process, SubjectKind::Crun];
        assert_eq!(
            o.subjects_or_default(),
            [SubjectKind::Process, SubjectKind::Crun]
        );
    }

    #[test]
    fn a_kernel_named_twice_is_two_groups() {
        let names = group_names(&[k("cloud-57"), k("rt-57"), k("cloud-57")]);
        assert_eq!(names, ["cloud-57#1", "rt-57", "cloud-57#2"]);
    }

    #[test]
    fn a_garbled_line_fails_its_measurement_and_keeps_the_rest() {
        let good = [
            line("U 6.1.0-57-cloud-amd64"),
            line("B none total ns semantics=fork 2 100,200"),
            line("B pipe round_trip ns - 2 10,20"),
            line("E 3"),
        ]
        .concat();
        let mut g = Group::new("cloud-57".into(), Place::Guest(k("cloud-57")), tcg_pc());
        let boot = |output: String| Booted {
            phases: vec![("kernel_boot".into(), Duration::from_millis(900))],
            ready: Some(Duration::from_secs(2)),
            total: Some(Duration::from_secs(3)),
            output,
        };
        record(&mut g, &boot(good.clone()), 1);
        record(&mut g, &boot(good.replace("10,20", "10,29")), 2);
        assert_eq!(g.label(), "cloud-57 6.1.0-57-cloud-amd64 6.1.192-3");
        let ms = finish(std::slice::from_ref(&g));
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

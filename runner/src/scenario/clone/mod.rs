//! `clone`: what each namespace type costs at creation, how that cost grows with
//! concurrency and with the size of the mount table, and unshare()/setns() per type.
//!
//! Method (subject `namespaces`):
//! * **Per flag** (cases `none`, `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`,
//!   `time`, `all`): clone3(CLONE_VM | flags) of a child that writes one byte to a pipe and
//!   exits (`sys::clone`). `t0` before clone3; `ready` when the byte is read; `total` when
//!   wait4 returns. `over_plain` is `total(case) − total(none)` of the same round (cases
//!   are interleaved, so the pair saw the same machine state).
//! * **Fork semantics** (same cases, label `semantics=fork`): clone3 without `CLONE_VM`,
//!   as a runtime creates its init, so the kernel copies the creator's memory map; the
//!   creator is the small static probe (`bench` mode), not the harness, so the figure does
//!   not depend on the harness's size (`fork_semantics.rs`). Witness:
//!   fixtures/reference/clone_loop.c `fork-interleaved` (glibc clone(fn, stack, flags |
//!   SIGCHLD) + waitpid), in fixtures/reference/compare.sh.
//! * **Teardown**: `total` includes the child's exit and the synchronous release of its
//!   namespaces. The kernel frees a network namespace asynchronously (cleanup_net runs in
//!   a workqueue after the last reference is dropped); that work is NOT in `total`. It
//!   competes for CPU with the next creations, so it shows in the sustained `throughput`
//!   of the concurrency sweep instead.
//! * **Concurrency** (label `concurrency`): N threads create in parallel, each its own
//!   child at a time; per-op `total` and the batch's `throughput` (ops/s, all threads).
//! * **Mount table** (label `mounts`): CLONE_NEWNS while the creating thread's mount
//!   namespace holds N extra tmpfs mounts. The thread unshares its own mount namespace
//!   (per-thread with unshare(CLONE_NEWNS)), makes `/` private so nothing propagates to
//!   the host, and mounts there; when the thread ends, the namespace and its mounts go.
//! * **Placement** (`isobench run --pin`, default `auto`: the last allowed CPU): the
//!   per-flag cases, unshare/setns and the mount sweep run with the creating thread pinned
//!   to one CPU, so every child (which inherits the mask) runs on it too. Unpinned, on a
//!   2-vCPU VM, each clone's total was bimodal (child on the creator's CPU ~12 µs, woken on
//!   the other, idle vCPU ~50 µs) and the p50 fell between the modes, moving 10–30 %
//!   between runs; pinned it is one mode. The `ok` measurements of those sections carry
//!   the remark [`super::pin_remark`]; the concurrency sweep is never pinned.
//! * **unshare / setns** (metrics `unshare`, `setns`): in a freshly forked single-threaded
//!   child (unshare(CLONE_NEWUSER) and setns of user/mnt/time need one), the child reads
//!   CLOCK_MONOTONIC around the one syscall and writes the difference to a pipe.

use std::time::Instant;

use isobench_reports::model::Status;

mod concurrency;
mod fork_semantics;
mod mounts;
pub mod options;
mod per_flag;
mod unshare_setns;

use super::{Ctx, Outcome};
use crate::measure::clone_timer::Creator;
use crate::measure::Collector;
use crate::sys;
use crate::sys::ns::{self};

pub(super) const SUBJECT: &str = "namespaces";

/// The per-flag cases: none, each type, all.
pub fn flag_cases() -> Vec<(String, u64)> {
    let mut v = vec![("none".to_string(), 0u64)];
    v.extend(ns::ALL.iter().map(|n| (n.name.to_string(), n.flag)));
    v.push(("all".to_string(), ns::all_flags()));
    v
}

/// Why a flag set cannot be cloned here, by trying once (a capability probe).
fn probe_flags(creator: &mut Creator, flags: u64, is_root: bool) -> Result<(), String> {
    match creator.once(flags) {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.raw_os_error() {
            Some(libc::EPERM) if !is_root => {
                format!(
                    "clone3({}) needs CAP_SYS_ADMIN: run as root",
                    ns::case_name(flags)
                )
            }
            Some(libc::EPERM) => format!(
                "clone3({}) was refused (EPERM): a seccomp filter or LSM forbids it here",
                ns::case_name(flags)
            ),
            Some(libc::EINVAL) if flags & ns::CLONE_NEWTIME != 0 => {
                "time namespaces need Linux 5.6+ (CONFIG_TIME_NS); clone3 refused CLONE_NEWTIME"
                    .to_string()
            }
            Some(libc::ENOSYS) => {
                "clone3 is not available: needs Linux 5.3+ (and x86_64 or aarch64)".to_string()
            }
            Some(libc::ENOSPC) | Some(libc::EUSERS) => {
                format!("namespace limit reached ({e}): raise /proc/sys/user/max_*_namespaces")
            }
            _ => format!("clone3({}) failed: {e}", ns::case_name(flags)),
        }),
    }
}

/// `(warmup, iterations)` with `--quick` and without.
pub const PLAN: [(usize, usize); 2] = [(20, 200), (50, 1000)];

/// Whether this scenario launches the run's subjects (`Subject::probe_host` runs then).
pub const LAUNCHES_SUBJECTS: bool = false;

/// Run the clone scenario (its subject is always `namespaces`).
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

fn run_untimed(ctx: &Ctx<'_>) -> Outcome {
    let mut col = Collector::new("clone");
    col.set_order(
        &["harness", SUBJECT],
        &[
            "empty", "none", "pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time", "all",
        ],
    );
    if !cfg!(target_arch = "x86_64") {
        col.problem(
            SUBJECT,
            "all",
            "total",
            Status::Skipped,
            "the clone3 child trampoline is implemented for x86_64 only",
        );
        return Outcome {
            measurements: col.finish(),
            interrupted: None,
        };
    }
    let mut creator = match Creator::new() {
        Ok(c) => c,
        Err(e) => {
            col.problem(
                SUBJECT,
                "all",
                "total",
                Status::Failed,
                &format!("cannot create a pipe: {e}"),
            );
            return Outcome {
                measurements: col.finish(),
                interrupted: None,
            };
        }
    };

    // Capability probe per case.
    let mut cases: Vec<(String, u64)> = Vec::new();
    for (name, flags) in flag_cases() {
        match probe_flags(&mut creator, flags, ctx.env.is_root) {
            Ok(()) => cases.push((name, flags)),
            Err(reason) => col.problem(SUBJECT, &name, "total", Status::Skipped, &reason),
        }
    }
    let usable = |f: u64| cases.iter().any(|(_, x)| *x == f);

    let plan = &ctx.plan;
    let conc_cases: Vec<(&str, u64)> = [
        ("net", libc::CLONE_NEWNET as u64),
        ("mnt", libc::CLONE_NEWNS as u64),
        ("all", ns::all_flags()),
    ]
    .into_iter()
    .filter(|(_, f)| usable(*f))
    .collect();
    let conc_rounds = (plan.iterations / 40).clamp(3, 25);
    let ops_per_thread = (plan.iterations / 20).clamp(5, 50);
    let mount_levels: Vec<usize> = if usable(libc::CLONE_NEWNS as u64) {
        ctx.options.clone.mounts.clone()
    } else {
        Vec::new()
    };
    let mount_iters = (plan.iterations / 2).max(10);
    let ns_iters = (plan.iterations / 4).max(10);
    let total_steps = (plan.warmup + plan.iterations) * (cases.len() + 1)
        + conc_rounds * conc_cases.len() * ctx.options.clone.concurrency.len()
        + (plan.warmup + mount_iters) * mount_levels.len()
        + ns_iters * 2 * ns::ALL.len();
    ctx.progress.start("clone", total_steps as u64);
    let started = Instant::now();
    let pin_cpu = ctx.options.clone.pin_cpu;
    // When pinning fails, the remark below is not set.
    let pin = || pin_cpu.and_then(|cpu| super::pin_or_warn(cpu, "clone"));
    let mut pinned_all = pin_cpu.is_some();

    let interrupted = (|| -> Option<&'static str> {
        let pinned = pin();
        pinned_all &= pinned.is_some();
        // 0. unshare / setns per type, first: these are 2–50 µs syscalls, and after the
        // sections below (thousands of network namespaces whose teardown the kernel runs
        // asynchronously in cleanup_net, for seconds after the last one was created) the
        // backlog competed with them and made them read 10–30 % higher.
        if let Some(sig) = unshare_setns::unshare_setns(ctx, ns_iters, &mut col) {
            return Some(sig);
        }

        // 1. Per flag, interleaved.
        if let Some(sig) = per_flag::measure(ctx, &mut creator, &cases, &mut col, started) {
            return Some(sig);
        }
        // 1b. The same cases with fork semantics, in the small static probe (same CPU).
        fork_semantics::measure(ctx, plan.iterations, &mut col);
        if let Some(sig) = sys::signals::interrupted() {
            return Some(sys::signals::name(sig));
        }

        // 2. Concurrency sweep: never pinned, its threads are meant to spread over CPUs.
        drop(pinned);
        if let Some(sig) =
            concurrency::sweep(ctx, &conc_cases, conc_rounds, ops_per_thread, &mut col)
        {
            return Some(sig);
        }

        // 3. Mount-table sweep (its worker threads inherit the pin; it ends when the guard
        // drops at the end of this block).
        if !mount_levels.is_empty() {
            let pinned = pin();
            pinned_all &= pinned.is_some();
            match mounts::mount_sweep(ctx, &mount_levels, mount_iters, &mut col) {
                Ok(None) => {}
                Ok(Some(sig)) => return Some(sig),
                Err(e) => col.problem(
                    SUBJECT,
                    "mnt",
                    "total",
                    Status::Failed,
                    &format!("mount-table sweep: {e}"),
                ),
            }
        }
        None
    })();
    ctx.progress.finish();
    let mut measurements = col.finish();
    if let (Some(cpu), true) = (pin_cpu, pinned_all) {
        for m in measurements.iter_mut().filter(|m| {
            m.status == Status::Ok && !m.labels.contains_key("concurrency") && m.reason.is_none()
        }) {
            m.reason = Some(super::pin_remark(cpu));
        }
    }
    Outcome {
        measurements,
        interrupted,
    }
}

//! `clone`: what each namespace type costs at creation, how that cost grows with
//! concurrency and with the size of the mount table, and unshare()/setns() per type.
//!
//! Method (subject `namespaces`):
//! * **Per flag** (cases `none`, `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`,
//!   `time`, `all`): clone3(CLONE_VM | flags) of a child that writes one byte to a pipe and
//!   exits (`sys::clone`). `t0` before clone3; `ready` when the byte is read; `total` when
//!   wait4 returns. `over_plain` is `total(case) − total(none)` of the same round (cases
//!   are interleaved, so the pair saw the same machine state).
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
//!   the remark [`pin_remark`]; the concurrency sweep is never pinned.
//! * **unshare / setns** (metrics `unshare`, `setns`): in a freshly forked single-threaded
//!   child (unshare(CLONE_NEWUSER) and setns of user/mnt/time need one), the child reads
//!   CLOCK_MONOTONIC around the one syscall and writes the difference to a pipe.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use isobench_reports::model::Status;

use super::{Ctx, Outcome};
use crate::measure::Collector;
use crate::sys;
use crate::sys::clone::ChildStack;
use crate::sys::ns::{self, NsType};

const SUBJECT: &str = "namespaces";
/// Deadline for one child's ready byte.
const CHILD_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// One creator: its own pipe and child stack, reused for every child.
pub struct Creator {
    rd: OwnedFd,
    wr: OwnedFd,
    stack: ChildStack,
}

impl std::fmt::Debug for Creator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Creator")
    }
}

/// Timings of one clone.
#[derive(Debug, Clone, Copy)]
pub struct CloneTiming {
    pub ready: Duration,
    pub total: Duration,
}

impl Creator {
    pub fn new() -> std::io::Result<Creator> {
        let (rd, wr) = sys::pipe()?;
        Ok(Creator {
            rd,
            wr,
            stack: ChildStack::new(),
        })
    }

    /// Create one child with `flags`, wait for its byte, reap it.
    ///
    /// After the byte arrives the child has only exit(2) left (it runs no other code), so
    /// the blocking wait4 that follows cannot hang; the wait for the byte has a deadline.
    pub fn once(&mut self, flags: u64) -> std::io::Result<CloneTiming> {
        let t0 = Instant::now();
        let pid = sys::clone::clone_ready_exit(flags, &mut self.stack, self.wr.as_raw_fd())?;
        let ready = match crate::measure::wait_byte(self.rd.as_fd(), t0 + CHILD_READY_TIMEOUT) {
            Ok(t) => t,
            Err(e) => {
                let _ = sys::process::kill(pid, libc::SIGKILL);
                let _ = sys::process::wait4(pid, true);
                return Err(std::io::Error::other(e.to_string()));
            }
        };
        loop {
            match sys::process::wait4(pid, true) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let t_exit = Instant::now();
        Ok(CloneTiming {
            ready: ready - t0,
            total: t_exit - t0,
        })
    }
}

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

pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let mut col = Collector::new("clone");
    col.set_order(
        &["harness", SUBJECT],
        &[
            "empty", "none", "pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time", "all",
        ],
    );
    let none = BTreeMap::new();
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
        ctx.options.mounts.clone()
    } else {
        Vec::new()
    };
    let mount_iters = (plan.iterations / 2).max(10);
    let ns_iters = (plan.iterations / 4).max(10);
    let total_steps = (plan.warmup + plan.iterations) * (cases.len() + 1)
        + conc_rounds * conc_cases.len() * ctx.options.concurrency.len()
        + (plan.warmup + mount_iters) * mount_levels.len()
        + ns_iters * 2 * ns::ALL.len();
    ctx.progress.start("clone", total_steps as u64);
    let started = Instant::now();
    let pin_cpu = ctx.options.pin_cpu;
    // When pinning fails, the remark below is not set.
    let pin = || pin_cpu.and_then(|cpu| pin_or_warn(cpu, "clone"));
    let mut pinned_all = pin_cpu.is_some();

    let interrupted = (|| -> Option<&'static str> {
        let pinned = pin();
        pinned_all &= pinned.is_some();
        // 0. unshare / setns per type, first: these are 2–50 µs syscalls, and after the
        // sections below (thousands of network namespaces whose teardown the kernel runs
        // asynchronously in cleanup_net, for seconds after the last one was created) the
        // backlog competed with them and made them read 10–30 % higher.
        if let Some(sig) = unshare_setns(ctx, ns_iters, &mut col) {
            return Some(sig);
        }

        // 1. Per flag, interleaved.
        for round in 0..plan.warmup + plan.iterations {
            let warm = round < plan.warmup;
            if let Ok(d) = super::empty_iteration() {
                if !warm {
                    col.add_value(
                        "harness",
                        "empty",
                        "ready",
                        &none,
                        "ns",
                        d.as_nanos() as f64,
                    );
                }
            }
            let mut this_round: BTreeMap<&str, f64> = BTreeMap::new();
            for i in plan.round_order(cases.len(), round) {
                if let Some(sig) = sys::signals::interrupted() {
                    return Some(sys::signals::name(sig));
                }
                let (name, flags) = &cases[i];
                match creator.once(*flags) {
                    Ok(t) if !warm => {
                        col.add_value(
                            SUBJECT,
                            name,
                            "ready",
                            &none,
                            "ns",
                            t.ready.as_nanos() as f64,
                        );
                        col.add_value(
                            SUBJECT,
                            name,
                            "total",
                            &none,
                            "ns",
                            t.total.as_nanos() as f64,
                        );
                        this_round.insert(name.as_str(), t.total.as_nanos() as f64);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if sys::signals::interrupted().is_some() {
                            return Some("signal");
                        }
                        col.problem(
                            SUBJECT,
                            name,
                            "total",
                            Status::Failed,
                            &format!("clone3 failed mid-run: {e}"),
                        );
                    }
                }
                ctx.progress.inc(1);
            }
            if let Some(&base) = this_round.get("none") {
                for (name, v) in &this_round {
                    if *name != "none" {
                        col.add_value(SUBJECT, name, "over_plain", &none, "ns", v - base);
                    }
                }
            }
            if !warm && ctx.over_budget(started) {
                break;
            }
        }

        // 2. Concurrency sweep: never pinned, its threads are meant to spread over CPUs.
        drop(pinned);
        for round in 0..conc_rounds {
            let mut points: Vec<(&str, u64, usize)> = Vec::new();
            for (name, flags) in &conc_cases {
                for &c in &ctx.options.concurrency {
                    points.push((name, *flags, c));
                }
            }
            for i in plan.round_order(points.len(), round) {
                if let Some(sig) = sys::signals::interrupted() {
                    return Some(sys::signals::name(sig));
                }
                let (name, flags, conc) = points[i];
                let mut labels = BTreeMap::new();
                labels.insert("concurrency".to_string(), conc.to_string());
                match concurrent_batch(flags, conc, ops_per_thread) {
                    Ok((lat, wall)) => {
                        for l in &lat {
                            col.add_value(
                                SUBJECT,
                                name,
                                "total",
                                &labels,
                                "ns",
                                l.as_nanos() as f64,
                            );
                        }
                        let ops = lat.len() as f64 / wall.as_secs_f64();
                        col.add_value(SUBJECT, name, "throughput", &labels, "ops/s", ops);
                    }
                    Err(e) => col.problem(
                        SUBJECT,
                        name,
                        "throughput",
                        Status::Failed,
                        &format!("concurrent clone3 failed: {e}"),
                    ),
                }
                ctx.progress.inc(1);
            }
        }

        // 3. Mount-table sweep (its worker threads inherit the pin; it ends when the guard
        // drops at the end of this block).
        if !mount_levels.is_empty() {
            let pinned = pin();
            pinned_all &= pinned.is_some();
            match mount_sweep(ctx, &mount_levels, mount_iters, &mut col) {
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
            m.reason = Some(pin_remark(cpu));
        }
    }
    Outcome {
        measurements,
        interrupted,
    }
}

/// Pin the calling thread (and what it creates from now on) to `cpu` until the guard
/// drops. When that fails (the CPU went offline, a cpuset shrank since `--pin` was
/// resolved) say so on stderr and go on unpinned: measure rather than not at all.
/// Also used by the `clone` and `unshare_setns` benches.
pub fn pin_or_warn(cpu: usize, who: &str) -> Option<sys::affinity::Pinned> {
    sys::affinity::pin_current_thread(cpu)
        .map_err(|e| eprintln!("{who}: cannot pin to CPU {cpu} ({e}); measuring unpinned"))
        .ok()
}

/// The remark an `ok` measurement of a pinned section carries (`Measurement::reason`);
/// reports show it next to the method.
pub fn pin_remark(cpu: usize) -> String {
    format!("pinned to CPU {cpu} (creator and children; isobench run --pin)")
}

/// `conc` threads each create `ops` children with `flags`; returns every op's latency and
/// the batch's wall time (from the common start to the last thread's end).
fn concurrent_batch(
    flags: u64,
    conc: usize,
    ops: usize,
) -> std::io::Result<(Vec<Duration>, Duration)> {
    let barrier = std::sync::Barrier::new(conc + 1);
    let mut creators: Vec<Creator> = (0..conc)
        .map(|_| Creator::new())
        .collect::<std::io::Result<_>>()?;
    std::thread::scope(|s| {
        let handles: Vec<_> = creators
            .iter_mut()
            .map(|c| {
                let b = &barrier;
                s.spawn(move || -> std::io::Result<(Vec<Duration>, Instant)> {
                    b.wait();
                    let mut lat = Vec::with_capacity(ops);
                    for _ in 0..ops {
                        if sys::signals::interrupted().is_some() {
                            break;
                        }
                        lat.push(c.once(flags)?.total);
                    }
                    Ok((lat, Instant::now()))
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let mut all = Vec::new();
        let mut end = t0;
        for h in handles {
            let (lat, t) = h
                .join()
                .map_err(|_| std::io::Error::other("creator thread panicked"))??;
            all.extend(lat);
            end = end.max(t);
        }
        Ok((all, end - t0))
    })
}

/// A thread with its own mount namespace holding `extra` tmpfs mounts, serving clone
/// requests from the main thread so levels can be interleaved.
fn mount_sweep(
    ctx: &Ctx<'_>,
    levels: &[usize],
    iters: usize,
    col: &mut Collector,
) -> Result<Option<&'static str>, String> {
    use std::sync::mpsc;
    type Reply = std::io::Result<CloneTiming>;
    let base = ctx.env.subdir("mounts").map_err(|e| e.to_string())?;
    let flags = libc::CLONE_NEWNS as u64;
    std::thread::scope(|s| -> Result<Option<&'static str>, String> {
        let mut workers: Vec<(usize, mpsc::Sender<()>, mpsc::Receiver<Reply>)> = Vec::new();
        for &extra in levels {
            let (req_tx, req_rx) = mpsc::channel::<()>();
            let (rep_tx, rep_rx) = mpsc::channel::<Reply>();
            let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
            let dir = base.join(format!("m{extra}"));
            s.spawn(move || {
                let setup = (|| -> Result<Creator, String> {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
                    sys::fs::unshare(libc::CLONE_NEWNS)
                        .map_err(|e| format!("unshare(CLONE_NEWNS) in a thread: {e}"))?;
                    sys::fs::make_rprivate_root().map_err(|e| format!("make / rprivate: {e}"))?;
                    sys::fs::mount("isobench", &dir, "tmpfs", 0, "size=1m")
                        .map_err(|e| format!("mount tmpfs on {}: {e}", dir.display()))?;
                    for i in 0..extra {
                        let d = dir.join(i.to_string());
                        std::fs::create_dir(&d)
                            .map_err(|e| format!("mkdir {}: {e}", d.display()))?;
                        sys::fs::mount("isobench", &d, "tmpfs", 0, "size=4k")
                            .map_err(|e| format!("mount {}: {e}", d.display()))?;
                    }
                    Creator::new().map_err(|e| e.to_string())
                })();
                let mut creator = match setup {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while req_rx.recv().is_ok() {
                    if rep_tx.send(creator.once(flags)).is_err() {
                        break;
                    }
                }
                // Thread ends: its mount namespace (and every mount in it) is released.
            });
            match ready_rx.recv() {
                Ok(Ok(())) => workers.push((extra, req_tx, rep_rx)),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("mount worker thread died".into()),
            }
        }
        for round in 0..ctx.plan.warmup + iters {
            let warm = round < ctx.plan.warmup;
            for i in ctx.plan.round_order(workers.len(), round) {
                if let Some(sig) = sys::signals::interrupted() {
                    return Ok(Some(sys::signals::name(sig)));
                }
                let (extra, tx, rx) = &workers[i];
                tx.send(()).map_err(|_| "mount worker gone".to_string())?;
                let t = rx
                    .recv()
                    .map_err(|_| "mount worker gone".to_string())?
                    .map_err(|e| format!("clone3(mnt) with {extra} mounts: {e}"))?;
                if !warm {
                    let mut labels = BTreeMap::new();
                    labels.insert("mounts".to_string(), extra.to_string());
                    col.add_value(
                        SUBJECT,
                        "mnt",
                        "ready",
                        &labels,
                        "ns",
                        t.ready.as_nanos() as f64,
                    );
                    col.add_value(
                        SUBJECT,
                        "mnt",
                        "total",
                        &labels,
                        "ns",
                        t.total.as_nanos() as f64,
                    );
                }
                ctx.progress.inc(1);
            }
        }
        Ok(None)
    })
}

/// Run `op` in a forked single-threaded child that times it with CLOCK_MONOTONIC and
/// writes the nanoseconds (or the errno, negated) to a pipe.
pub fn time_in_child(op: impl FnOnce() -> Result<(), i32>) -> Result<Duration, String> {
    let ranges = text_ranges();
    let (rd, wr) = sys::pipe().map_err(|e| e.to_string())?;
    let wfd = wr.as_raw_fd();
    let child = || -> i32 {
        // After fork every page is copy-on-write: fault in the stack below us (where the
        // syscall wrappers' frames will go) and the clock's code before `t0`, so no COW
        // fault lands inside the timed region (it would add ~1-2 µs depending on where a
        // frame happens to cross a page boundary).
        prefault_stack();
        // Likewise the program and libc text: fork does not copy their page-table
        // entries, so the first execution of each code page in the timed region would
        // be a minor fault (~1 µs here) whose count depends on code layout.
        for &(start, len) in ranges {
            sys::process::populate_read(start, len);
        }
        let _ = sys::process::monotonic_ns();
        let t0 = sys::process::monotonic_ns();
        let r = op();
        let t1 = sys::process::monotonic_ns();
        let v: i64 = match r {
            Ok(()) => (t1 - t0) as i64,
            Err(errno) => -i64::from(errno),
        };
        let _ = sys::write_all(wfd, &v.to_ne_bytes());
        0
    };
    // SAFETY: the closure only calls clock_gettime, the namespace syscall and write(2),
    // all async-signal-safe; it allocates nothing.
    let pid = unsafe { sys::process::fork_with(child) }.map_err(|e| format!("fork: {e}"))?;
    drop(wr);
    let deadline = Instant::now() + CHILD_READY_TIMEOUT;
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        match sys::poll_readable(
            rd.as_raw_fd(),
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Ok(sys::PollOutcome::Readable) => match sys::read(rd.as_raw_fd(), &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => {
                    got = 0;
                    let _ = e;
                    break;
                }
            },
            Ok(sys::PollOutcome::Interrupted) if sys::signals::interrupted().is_none() => {}
            _ => break,
        }
    }
    let r = super::super::subject::child::wait_pid_deadline(
        pid,
        Instant::now() + Duration::from_secs(5),
    );
    if got < 8 {
        return Err(format!("child reported nothing ({r:?})"));
    }
    let v = i64::from_ne_bytes(buf);
    if v < 0 {
        return Err(std::io::Error::from_raw_os_error((-v) as i32).to_string());
    }
    Ok(Duration::from_nanos(v as u64))
}

/// Executable mappings of this process (program and libraries), read once from
/// /proc/self/maps before any fork, as (start, length).
fn text_ranges() -> &'static [(usize, usize)] {
    static RANGES: std::sync::OnceLock<Vec<(usize, usize)>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let range = f.next()?;
                let perms = f.next()?;
                if !perms.starts_with("r-x") || l.contains("[vdso]") || l.contains("[vsyscall]") {
                    return None;
                }
                let (a, b) = range.split_once('-')?;
                let (a, b) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                (b > a).then_some((a, b - a))
            })
            .collect()
    })
}

/// Write one byte in each page of a 32 KiB stack buffer (no allocation: safe after fork).
#[inline(never)]
fn prefault_stack() {
    let mut pad = [0u8; 32 * 1024];
    for i in (0..pad.len()).step_by(4096) {
        pad[i] = 1;
    }
    std::hint::black_box(&mut pad);
}

/// Keep a namespace of type `t` alive as an fd: a forked child unshares it and waits;
/// we open /proc/CHILD/ns/<entry> and kill the child. The fd holds the namespace.
///
/// A PID namespace can only be opened through `pid_for_children` once it has an init
/// (the kernel returns ENOENT before), so for `pid` the holder forks that init first and
/// reports its pid, and both are killed once the fd is open.
pub fn hold_namespace(t: &NsType) -> Result<OwnedFd, String> {
    let (rd, wr) = sys::pipe().map_err(|e| e.to_string())?;
    let wfd = wr.as_raw_fd();
    let flag = t.flag as libc::c_int;
    let needs_init = t.flag == libc::CLONE_NEWPID as u64;
    let child = move || -> i32 {
        let ok = sys::fs::unshare(flag).is_ok();
        let mut init_pid: i32 = 0;
        if ok && needs_init {
            // fork is async-signal-safe; the grandchild
            // only waits to be killed.
            init_pid = sys::process::fork_raw();
            if init_pid == 0 {
                loop {
                    let _ = sys::poll_readable(-1, Duration::from_secs(3600));
                }
            }
        }
        let mut msg = [0u8; 5];
        msg[0] = if ok && init_pid >= 0 { b'Y' } else { b'N' };
        msg[1..].copy_from_slice(&init_pid.to_ne_bytes());
        let _ = sys::write_all(wfd, &msg);
        loop {
            let _ = sys::poll_readable(-1, Duration::from_secs(3600));
        }
    };
    // SAFETY: the closure calls only unshare, fork, write and poll: async-signal-safe.
    let pid = unsafe { sys::process::fork_with(child) }.map_err(|e| format!("fork: {e}"))?;
    drop(wr);
    let mut msg = [0u8; 5];
    let result = (|| {
        let deadline = Instant::now() + CHILD_READY_TIMEOUT;
        let mut got = 0;
        while got < msg.len() {
            match sys::poll_readable(
                rd.as_raw_fd(),
                deadline.saturating_duration_since(Instant::now()),
            ) {
                Ok(sys::PollOutcome::Readable) => {
                    match sys::read(rd.as_raw_fd(), &mut msg[got..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                Ok(sys::PollOutcome::Interrupted) => {}
                _ => break,
            }
        }
        if got < msg.len() || msg[0] != b'Y' {
            return Err(format!("unshare({}) failed in the holder process", t.name));
        }
        let path = format!("/proc/{pid}/ns/{}", t.proc_entry);
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| format!("open {path}: {e}"))
    })();
    let init_pid = i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]);
    if init_pid > 0 {
        let _ = sys::process::kill(init_pid, libc::SIGKILL);
    }
    let _ = sys::process::kill(pid, libc::SIGKILL);
    let _ = sys::process::wait4(pid, true);
    if init_pid > 0 {
        // Reparented to us when we are a child subreaper (isobench run); otherwise init reaps it.
        let _ = sys::process::wait4(init_pid, false);
    }
    result
}

fn unshare_setns(ctx: &Ctx<'_>, iters: usize, col: &mut Collector) -> Option<&'static str> {
    let none = BTreeMap::new();
    let mut holders: Vec<(NsType, Result<OwnedFd, String>)> = Vec::new();
    for t in ns::ALL.iter() {
        holders.push((*t, hold_namespace(t)));
    }
    let total = 2 * holders.len();
    // Warm-up rounds, discarded: the first fork of a section and the first use of each
    // namespace type fault in code and slab caches.
    let warm = (ctx.plan.warmup / 4).max(3);
    for round in 0..warm + iters {
        for i in ctx.plan.round_order(total, round) {
            if let Some(sig) = sys::signals::interrupted() {
                return Some(sys::signals::name(sig));
            }
            let (t, holder) = &holders[i / 2];
            let flag = t.flag as libc::c_int;
            if i % 2 == 0 {
                let r = time_in_child(|| {
                    sys::fs::unshare(flag).map_err(|e| e.raw_os_error().unwrap_or(0))
                });
                match r {
                    Ok(d) if round >= warm => {
                        col.add_value(SUBJECT, t.name, "unshare", &none, "ns", d.as_nanos() as f64)
                    }
                    Ok(_) => {}
                    Err(e) if round == 0 => col.problem(
                        SUBJECT,
                        t.name,
                        "unshare",
                        Status::Skipped,
                        &format!("unshare({}) failed: {e}", t.name),
                    ),
                    Err(_) => {}
                }
            } else {
                match holder {
                    Ok(fd) => {
                        let b = fd.as_fd();
                        let r = time_in_child(|| {
                            sys::fs::setns(b, flag).map_err(|e| e.raw_os_error().unwrap_or(0))
                        });
                        match r {
                            Ok(d) if round >= warm => col.add_value(
                                SUBJECT,
                                t.name,
                                "setns",
                                &none,
                                "ns",
                                d.as_nanos() as f64,
                            ),
                            Ok(_) => {}
                            Err(e) if round == 0 => col.problem(
                                SUBJECT,
                                t.name,
                                "setns",
                                Status::Skipped,
                                &format!("setns({}) failed: {e}", t.name),
                            ),
                            Err(_) => {}
                        }
                    }
                    Err(e) if round == 0 => col.problem(
                        SUBJECT,
                        t.name,
                        "setns",
                        Status::Skipped,
                        &format!("no {} namespace to join: {e}", t.name),
                    ),
                    Err(_) => {}
                }
            }
            ctx.progress.inc(1);
        }
    }
    None
}

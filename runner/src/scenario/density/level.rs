//! One density level: N instances launched one after another and kept alive, measured,
//! then removed; and the burst, N instances with up to P launches in flight.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::meminfo::{self, MemInfo, MemInfoError, Settled};
use crate::measure::since;
use crate::probe::ProbeMode;
use crate::subject::{Instance, Subject, SubjectError};
use crate::workdir::Env;

/// Time a level may take beyond its launches' own timeouts: a fixed allowance plus this
/// much per instance (launch, footprint, teardown), so that a subject that slows down
/// as the host fills cannot hold a level open for hours.
pub const LEVEL_BASE: Duration = Duration::from_secs(120);
pub const LEVEL_PER_INSTANCE: Duration = Duration::from_secs(20);

/// Why a level stopped.
#[derive(Debug, thiserror::Error)]
pub enum LevelError {
    #[error("launch {k} of {n} (with {k} running): {source}")]
    Launch {
        k: usize,
        n: usize,
        source: Box<SubjectError>,
    },
    #[error("level {n} did not finish within {limit:?} (at launch {k})")]
    Timeout { n: usize, k: usize, limit: Duration },
    #[error("teardown of instance {k} of {n}: {source}")]
    Teardown {
        k: usize,
        n: usize,
        source: Box<SubjectError>,
    },
    #[error(transparent)]
    MemInfo(#[from] MemInfoError),
    #[error(transparent)]
    Ksm(#[from] super::ksm::KsmError),
    #[error("interrupted")]
    Interrupted,
}

impl LevelError {
    pub fn is_interrupt(&self) -> bool {
        match self {
            LevelError::Interrupted => true,
            LevelError::Launch { source, .. } | LevelError::Teardown { source, .. } => {
                source.is_interrupt()
            }
            _ => crate::sys::signals::interrupted().is_some(),
        }
    }
}

/// The memory of the N instances, summed over them, from their own processes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Footprints {
    /// PSS by part (`payload`, `runtime`, `client`, `qemu`), summed over instances.
    pub pss_parts: BTreeMap<String, u64>,
    /// Sum of the instances' memory cgroup usage, and how many had one.
    pub cgroup: u64,
    pub with_cgroup: usize,
}

impl Footprints {
    /// Add one instance's `Instance::footprint` metrics.
    pub fn add(&mut self, metrics: &[(String, u64)]) {
        for (name, bytes) in metrics {
            if let Some(part) = name.strip_suffix("_pss") {
                *self.pss_parts.entry(part.to_string()).or_default() += bytes;
            } else if name == "cgroup_memory" {
                self.cgroup += bytes;
                self.with_cgroup += 1;
            }
        }
    }

    pub fn pss(&self) -> u64 {
        self.pss_parts.values().sum()
    }
}

/// What one level measured.
#[derive(Debug, Clone)]
pub struct LevelFigures {
    pub n: usize,
    /// Ready latency of launch k (k instances already running), k = 0..n.
    pub launch: Vec<Duration>,
    pub before: Settled,
    pub after_launch: Settled,
    pub after_teardown: Settled,
    pub footprints: Footprints,
    pub teardown_all: Duration,
    pub ksm_pages_sharing: Option<u64>,
}

impl LevelFigures {
    /// `before − after` of a counter that memory use lowers (MemAvailable), per instance.
    pub fn per_instance_drop(&self, f: impl Fn(&MemInfo) -> u64) -> f64 {
        (f(&self.before.info) as f64 - f(&self.after_launch.info) as f64) / self.n as f64
    }

    /// `after − before` of a counter that memory use raises (Slab), per instance.
    pub fn per_instance_rise(&self, f: impl Fn(&MemInfo) -> u64) -> f64 {
        -self.per_instance_drop(f)
    }

    /// How many of the three settles hit the 10 s limit.
    pub fn unsettled(&self) -> usize {
        [&self.before, &self.after_launch, &self.after_teardown]
            .iter()
            .filter(|s| !s.settled)
            .count()
    }
}

fn check_stop(n: usize, k: usize, deadline: Instant, limit: Duration) -> Result<(), LevelError> {
    if crate::sys::signals::interrupted().is_some() {
        return Err(LevelError::Interrupted);
    }
    if Instant::now() > deadline {
        return Err(LevelError::Timeout { n, k, limit });
    }
    Ok(())
}

/// The deadline of a level of `n` started now.
pub fn level_limit(n: usize) -> Duration {
    LEVEL_BASE + LEVEL_PER_INSTANCE * n as u32
}

/// The `before` reading of a level: drop the page cache if asked (`--drop-caches`), then
/// settle. Without `--drop-caches` the previous level's `after_teardown` serves as the
/// next level's `before`, so a level costs two settles, not three.
pub fn settle_before(drop_caches: bool) -> Result<Settled, LevelError> {
    if drop_caches {
        drop_page_cache();
    }
    Ok(meminfo::settle()?)
}

/// Run one level of `n` instances of `subject` in `case`, from the settled reading
/// `before` (see [`settle_before`]).
///
/// Launch k = 0..n one after another, each timed from just before `launch` to its ready
/// marker, the probe staying alive (`hang`) → settle → read meminfo (`after_launch`),
/// then every instance's footprint (PSS of its processes, its cgroup) with all of them
/// alive → remove all (`teardown_all`) → settle (`after_teardown`). On any error the
/// instances launched so far are dropped, which tears them down.
pub fn run_level(
    subject: &mut dyn Subject,
    env: &Env,
    case: &str,
    n: usize,
    before: Settled,
) -> Result<LevelFigures, LevelError> {
    let limit = level_limit(n);
    let deadline = Instant::now() + limit;
    let mut instances: Vec<Box<dyn Instance>> = Vec::with_capacity(n);
    let mut launch = Vec::with_capacity(n);
    for k in 0..n {
        check_stop(n, k, deadline, limit)?;
        let t0 = Instant::now();
        let mut inst = subject
            .launch(env, case, &ProbeMode::Hang)
            .map_err(|source| LevelError::Launch {
                k,
                n,
                source: Box::new(source),
            })?;
        let ready_by = (Instant::now() + env.timeouts.ready).min(deadline);
        let ready = match inst.wait_ready(ready_by) {
            Ok(t) => t,
            Err(source) => {
                let _ = inst.teardown();
                return Err(LevelError::Launch {
                    k,
                    n,
                    source: Box::new(source),
                });
            }
        };
        launch.push(since(t0, ready));
        instances.push(inst);
    }
    let after_launch = meminfo::settle()?;
    check_stop(n, n, deadline, limit)?;
    let mut footprints = Footprints::default();
    for inst in instances.iter_mut() {
        footprints.add(&inst.footprint());
    }
    let ksm_pages_sharing = super::ksm::read().map(|k| k.pages_sharing);
    let teardown_all = teardown_all(&mut instances)?;
    let after_teardown = meminfo::settle()?;
    Ok(LevelFigures {
        n,
        launch,
        before,
        after_launch,
        after_teardown,
        footprints,
        teardown_all,
        ksm_pages_sharing,
    })
}

/// Remove every instance, in launch order; the time of the whole.
fn teardown_all(instances: &mut Vec<Box<dyn Instance>>) -> Result<Duration, LevelError> {
    let n = instances.len();
    let t0 = Instant::now();
    let mut first_error = None;
    for (k, inst) in instances.iter_mut().enumerate() {
        if let Err(source) = inst.teardown() {
            first_error.get_or_insert(LevelError::Teardown {
                k,
                n,
                source: Box::new(source),
            });
        }
    }
    let took = t0.elapsed();
    instances.clear();
    match first_error {
        Some(e) => Err(e),
        None => Ok(took),
    }
}

/// What a burst measured.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    /// From the first launch call to the last ready marker.
    pub all_ready: Duration,
    /// Time spent inside `launch` calls: near `all_ready` for a subject whose launch call
    /// itself waits for the runtime (runc's create + start), so nothing overlaps.
    pub in_launch_calls: Duration,
    pub teardown_all: Duration,
}

/// `n` instances launched from this thread with up to `parallel` not yet ready at any
/// time: the next launch starts as soon as fewer than `parallel` are in flight, without
/// waiting for the earlier ones' markers. Subjects are driven through `&mut self` on one
/// thread, so the overlap is that of the launched processes (runtimes, engine clients,
/// QEMUs), not of the harness's own calls; see the module doc of `density`.
pub fn run_burst(
    subject: &mut dyn Subject,
    env: &Env,
    case: &str,
    n: usize,
    parallel: usize,
) -> Result<Burst, LevelError> {
    let limit = level_limit(n);
    let deadline = Instant::now() + limit;
    let mut ready: Vec<Box<dyn Instance>> = Vec::with_capacity(n);
    let mut in_flight: VecDeque<(usize, Instant, Box<dyn Instance>)> = VecDeque::new();
    let mut in_launch_calls = Duration::ZERO;
    let wait_oldest = |in_flight: &mut VecDeque<(usize, Instant, Box<dyn Instance>)>,
                       ready: &mut Vec<Box<dyn Instance>>|
     -> Result<(), LevelError> {
        if let Some((k, started, mut inst)) = in_flight.pop_front() {
            let by = (started + env.timeouts.ready).min(deadline);
            if let Err(source) = inst.wait_ready(by) {
                let _ = inst.teardown();
                return Err(LevelError::Launch {
                    k,
                    n,
                    source: Box::new(source),
                });
            }
            ready.push(inst);
        }
        Ok(())
    };
    let t0 = Instant::now();
    for k in 0..n {
        check_stop(n, k, deadline, limit)?;
        while in_flight.len() >= parallel.max(1) {
            wait_oldest(&mut in_flight, &mut ready)?;
        }
        let started = Instant::now();
        let inst = subject
            .launch(env, case, &ProbeMode::Hang)
            .map_err(|source| LevelError::Launch {
                k,
                n,
                source: Box::new(source),
            })?;
        in_launch_calls += started.elapsed();
        in_flight.push_back((k, started, inst));
    }
    while !in_flight.is_empty() {
        wait_oldest(&mut in_flight, &mut ready)?;
    }
    let all_ready = t0.elapsed();
    let teardown_all = teardown_all(&mut ready)?;
    Ok(Burst {
        all_ready,
        in_launch_calls,
        teardown_all,
    })
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches` (`--drop-caches`): clean page cache,
/// dentries and inodes are dropped, so MemAvailable's reclaimable part starts low. A
/// failure is printed once, not fatal (the output's label still says it was asked for).
fn drop_page_cache() {
    crate::sys::sync();
    if let Err(e) = std::fs::write("/proc/sys/vm/drop_caches", "3") {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            eprintln!("isobench: density --drop-caches: writing /proc/sys/vm/drop_caches: {e}")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprints_sum_pss_by_part_and_count_cgroups() {
        let mut f = Footprints::default();
        f.add(&[
            ("payload_rss".into(), 900),
            ("payload_pss".into(), 100),
            ("runtime_pss".into(), 50),
            ("cgroup_memory".into(), 4096),
        ]);
        f.add(&[("payload_pss".into(), 120), ("client_pss".into(), 30)]);
        assert_eq!(f.pss(), 300);
        assert_eq!(f.pss_parts["payload"], 220);
        assert_eq!(f.with_cgroup, 1);
        assert_eq!(f.cgroup, 4096);
    }
}

//! SYNTHETIC run files for timing `compare`, `history check` and `report` (not
//! measurements): the shape of a real run — which measurements, how many samples each,
//! integral nanoseconds with ties, a slow drift of the machine across the run and a tail —
//! with seeded values, so the same arguments always give the same file.
//!
//! Shapes follow the runner's plans (`runner/src/scenario/`):
//! * `Shape::Quick` — `isobench run --quick`: startup (20 launches per subject, 5 for
//!   VMs, 2 footprint passes), clone (200 rounds; concurrency, mount-table and
//!   unshare/setns sections sized as the scenario sizes them) and throttle (3 rounds of a
//!   2 s window per point, one latency sample per ~1 ms unit of work). ~460 measurements,
//!   ~140 000 samples.
//! * `Shape::Clone { iterations }` — `isobench run --scenario clone --iterations N`:
//!   with N = 30 000 about 1.17 million samples.

use std::collections::BTreeMap;

use isobench_reports::model::{Host, Measurement, MeasurementKey, Run, Tool, RUN_SCHEMA};
use isobench_reports::stats::SplitMix64;

/// Which run to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Quick,
    Clone { iterations: usize },
}

/// What varies between generated runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub shape: Shape,
    pub seed: u64,
    /// `uname -r` of the imitated host (the column header of a comparison).
    pub kernel: String,
    /// Measurements whose identity contains the text get their values multiplied by the
    /// factor: a deliberate change for the comparison to find.
    pub slow: Vec<(String, f64)>,
}

/// Normal variate by Box–Muller (one of the pair).
fn gauss(rng: &mut SplitMix64) -> f64 {
    let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// subject, case, median ready, phases, footprint groups, launches.
type Launcher = (
    &'static str,
    &'static str,
    f64,
    &'static [&'static str],
    &'static [&'static str],
    usize,
);

struct Gen {
    rng: SplitMix64,
    /// Machine speed over the run: a factor per seventh of it (a busy minute), deliberately
    /// not aligned with compare's 10 time blocks.
    drift: [f64; 7],
    opts: Options,
    out: Vec<Measurement>,
}

impl Gen {
    fn values(&mut self, median: f64, spread: f64, n: usize, integral: bool) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let phase = self.drift[i * 7 / n.max(1)];
                let tail = if self.rng.below(50) == 0 {
                    1.0 + 3.0 * spread * gauss(&mut self.rng).abs()
                } else {
                    1.0
                };
                let v = median * phase * tail * (spread * gauss(&mut self.rng)).exp();
                if integral {
                    v.round().max(1.0)
                } else {
                    v
                }
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        key: [&str; 4],
        unit: &str,
        labels: &[(&str, String)],
        median: f64,
        spread: f64,
        n: usize,
    ) {
        let key = MeasurementKey::new(key[0], key[1], key[2], key[3]);
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        // A sample-less measurement only for its identity, which `slow` matches.
        let identity = Measurement::not_ok(key.clone(), unit, isobench_reports::Status::Ok, "")
            .with_labels(labels.clone())
            .identity();
        let factor: f64 = self
            .opts
            .slow
            .iter()
            .filter(|(s, _)| identity.contains(s.as_str()))
            .map(|(_, f)| *f)
            .product();
        let integral = matches!(unit, "ns" | "bytes" | "count");
        let samples = self.values(median * factor, spread, n, integral);
        self.out
            .push(Measurement::from_samples(key, unit, labels, samples));
    }

    fn startup(&mut self) {
        let n = 20;
        self.push(
            ["startup", "harness", "empty", "ready"],
            "ns",
            &[],
            2.5e3,
            0.1,
            n,
        );
        let subjects: [Launcher; 13] = [
            ("process", "default", 1.1e6, &["teardown"], &["payload"], n),
            (
                "namespaces",
                "container",
                1.6e6,
                &["teardown"],
                &["payload"],
                n,
            ),
            ("namespaces", "all", 2.1e6, &["teardown"], &["payload"], n),
            (
                "sandbox",
                "default",
                4.0e6,
                &[
                    "teardown",
                    "prepare",
                    "clone",
                    "mounts",
                    "pivot_root",
                    "hostname",
                    "cgroup",
                    "cgroup_join",
                    "exec",
                    "exit",
                ],
                &["payload"],
                n,
            ),
            ("bwrap", "default", 3.0e6, &["teardown"], &["payload"], n),
            (
                "runc",
                "create-start",
                62e6,
                &["bundle", "create", "start", "delete"],
                &["payload", "runtime"],
                n,
            ),
            ("runc", "run", 55e6, &["bundle", "delete"], &[], n),
            (
                "crun",
                "create-start",
                21e6,
                &["bundle", "create", "start", "delete"],
                &["payload", "runtime"],
                n,
            ),
            ("crun", "run", 18e6, &["bundle", "delete"], &[], n),
            (
                "docker",
                "default",
                450e6,
                &[],
                &["payload", "runtime", "client"],
                n,
            ),
            (
                "podman",
                "default",
                380e6,
                &[],
                &["payload", "runtime", "client"],
                n,
            ),
            (
                "qemu",
                "pc",
                2.9e9,
                &[
                    "vmm_start",
                    "firmware",
                    "kernel_boot",
                    "run",
                    "poweroff",
                    "console_at",
                    "kernel_at",
                    "done_at",
                ],
                &["qemu"],
                5,
            ),
            (
                "qemu",
                "microvm",
                2.4e9,
                &[
                    "vmm_start",
                    "firmware",
                    "kernel_boot",
                    "run",
                    "poweroff",
                    "console_at",
                    "kernel_at",
                    "done_at",
                ],
                &["qemu"],
                5,
            ),
        ];
        for (subject, case, ready, phases, footprints, n) in subjects {
            let labels: Vec<(&str, String)> = if subject == "qemu" {
                vec![("accel", "tcg".into()), ("machine", case.into())]
            } else {
                Vec::new()
            };
            self.push(
                ["startup", subject, case, "ready"],
                "ns",
                &labels,
                ready,
                0.15,
                n,
            );
            self.push(
                ["startup", subject, case, "total"],
                "ns",
                &labels,
                ready * 1.05,
                0.15,
                n,
            );
            for (i, ph) in phases.iter().enumerate() {
                let med = ready / (2.0 + i as f64);
                self.push(["startup", subject, case, ph], "ns", &labels, med, 0.2, n);
            }
            for fp in footprints.iter() {
                for (kind, scale) in [("rss", 1.6), ("pss", 1.0)] {
                    let metric = format!("{fp}_{kind}");
                    self.push(
                        ["startup", subject, case, &metric],
                        "bytes",
                        &labels,
                        scale * 3.0 * f64::from(1u32 << 20),
                        0.03,
                        2,
                    );
                }
            }
            if !footprints.is_empty() && subject != "process" {
                self.push(
                    ["startup", subject, case, "cgroup_memory"],
                    "bytes",
                    &labels,
                    5.0 * f64::from(1u32 << 20),
                    0.03,
                    2,
                );
            }
        }
    }

    fn clone(&mut self, iterations: usize) {
        let cases = [
            ("none", 12e3),
            ("pid", 20e3),
            ("mnt", 60e3),
            ("uts", 14e3),
            ("ipc", 40e3),
            ("net", 90e3),
            ("user", 16e3),
            ("cgroup", 13e3),
            ("time", 15e3),
            ("all", 300e3),
        ];
        self.push(
            ["clone", "harness", "empty", "ready"],
            "ns",
            &[],
            2.5e3,
            0.1,
            iterations,
        );
        for (case, total) in cases {
            self.push(
                ["clone", "namespaces", case, "ready"],
                "ns",
                &[],
                total * 0.8,
                0.2,
                iterations,
            );
            self.push(
                ["clone", "namespaces", case, "total"],
                "ns",
                &[],
                total,
                0.2,
                iterations,
            );
            if case != "none" {
                self.push(
                    ["clone", "namespaces", case, "over_plain"],
                    "ns",
                    &[],
                    total - 11e3,
                    0.3,
                    iterations,
                );
            }
        }
        // The scenario's own sizing of its sections (runner/src/scenario/clone.rs).
        let conc_rounds = (iterations / 40).clamp(3, 25);
        let ops = (iterations / 20).clamp(5, 50);
        for (case, total) in [("net", 90e3), ("mnt", 60e3), ("all", 300e3)] {
            for c in [1usize, 2, 4, 8] {
                let l = [("concurrency", c.to_string())];
                let slow = 1.0 + 0.3 * (c as f64).log2();
                self.push(
                    ["clone", "namespaces", case, "total"],
                    "ns",
                    &l,
                    total * slow,
                    0.25,
                    conc_rounds * ops * c,
                );
                self.push(
                    ["clone", "namespaces", case, "throughput"],
                    "ops/s",
                    &l,
                    1e9 / total * c as f64 / slow,
                    0.1,
                    conc_rounds,
                );
            }
        }
        let mount_iters = (iterations / 2).max(10);
        for m in [0usize, 100, 1000] {
            let l = [("mounts", m.to_string())];
            let med = 60e3 + 40.0 * m as f64;
            self.push(
                ["clone", "namespaces", "mnt", "ready"],
                "ns",
                &l,
                med * 0.8,
                0.2,
                mount_iters,
            );
            self.push(
                ["clone", "namespaces", "mnt", "total"],
                "ns",
                &l,
                med,
                0.2,
                mount_iters,
            );
        }
        let ns_iters = (iterations / 4).max(10);
        for t in ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"] {
            for op in ["unshare", "setns"] {
                self.push(
                    ["clone", "namespaces", t, op],
                    "ns",
                    &[],
                    3e3,
                    0.2,
                    ns_iters,
                );
            }
        }
    }

    fn throttle(&mut self) {
        let rounds = 3;
        let window_units = 2000.0;
        let subjects: [(&str, &[f64]); 7] = [
            ("process", &[10.0, 25.0, 50.0, 100.0, 150.0, 200.0]),
            ("sandbox", &[10.0, 25.0, 50.0, 100.0, 150.0, 200.0]),
            ("runc", &[25.0, 100.0]),
            ("crun", &[25.0, 100.0]),
            ("docker", &[25.0, 100.0]),
            ("podman", &[25.0, 100.0]),
            ("qemu", &[25.0, 100.0]),
        ];
        for (subject, quotas) in subjects {
            let points = quotas
                .iter()
                .map(|q| (format!("{q}"), q.min(100.0) / 100.0))
                .chain(std::iter::once(("unlimited".to_string(), 1.0)));
            for (quota, share) in points {
                let case = if quota == "unlimited" {
                    "unlimited"
                } else {
                    "quota"
                };
                let mut l = vec![("cpu_shares", "10000".to_string())];
                if quota != "unlimited" {
                    l.push(("quota_pct", quota.clone()));
                }
                let k = |m: &'static str| ["throttle", subject, case, m];
                self.push(k("cpu_share"), "ratio", &l, share, 0.02, rounds);
                self.push(k("throughput"), "ops/s", &l, 1000.0 * share, 0.02, rounds);
                self.push(k("throughput_rel"), "ratio", &l, share, 0.02, rounds);
                self.push(k("usage_over_rusage"), "ratio", &l, 1.0, 0.01, rounds);
                let units = (window_units * share) as usize * rounds;
                // Most units take the 1 ms of work; those cut by a throttling pause wait
                // out the rest of the period.
                self.push(
                    k("latency"),
                    "ns",
                    &l,
                    1.0e6,
                    0.05 + 0.5 * (1.0 - share),
                    units,
                );
                // Unlimited, the window still runs in a cgroup with CFS periods.
                let throttled = 1.0 - share + 0.01;
                self.push(k("share_over_quota"), "ratio", &l, 1.0, 0.02, rounds);
                self.push(k("nr_periods"), "count", &l, 20.0, 0.01, rounds);
                self.push(
                    k("nr_throttled"),
                    "count",
                    &l,
                    20.0 * throttled,
                    0.1,
                    rounds,
                );
                self.push(k("throttled_time"), "ns", &l, 2e9 * throttled, 0.1, rounds);
            }
            self.push(
                ["throttle", subject, "oom", "oom_killed"],
                "count",
                &[],
                1.0,
                0.0,
                rounds,
            );
            self.push(
                ["throttle", subject, "oom", "allocated"],
                "bytes",
                &[],
                32.0 * f64::from(1u32 << 20),
                0.01,
                rounds,
            );
        }
    }
}

/// One synthetic series alone: `n` integral samples around `median` with the drift and
/// tail of the run files (for the statistics benches).
pub fn series(seed: u64, n: usize, median: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut drift = [1.0; 7];
    for d in &mut drift {
        *d = 1.0 + 0.03 * gauss(&mut rng);
    }
    let mut g = Gen {
        rng,
        drift,
        opts: Options {
            shape: Shape::Quick,
            seed,
            kernel: String::new(),
            slow: Vec::new(),
        },
        out: Vec::new(),
    };
    g.values(median, 0.2, n, true)
}

/// A synthetic run of `opts.shape`.
pub fn run(opts: &Options) -> Run {
    let mut rng = SplitMix64::new(opts.seed);
    let mut drift = [1.0; 7];
    for d in &mut drift {
        *d = 1.0 + 0.03 * gauss(&mut rng);
    }
    let mut g = Gen {
        rng,
        drift,
        opts: opts.clone(),
        out: Vec::new(),
    };
    let (scenarios, iterations, quick) = match opts.shape {
        Shape::Quick => {
            g.startup();
            g.clone(200);
            g.throttle();
            (
                vec!["startup", "clone", "throttle"],
                serde_json::Value::Null,
                true,
            )
        }
        Shape::Clone { iterations } => {
            g.clone(iterations);
            (vec!["clone"], iterations.into(), false)
        }
    };
    Run {
        schema: RUN_SCHEMA.into(),
        started_at: format!("2026-12-01T00:00:{:02}Z", opts.seed % 60),
        finished_at: Some(format!("2026-12-01T00:10:{:02}Z", opts.seed % 60)),
        tool: Tool {
            name: "isobench".into(),
            version: "0.1.0".into(),
            git: None,
        },
        host: Host {
            hostname: "synthetic".into(),
            kernel: opts.kernel.clone(),
            os: "Debian GNU/Linux 12 (bookworm)".into(),
            cpu_model: "AMD EPYC".into(),
            cpus: 2,
            memory_bytes: 8 << 30,
            cgroup: "v2".into(),
            virtualization: "kvm".into(),
            kvm_usable: false,
            components: BTreeMap::new(),
            notes: BTreeMap::from([(
                "synthetic".to_string(),
                format!("bench/src/synth.rs seed {}: not a measurement", opts.seed),
            )]),
        },
        config: serde_json::json!({
            "synthetic": true,
            "seed": opts.seed,
            "scenarios": scenarios,
            "iterations": iterations,
            "quick": quick,
        }),
        interrupted: false,
        subjects: BTreeMap::new(),
        time_spent: Vec::new(),
        measurements: g.out,
    }
}

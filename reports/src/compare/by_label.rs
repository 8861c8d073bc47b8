//! Comparing groups *inside one run* (`isobench compare RUN.json --by guest_kernel`): the
//! run's measurements are split by the value of one label, the label is taken out of
//! their identity so the groups' measurements match, and the groups are compared with
//! the same machinery as separate runs (block bootstrap, Mann-Whitney, Holm; see the
//! parent module). The first value seen in the run file is the base: the `kernels`
//! scenario writes its groups in the order of `--guest-kernels`.
//!
//! The groups were measured interleaved in one run, on one host, so no drift between
//! runs can hide in them; measurements without the label (other scenarios of the run)
//! are left out, and the comparison's warnings say how many.

use super::{compare_groups, CompareError, CompareOptions, Comparison, Group};
use crate::model::Run;

/// The run split into one run per value of `label`, in order of first appearance: (the
/// value, the run holding that value's measurements with the label removed), and how
/// many measurements had no such label.
pub fn split_by_label(run: &Run, label: &str) -> (Vec<(String, Run)>, usize) {
    let mut out: Vec<(String, Run)> = Vec::new();
    let mut without = 0usize;
    for m in &run.measurements {
        let Some(value) = m.labels.get(label) else {
            without += 1;
            continue;
        };
        let i = match out.iter().position(|(v, _)| v == value) {
            Some(i) => i,
            None => {
                let mut r = run.clone();
                r.measurements.clear();
                out.push((value.clone(), r));
                out.len() - 1
            }
        };
        let mut m = m.clone();
        m.labels.remove(label);
        out[i].1.measurements.push(m);
    }
    (out, without)
}

/// Compare the groups of `label` in `run` (read from `origin`), the first being the base.
pub fn compare_by_label(
    run: &Run,
    origin: &str,
    label: &str,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let (parts, without) = split_by_label(run, label);
    if parts.len() < 2 {
        return Err(CompareError::Options(format!(
            "--by {label}: {origin} has {} value(s) of label {label:?}{}; a comparison needs at least two",
            parts.len(),
            if parts.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    parts
                        .iter()
                        .map(|(v, _)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )));
    }
    let origins: Vec<String> = parts
        .iter()
        .map(|(v, _)| format!("{origin} [{label}={v}]"))
        .collect();
    let groups: Vec<Group<'_>> = parts
        .iter()
        .zip(&origins)
        .map(|((_, r), o)| Group {
            origins: vec![o.as_str()],
            runs: vec![r],
        })
        .collect();
    // The groups of one run differ in what the label names (a guest kernel, as a rule):
    // a family moving together, or one member alone, is what is compared.
    let opts = CompareOptions {
        families: false,
        ..*opts
    };
    let mut c = compare_groups(&groups, &opts)?;
    for (info, (v, _)) in c.runs.iter_mut().zip(&parts) {
        info.label = v.clone();
    }
    c.by = Some(label.to_string());
    if without > 0 {
        c.warnings.push(format!(
            "{without} measurement(s) of {origin} have no label {label:?} and are not compared"
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Host, MeasurementKey};
    use crate::Measurement;
    use std::collections::BTreeMap;

    fn m(kernel: &str, case: &str, samples: Vec<f64>) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("kernels", "qemu", case, "total"),
            "ns",
            BTreeMap::from([
                ("guest_kernel".to_string(), kernel.to_string()),
                ("accel".to_string(), "tcg".to_string()),
            ]),
            samples,
        )
    }

    fn run(ms: Vec<Measurement>) -> Run {
        Run {
            host: Host {
                kernel: "6.18".into(),
                cpu_model: "cpu".into(),
                cpus: 2,
                ..Host::default()
            },
            ..Run::of_measurements(ms)
        }
    }

    fn noisy(base: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::stats::SplitMix64::new(seed);
        (0..n)
            .map(|_| base * (1.0 + 0.02 * ((rng.next_u64() % 1000) as f64 / 1000.0 - 0.5)))
            .collect()
    }

    #[test]
    fn groups_in_order_of_appearance_with_the_label_removed() {
        let r = run(vec![
            m("b-kernel", "none", vec![1.0]),
            m("a-kernel", "none", vec![2.0]),
            Measurement::from_samples(
                MeasurementKey::new("clone", "namespaces", "none", "total"),
                "ns",
                BTreeMap::new(),
                vec![3.0],
            ),
        ]);
        let (parts, without) = split_by_label(&r, "guest_kernel");
        assert_eq!(without, 1);
        assert_eq!(parts[0].0, "b-kernel");
        assert_eq!(parts[1].0, "a-kernel");
        assert!(!parts[0].1.measurements[0]
            .labels
            .contains_key("guest_kernel"));
        assert_eq!(
            parts[0].1.measurements[0].identity(),
            parts[1].1.measurements[0].identity()
        );
    }

    #[test]
    fn a_slower_kernel_regresses_and_an_unchanged_case_does_not() {
        let r = run(vec![
            m("k1", "none", noisy(1000.0, 60, 1)),
            m("k1", "pid", noisy(2000.0, 60, 2)),
            m("k2", "none", noisy(1000.0, 60, 3)),
            m("k2", "pid", noisy(2400.0, 60, 4)),
        ]);
        let c = compare_by_label(&r, "run.json", "guest_kernel", &CompareOptions::default())
            .expect("compare");
        assert_eq!(c.runs[0].label, "k1");
        assert_eq!(c.runs[1].label, "k2");
        assert_eq!(c.by.as_deref(), Some("guest_kernel"));
        assert_eq!(c.tallies[0].regressed, 1, "{:?}", c.tallies);
        assert_eq!(c.tallies[0].no_change, 1);
        let reg: Vec<&str> = c.regressions(0).map(|(row, _)| row.case.as_str()).collect();
        assert_eq!(reg, ["pid"]);
        assert_eq!(c.gate().exit_code(), 1);
        // Every format says what the columns are.
        for text in [
            super::super::table::render(&c),
            super::super::markdown::render(&c),
            super::super::html::render(&c),
        ] {
            assert!(text.contains("groups of label"), "{text}");
            assert!(text.contains("k2"), "{text}");
        }

        let one = run(vec![m("k1", "none", vec![1.0, 2.0])]);
        let e = compare_by_label(&one, "run.json", "guest_kernel", &CompareOptions::default())
            .expect_err("one group");
        assert!(e.to_string().contains("at least two"), "{e}");
    }
}

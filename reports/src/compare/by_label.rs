//! Comparing groups *inside one run* (`isobench compare RUN.json --by guest_kernel`): the
//! run's measurements are split by the value of one label, the label is taken out of
//! their identity so the groups' measurements match, and the groups are compared with
//! the same machinery as separate runs (block bootstrap, Mann-Whitney, Holm; see the
//! parent module). The first value seen in the run file is the base: the `kernels`
//! scenario writes its groups in the order of `--guest-kernels`.
//!
//! What describes a whole group rather than a measurement leaves the identity too, so that
//! groups measured by different subjects still match: the subject, when each group has
//! one and they differ (the `kernels` scenario's guests are `qemu`, its host groups
//! `process`, `runc`, ...), and any other label that every measurement of each group
//! carrying it has with one value, and that is not the same everywhere (`accel=tcg`,
//! `machine=pc` of the guests, absent from the host groups). Those go into the group's
//! column title instead (`cloud-57 ... [subject=qemu, accel=tcg, machine=pc]`); a label
//! that varies inside a group (`semantics`) stays in the identity.
//!
//! The groups were measured interleaved in one run, on one host, so no drift between
//! runs can hide in them; measurements without the label (other scenarios of the run)
//! are left out, and the comparison's warnings say how many.

use std::collections::BTreeMap;

use super::{compare_groups, CompareError, CompareOptions, Comparison, Group};
use crate::model::Run;

/// The run split into one run per value of `label`, in order of first appearance: (the
/// value, the run holding that value's measurements with the label removed), and how
/// many measurements had no such label. `label` `subject` (when no measurement has a
/// label of that name) splits by the measurement's subject, and every group's subject
/// becomes the groups' names joined by `+`. Group attributes stay in the measurements;
/// see [`group_attributes`].
pub fn split_by_label(run: &Run, label: &str) -> (Vec<(String, Run)>, usize) {
    let mut out: Vec<(String, Run)> = Vec::new();
    let mut without = 0usize;
    let by_subject = label == SUBJECT
        && !run
            .measurements
            .iter()
            .any(|m| m.labels.contains_key(label));
    for m in &run.measurements {
        let value = if by_subject {
            &m.subject
        } else if let Some(v) = m.labels.get(label) {
            v
        } else {
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
    if by_subject {
        let joined = out
            .iter()
            .map(|(v, _)| v.as_str())
            .collect::<Vec<_>>()
            .join("+");
        for m in out.iter_mut().flat_map(|(_, r)| r.measurements.iter_mut()) {
            m.subject = joined.clone();
        }
    }
    (out, without)
}

/// The pseudo-label naming a group's subject among its attributes.
pub const SUBJECT: &str = "subject";

/// Per group, what describes the whole group rather than its measurements (see the
/// module doc), in a fixed order: `subject` first, then labels by name.
pub fn group_attributes(parts: &[(String, Run)]) -> Vec<BTreeMap<String, String>> {
    // One value per group (None: the group has the key on none of its measurements),
    // or no entry when some group has several values or has it on only some.
    let uniform =
        |get: &dyn Fn(&crate::Measurement) -> Option<String>| -> Option<Vec<Option<String>>> {
            let mut per_group = Vec::new();
            for (_, r) in parts {
                let vals: Vec<Option<String>> = r.measurements.iter().map(get).collect();
                let first = vals.first().cloned().flatten();
                if vals.iter().any(|v| *v != first) {
                    return None;
                }
                per_group.push(first);
            }
            let same_everywhere = per_group.windows(2).all(|w| w[0] == w[1]);
            (!same_everywhere).then_some(per_group)
        };
    let mut attrs = vec![BTreeMap::new(); parts.len()];
    let mut keys: Vec<String> = parts
        .iter()
        .flat_map(|(_, r)| r.measurements.iter().flat_map(|m| m.labels.keys().cloned()))
        .collect();
    keys.sort();
    keys.dedup();
    if let Some(per_group) = uniform(&|m| Some(m.subject.clone())) {
        for (a, v) in attrs.iter_mut().zip(per_group) {
            a.insert(SUBJECT.to_string(), v.unwrap_or_default());
        }
    }
    for k in keys.iter().filter(|k| k.as_str() != SUBJECT) {
        if let Some(per_group) = uniform(&|m| m.labels.get(k).cloned()) {
            for (a, v) in attrs.iter_mut().zip(per_group) {
                if let Some(v) = v {
                    a.insert(k.clone(), v);
                }
            }
        }
    }
    attrs
}

/// Take the group attributes out of the measurements: the attribute labels are removed,
/// and where the subject is one, every group's subject becomes the groups' subjects
/// joined by `+` in group order (`qemu+process+runc`), so the rows still name them.
fn strip_attributes(parts: &mut [(String, Run)], attrs: &[BTreeMap<String, String>]) {
    let mut subjects: Vec<&str> = Vec::new();
    for a in attrs {
        if let Some(s) = a.get(SUBJECT) {
            if !subjects.contains(&s.as_str()) {
                subjects.push(s);
            }
        }
    }
    let joined = subjects.join("+");
    for ((_, r), a) in parts.iter_mut().zip(attrs) {
        for m in &mut r.measurements {
            for k in a.keys() {
                if k == SUBJECT {
                    m.subject = joined.clone();
                } else {
                    m.labels.remove(k);
                }
            }
        }
    }
}

/// A group's column title: the label's value, then its attributes.
fn title(value: &str, attrs: &BTreeMap<String, String>) -> String {
    if attrs.is_empty() {
        return value.to_string();
    }
    let mut list: Vec<String> = attrs
        .get(SUBJECT)
        .map(|s| format!("{SUBJECT}={s}"))
        .into_iter()
        .collect();
    list.extend(
        attrs
            .iter()
            .filter(|(k, _)| k.as_str() != SUBJECT)
            .map(|(k, v)| format!("{k}={v}")),
    );
    format!("{value} [{}]", list.join(", "))
}

/// Compare the groups of `label` in `run` (read from `origin`), the first being the base.
pub fn compare_by_label(
    run: &Run,
    origin: &str,
    label: &str,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let (mut parts, without) = split_by_label(run, label);
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
    let attrs = group_attributes(&parts);
    strip_attributes(&mut parts, &attrs);
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
    for ((info, (v, _)), a) in c.runs.iter_mut().zip(&parts).zip(&attrs) {
        info.label = title(v, a);
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

    /// A measurement of `subject` with `labels`.
    fn ml(subject: &str, case: &str, labels: &[(&str, &str)], samples: Vec<f64>) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("kernels", subject, case, "total"),
            "ns",
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            samples,
        )
    }

    #[test]
    fn host_groups_of_other_subjects_match_the_guests() {
        let guest = |k: &'static str, sem: &'static str| {
            vec![
                ("guest_kernel", k),
                ("accel", "tcg"),
                ("machine", "pc"),
                ("semantics", sem),
            ]
        };
        let host = |s: &'static str, sem: &'static str| {
            vec![
                (
                    "guest_kernel",
                    if s == "process" {
                        "host 6.18 (process)"
                    } else {
                        "host 6.18 (runc)"
                    },
                ),
                ("semantics", sem),
            ]
        };
        let r = run(vec![
            ml("qemu", "none", &guest("k1", "vm"), noisy(1000.0, 30, 1)),
            ml("qemu", "none", &guest("k1", "fork"), noisy(3000.0, 30, 2)),
            ml(
                "qemu",
                "boot",
                &[("guest_kernel", "k1"), ("accel", "tcg"), ("machine", "pc")],
                vec![2e9],
            ),
            ml(
                "process",
                "none",
                &host("process", "vm"),
                noisy(100.0, 30, 3),
            ),
            ml(
                "process",
                "none",
                &host("process", "fork"),
                noisy(300.0, 30, 4),
            ),
            ml("runc", "none", &host("runc", "vm"), noisy(100.0, 30, 5)),
            ml("runc", "none", &host("runc", "fork"), noisy(300.0, 30, 6)),
        ]);
        let (mut parts, _) = split_by_label(&r, "guest_kernel");
        let attrs = group_attributes(&parts);
        assert_eq!(attrs[0]["subject"], "qemu");
        assert_eq!(attrs[0]["accel"], "tcg");
        assert_eq!(attrs[1]["subject"], "process");
        assert!(!attrs[1].contains_key("accel"));
        // `semantics` varies inside each group: it identifies, it is no attribute.
        assert!(attrs.iter().all(|a| !a.contains_key("semantics")));
        strip_attributes(&mut parts, &attrs);
        let ids = |i: usize| -> Vec<String> {
            let mut v: Vec<String> = parts[i]
                .1
                .measurements
                .iter()
                .map(|m| m.identity())
                .collect();
            v.retain(|id| !id.contains("/boot/"));
            v.sort();
            v
        };
        assert_eq!(ids(0), ids(1));
        assert_eq!(ids(1), ids(2));
        assert_eq!(
            ids(0)[0],
            "kernels/qemu+process+runc/none/total[semantics=fork]"
        );

        let c = compare_by_label(&r, "run.json", "guest_kernel", &CompareOptions::default())
            .expect("compare");
        assert_eq!(c.runs[0].label, "k1 [subject=qemu, accel=tcg, machine=pc]");
        assert_eq!(c.runs[1].label, "host 6.18 (process) [subject=process]");
        // Both clone rows are compared in every host column (a 10x faster host is
        // an improvement, not a row left out).
        assert_eq!(c.tallies[0].improved, 2, "{:?}", c.tallies);
        assert_eq!(c.tallies[1].improved, 2, "{:?}", c.tallies);

        // Groups of one subject keep it, and a label the same in every group stays.
        let aa = run(vec![
            m("k1", "none", noisy(1000.0, 30, 1)),
            m("k2", "none", noisy(1000.0, 30, 2)),
        ]);
        let c = compare_by_label(&aa, "run.json", "guest_kernel", &CompareOptions::default())
            .expect("compare");
        assert_eq!(c.runs[0].label, "k1");
        assert_eq!(c.rows[0].subject, "qemu");
        assert_eq!(c.rows[0].labels["accel"], "tcg");
    }

    #[test]
    fn by_subject_splits_by_the_measurements_subject() {
        let r = run(vec![
            ml(
                "process",
                "none",
                &[
                    ("semantics", "fork"),
                    ("guest_kernel", "host 6.18 (process)"),
                ],
                noisy(300.0, 30, 1),
            ),
            ml(
                "runc",
                "none",
                &[("semantics", "fork"), ("guest_kernel", "host 6.18 (runc)")],
                noisy(330.0, 30, 2),
            ),
        ]);
        let c = compare_by_label(&r, "run.json", "subject", &CompareOptions::default())
            .expect("compare");
        assert_eq!(
            c.runs[0].label,
            "process [guest_kernel=host 6.18 (process)]"
        );
        assert_eq!(c.runs[1].label, "runc [guest_kernel=host 6.18 (runc)]");
        assert_eq!(c.rows.len(), 1, "{:?}", c.rows);
        assert_eq!(c.rows[0].subject, "process+runc");
    }
}

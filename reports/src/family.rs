//! Families of related measurements, and what their common shift says about one
//! member's regression (`compare` and `history check`).
//!
//! A family is one metric of one subject in one scenario measured over its cases and the
//! values of the same label keys: `clone/namespaces/*/setns` is `setns()` into each of
//! the ten namespace types, `clone/namespaces/*/ready[semantics=*]` the fork-style clone
//! of each type, `clone/namespaces/*/total[concurrency=*]` every concurrency level of
//! every swept type. On one kernel such a family shares its code paths and its
//! machine, and A/A pairs on the shared 2-core VM show both ways its members move
//! without any change to what is measured (README, "How often the gate cries wolf"):
//!
//! - **together**: every `unshare`/`setns` +10…+27 % while the other vCPU sat idle
//!   (a halted vCPU is slow to answer a cross-CPU step) and the pipe drift witness held
//!   still. The family's own median change is then the witness of the machine for that
//!   class of work: a member whose change is no larger is *explained by family drift*
//!   and, like the harness witness's drift, makes the gate inconclusive, not failed;
//! - **alone**: one member +17 % (a `mounts=0` clone, one `concurrency=1` throughput)
//!   while no other member of its family regressed, or the family did not move or got
//!   faster. Firecracker's A/B rule
//!   (tools/ab_test.py) asks that the mean change over a metric's related dimensions
//!   exceed the noise threshold before a significant change fails the gate; here such a
//!   member is *isolated*: reported as `changed`, with the family's change beside it,
//!   and not counted against the build.
//!
//! Both judgements read the family's median change *without* the member being judged
//! (leave one out), and need at least [`MIN_OTHERS`] other members with a ratio; a
//! smaller family (a startup subject's one or two cases) is judged on its own, so a
//! slowed subject is flagged exactly as before. They apply only when every run on both
//! sides ran the same kernel: across kernels a whole family moving together, or one
//! member alone, is what is being compared (and `compare --by LABEL` never uses them).

use std::collections::HashMap;

use crate::compare::Direction;

/// Other members of its family a measurement needs before the family judges it.
pub const MIN_OTHERS: usize = 3;

/// The family of a measurement: scenario, subject, metric and the keys of its labels;
/// the case and the label values are wildcards.
pub fn key<'a>(
    scenario: &str,
    subject: &str,
    metric: &str,
    label_keys: impl IntoIterator<Item = &'a String>,
) -> String {
    let keys: Vec<String> = label_keys.into_iter().map(|k| format!("{k}=*")).collect();
    if keys.is_empty() {
        format!("{scenario}/{subject}/*/{metric}")
    } else {
        format!("{scenario}/{subject}/*/{metric}[{}]", keys.join(","))
    }
}

/// What a member's family says about its regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Judgement {
    /// The family did not get worse (its median ratio within the threshold, or better):
    /// this member moved alone.
    Isolated { family_ratio: f64, others: usize },
    /// The family moved to the worse side beyond the threshold, and this member by no
    /// more than the family (widened by the threshold): the machine, not the build.
    FamilyDrift { family_ratio: f64, others: usize },
    /// The member moved beyond its family's (worse) shift.
    Own { family_ratio: f64, others: usize },
}

/// A measurement as a family member: its fine key ([`key`] with its label keys), its
/// coarse key (without: every label variant of the metric), and its point ratio.
pub struct Member {
    pub fine: String,
    pub coarse: String,
    pub ratio: Option<f64>,
    /// Regressed on its own (before any family judgement).
    pub regressed: bool,
}

impl Member {
    pub fn of(
        scenario: &str,
        subject: &str,
        metric: &str,
        labels: &std::collections::BTreeMap<String, String>,
        ratio: Option<f64>,
        regressed: bool,
    ) -> Member {
        Member {
            fine: key(scenario, subject, metric, labels.keys()),
            coarse: key(scenario, subject, metric, std::iter::empty()),
            ratio,
            regressed,
        }
    }
}

/// The family that judges one member: its key, the leave-one-out median ratio of the
/// other members, and how many there were.
#[derive(Debug, Clone, PartialEq)]
pub struct Others {
    pub key: String,
    pub median: f64,
    pub count: usize,
    /// How many of them regressed on their own.
    pub regressed: usize,
}

/// For each member, its fine family's other members when there are at least
/// [`MIN_OTHERS`] with a ratio, else its coarse family's (the three `mounts=` variants of
/// a clone are judged among every clone of that metric), else `None`.
pub fn others_medians<M: std::borrow::Borrow<Member>>(members: &[M]) -> Vec<Option<Others>> {
    type Map<'a> = HashMap<&'a str, Vec<(usize, f64)>>;
    let mut fine: Map = HashMap::new();
    let mut coarse: Map = HashMap::new();
    for (i, m) in members.iter().map(|m| m.borrow()).enumerate() {
        if let Some(r) = m.ratio.filter(|r| r.is_finite() && *r > 0.0) {
            fine.entry(m.fine.as_str()).or_default().push((i, r));
            coarse.entry(m.coarse.as_str()).or_default().push((i, r));
        }
    }
    let others = |map: &Map, k: &str, i: usize| -> Option<Others> {
        let o: Vec<(usize, f64)> = map
            .get(k)?
            .iter()
            .filter(|(j, _)| *j != i)
            .copied()
            .collect();
        let v: Vec<f64> = o.iter().map(|(_, r)| *r).collect();
        (v.len() >= MIN_OTHERS).then(|| Others {
            key: k.to_string(),
            median: crate::stats::median(&v),
            count: v.len(),
            regressed: o
                .iter()
                .filter(|(j, _)| members[*j].borrow().regressed)
                .count(),
        })
    };
    members
        .iter()
        .map(|m| m.borrow())
        .enumerate()
        .map(|(i, m)| others(&fine, &m.fine, i).or_else(|| others(&coarse, &m.coarse, i)))
        .collect()
}

/// How much worse than 1 a ratio is in `direction` (> 1: worse; a ratio of new / base).
fn worse(ratio: f64, direction: Direction) -> f64 {
    match direction {
        Direction::HigherIsBetter => 1.0 / ratio.max(f64::MIN_POSITIVE),
        _ => ratio,
    }
}

/// Judge a regressed member whose ratio (new / base) has the interval `[lo, hi]`, given
/// its family's other members.
pub fn judge(ci: [f64; 2], direction: Direction, family: &Others, threshold: f64) -> Judgement {
    let (family_ratio, others) = (family.median, family.count);
    let worse_by = worse(family_ratio, direction);
    // Alone: no other member regressed on its own, or the family did not get worse
    // beyond the threshold (it held still, or got better): nothing of the build's shows
    // across the related dimensions.
    if family.regressed == 0 || worse_by <= 1.0 + threshold {
        return Judgement::Isolated {
            family_ratio,
            others,
        };
    }
    // The member at its least-bad plausible value.
    let least = match direction {
        Direction::HigherIsBetter => worse(ci[1], direction),
        _ => ci[0],
    };
    if least <= worse_by * (1.0 + threshold) {
        Judgement::FamilyDrift {
            family_ratio,
            others,
        }
    } else {
        Judgement::Own {
            family_ratio,
            others,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fam(ratios: &[f64]) -> Vec<Member> {
        ratios
            .iter()
            .map(|&r| {
                Member::of(
                    "clone",
                    "namespaces",
                    "setns",
                    &BTreeMap::new(),
                    Some(r),
                    false,
                )
            })
            .collect()
    }

    #[test]
    fn label_keys_make_the_family_not_their_values() {
        let fork: BTreeMap<String, String> = [("semantics".to_string(), "fork".to_string())].into();
        assert_eq!(
            key("clone", "namespaces", "ready", fork.keys()),
            "clone/namespaces/*/ready[semantics=*]"
        );
        let m = Member::of("clone", "namespaces", "ready", &fork, None, false);
        assert_eq!(m.coarse, "clone/namespaces/*/ready");
    }

    #[test]
    fn leave_one_out_medians_need_three_others() {
        let m = others_medians(&fam(&[1.0, 1.1, 1.2, 1.3]));
        let first = m[0].as_ref().expect("a family");
        assert_eq!((first.median, first.count), (1.2, 3));
        assert_eq!(first.key, "clone/namespaces/*/setns");
        assert_eq!(m[3].as_ref().expect("a family").median, 1.1);
        let small = others_medians(&fam(&[1.0, 1.1, 1.2]));
        assert!(small.iter().all(Option::is_none));
        // Other families and missing ratios do not count.
        let mut mixed = fam(&[1.0, 1.0, 1.0]);
        mixed.push(Member::of(
            "startup",
            "process",
            "ready",
            &BTreeMap::new(),
            Some(2.0),
            false,
        ));
        mixed.push(Member::of(
            "clone",
            "namespaces",
            "setns",
            &BTreeMap::new(),
            None,
            false,
        ));
        let o = others_medians(&mixed);
        assert!(o[..4].iter().all(Option::is_none), "{o:?}");
        // The member without a ratio is never judged, but its family is the three others.
        assert_eq!(o[4].as_ref().map(|f| f.count), Some(3));
    }

    #[test]
    fn a_small_fine_family_is_judged_in_its_coarse_one() {
        let mounts = |v: &str| -> BTreeMap<String, String> {
            [("mounts".to_string(), v.to_string())].into()
        };
        let mut ms = vec![
            Member::of(
                "clone",
                "namespaces",
                "total",
                &mounts("0"),
                Some(2.8),
                false,
            ),
            Member::of(
                "clone",
                "namespaces",
                "total",
                &mounts("100"),
                Some(1.0),
                false,
            ),
            Member::of(
                "clone",
                "namespaces",
                "total",
                &mounts("1000"),
                Some(1.0),
                false,
            ),
        ];
        assert!(others_medians(&ms).iter().all(Option::is_none));
        for _ in 0..3 {
            ms.push(Member::of(
                "clone",
                "namespaces",
                "total",
                &BTreeMap::new(),
                Some(1.01),
                false,
            ));
        }
        let o = others_medians(&ms);
        let m0 = o[0].as_ref().expect("a family");
        assert_eq!((m0.key.as_str(), m0.count), ("clone/namespaces/*/total", 5));
        assert_eq!(m0.median, 1.01);
    }

    fn others(median: f64, regressed: usize) -> Others {
        Others {
            key: "clone/namespaces/*/setns".into(),
            median,
            count: 9,
            regressed,
        }
    }

    #[test]
    fn alone_together_or_beyond() {
        let t = 0.05;
        let lower = Direction::LowerIsBetter;
        // The family held still: alone.
        assert!(matches!(
            judge([1.12, 1.25], lower, &others(1.01, 2), t),
            Judgement::Isolated { .. }
        ));
        // The family moved +15 %, three others regressed too, the member +18 % (CI from
        // +12 %): the machine.
        assert!(matches!(
            judge([1.12, 1.25], lower, &others(1.15, 3), t),
            Judgement::FamilyDrift { .. }
        ));
        // The same median with no other member regressed on its own: alone (A/A:
        // `cgroup/unshare` +20.7 % while the others' median was +7.0 %, none of them
        // significant).
        assert!(matches!(
            judge([1.12, 1.25], lower, &others(1.07, 0), t),
            Judgement::Isolated { .. }
        ));
        // The member +60 % while the family moved +15 %: its own.
        assert!(matches!(
            judge([1.45, 1.75], lower, &others(1.15, 3), t),
            Judgement::Own { .. }
        ));
        // The family got faster, the member slower: alone too (A/A: `mnt/over_plain`
        // +16.6 % while the other eight `over_plain` moved −8.5 %).
        assert!(matches!(
            judge([1.10, 1.20], lower, &others(0.85, 1), t),
            Judgement::Isolated { .. }
        ));
        // Higher is better: a throughput drop with its family's drop.
        assert!(matches!(
            judge([0.80, 0.86], Direction::HigherIsBetter, &others(0.85, 4), t),
            Judgement::FamilyDrift { .. }
        ));
        assert!(matches!(
            judge([0.40, 0.50], Direction::HigherIsBetter, &others(0.85, 4), t),
            Judgement::Own { .. }
        ));
    }
}

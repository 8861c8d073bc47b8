//! The sweep's points: the unthrottled baseline, one per CPU quota, and the memory
//! point; which quotas a subject gets in a quick run.

use crate::subject::SubjectKind;

use super::{FULL_QUICK_SWEEP, OOM, QUICK_QUOTAS, QUICK_SWEEP, UNLIMITED};

/// One point of the sweep.
#[derive(Debug, Clone)]
pub(super) enum Point {
    Cpu { case: String, percent: Option<f64> },
    Oom,
}

impl Point {
    pub(super) fn case(&self) -> &str {
        match self {
            Point::Cpu { case, .. } => case,
            Point::Oom => OOM,
        }
    }
}

/// "25%" for 25.0, "12.5%" for 12.5.
pub fn case_name(percent: f64) -> String {
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent}%")
    }
}

pub(super) fn points(quotas: &[f64]) -> Vec<Point> {
    let mut v = vec![Point::Cpu {
        case: UNLIMITED.into(),
        percent: None,
    }];
    v.extend(quotas.iter().map(|&q| Point::Cpu {
        case: case_name(q),
        percent: Some(q),
    }));
    v.push(Point::Oom);
    v
}

/// The quotas `kind` sweeps (see the module doc: quick runs are shorter for slow
/// launchers unless the user chose the quotas).
pub(super) fn quotas_for(kind: SubjectKind, quick: bool, quotas: &[f64]) -> Vec<f64> {
    let default = super::options::ThrottleOptions::default().quotas;
    if !quick || quotas != default.as_slice() {
        quotas.to_vec()
    } else if FULL_QUICK_SWEEP.contains(&kind) {
        QUICK_SWEEP.to_vec()
    } else {
        QUICK_QUOTAS.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_and_points() {
        assert_eq!(case_name(25.0), "25%");
        assert_eq!(case_name(12.5), "12.5%");
        let p = points(&[10.0, 200.0]);
        let cases: Vec<&str> = p.iter().map(Point::case).collect();
        assert_eq!(cases, vec!["unlimited", "10%", "200%", "oom"]);
    }

    #[test]
    fn quick_runs_shorten_the_sweep() {
        let default = crate::scenario::throttle::options::ThrottleOptions::default().quotas;
        assert_eq!(
            quotas_for(SubjectKind::Process, true, &default),
            QUICK_SWEEP
        );
        assert_eq!(quotas_for(SubjectKind::Process, false, &default), default);
        assert_eq!(
            quotas_for(SubjectKind::Sandbox, true, &default),
            QUICK_QUOTAS
        );
        assert_eq!(
            quotas_for(SubjectKind::Docker, true, &default),
            QUICK_QUOTAS
        );
        assert_eq!(quotas_for(SubjectKind::Runc, false, &default), default);
        // Quotas the user chose are kept for every subject.
        assert_eq!(quotas_for(SubjectKind::Docker, true, &[40.0]), vec![40.0]);
    }
}

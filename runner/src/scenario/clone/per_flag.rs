//! Section 1 of the `clone` scenario: every flag case once per round, in the plan's order,
//! with the harness's empty iteration and `over_plain` (this round's `total` minus the
//! round's `none`).

use std::collections::BTreeMap;
use std::time::Instant;

use isobench_reports::model::Status;

use super::SUBJECT;
use crate::measure::clone_timer::Creator;
use crate::measure::Collector;
use crate::scenario::Ctx;
use crate::sys;

/// Measure `cases` for the plan's rounds; `Some(signal)` when one stopped it.
pub(super) fn measure(
    ctx: &Ctx<'_>,
    creator: &mut Creator,
    cases: &[(String, u64)],
    col: &mut Collector,
    started: Instant,
) -> Option<&'static str> {
    let plan = &ctx.plan;
    let none = BTreeMap::new();
    for round in 0..plan.warmup + plan.iterations {
        let warm = round < plan.warmup;
        if !warm {
            crate::scenario::witness_sample(col);
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
                        return Some(crate::sys::signals::interrupted_name());
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

    None
}

//! Section 0 of the `clone` scenario: unshare() and setns() per namespace type, each
//! timed inside a freshly forked single-threaded child (`sys::timed_child`).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};

use isobench_reports::model::Status;

use super::SUBJECT;
use crate::measure::Collector;
use crate::scenario::Ctx;
use crate::sys;
use crate::sys::ns::{self, NsType};
use crate::sys::timed_child::{hold_namespace, time_in_child, TimedChildError};

pub(super) fn unshare_setns(
    ctx: &Ctx<'_>,
    iters: usize,
    col: &mut Collector,
) -> Option<&'static str> {
    let none = BTreeMap::new();
    let mut holders: Vec<(NsType, Result<OwnedFd, TimedChildError>)> = Vec::new();
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

//! The checks behind `isobench doctor`: what this host can measure, and for every "no"
//! the exact fix. Printing is `cli::doctor`.

use crate::subject::{Check, SubjectKind};
use crate::sys::ns;
use crate::workdir::Env;

/// All checks, each bounded in time.
pub fn checks(env: &Env) -> Vec<Check> {
    let mut out = Vec::new();
    let root = env.is_root;
    out.push(if root {
        Check::yes("host", "root", "running as uid 0")
    } else {
        Check::no("host", "root", format!("running as uid {}", crate::sys::geteuid()), "run as root (sudo isobench ...): namespaces, cgroups and containers need CAP_SYS_ADMIN")
    });
    // Each namespace type, really created once.
    match crate::measure::clone_timer::Creator::new() {
        Ok(mut c) => {
            for t in ns::ALL.iter() {
                out.push(match c.once(t.flag) {
                    Ok(_) => Check::yes("namespaces", t.name, "clone3 created one"),
                    Err(e) => Check::no(
                        "namespaces",
                        t.name,
                        e.to_string(),
                        if root {
                            format!("needs Linux {}+ with the namespace enabled; check seccomp/LSM policy", t.since)
                        } else {
                            "run as root".to_string()
                        },
                    ),
                });
            }
        }
        Err(e) => out.push(Check::no(
            "namespaces",
            "pipe",
            e.to_string(),
            "check the fd limit (ulimit -n)",
        )),
    }
    out.extend(cgroup_checks());
    let subjects: Vec<_> = SubjectKind::all().iter().map(|k| k.create()).collect();
    for s in &subjects {
        let d = s.describe();
        out.push(match s.available(env) {
            Ok(()) => Check::yes(
                "subjects",
                s.kind().name(),
                d.version.unwrap_or_else(|| "available".into()),
            ),
            Err(u) => Check::no("subjects", s.kind().name(), u.reason, u.fix),
        });
    }
    for s in &subjects {
        out.extend(s.doctor_checks(env));
    }
    out
}

fn cgroup_checks() -> Vec<Check> {
    match crate::cgroup::detect() {
        Ok(l) => vec![
            Check::yes("cgroups", "layout", format!("{} ({l:?})", l.name())),
            match crate::cgroup::manager::self_test(&crate::cleanup::Cleanup::in_memory()) {
                Ok(d) => Check::yes("cgroups", "limited cgroup (throttle)", d),
                Err(e) => Check::no(
                    "cgroups",
                    "limited cgroup (throttle)",
                    e.to_string(),
                    "run as root on a host with the cpu, cpuacct and memory controllers",
                ),
            },
        ],
        Err(e) => vec![Check::no(
            "cgroups",
            "layout",
            e.to_string(),
            "mount cgroupfs at /sys/fs/cgroup",
        )],
    }
}

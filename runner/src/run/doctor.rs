//! `isobench doctor`: what this host can measure, and for every "no" the exact fix.

use serde::Serialize;

use crate::cleanup::Cleanup;
use crate::workdir::Env;
use crate::sys::ns;
use crate::subject::SubjectKind;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub area: &'static str,
    pub name: String,
    pub ok: bool,
    /// What was found (version, layout, error).
    pub detail: String,
    /// For a "no": what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn yes(area: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            area,
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn no(
        area: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            area,
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

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
    match crate::scenario::clone::Creator::new() {
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
    for k in SubjectKind::all() {
        let s = k.create();
        let d = s.describe();
        out.push(match s.available(env) {
            Ok(()) => Check::yes(
                "subjects",
                k.name(),
                d.version.unwrap_or_else(|| "available".into()),
            ),
            Err(u) => Check::no("subjects", k.name(), u.reason, u.fix),
        });
    }
    out.extend(crate::hooks::doctor_extra(env));
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

/// `isobench doctor [--json]`. Exit code 0 whatever is missing: missing is information.
pub fn cmd(json: bool) -> anyhow::Result<i32> {
    let cleanup = Cleanup::in_memory();
    let env = Env::new(cleanup.clone(), None)?;
    let list = checks(&env);
    drop(env);
    for e in cleanup.release_all() {
        eprintln!("isobench: cleanup: {e}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let mut area = "";
    for c in &list {
        if c.area != area {
            area = c.area;
            println!("{area}:");
        }
        println!(
            "  [{}] {:<12} {}",
            if c.ok { " ok " } else { " no " },
            c.name,
            c.detail
        );
        if let Some(f) = &c.fix {
            println!("         fix: {f}");
        }
    }
    Ok(0)
}

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
    out.extend(device_nodes());
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
    out.extend(guest_kernel_checks(&crate::vm::kernel::fixture_dirs()));
    out
}

/// The guest kernels the `kernels` scenario can boot by name (`--guest-kernels NAME`):
/// each `fixtures/kernels/<name>/vmlinuz` with its package version, checked as a run
/// checks it (a bzImage only root or you can change).
pub fn guest_kernel_checks(dirs: &[std::path::PathBuf]) -> Vec<Check> {
    use crate::vm::guest_kernels;
    let found = guest_kernels::available(dirs);
    if found.is_empty() {
        return vec![Check::no(
            "guest kernels",
            "kernels",
            "no fixtures/kernels/<name>/vmlinuz found",
            "run fixtures/setup.sh (fetches cloud-57, cloud-47, rt-57), or pass --guest-kernels PATH to a bzImage",
        )];
    }
    found
        .into_iter()
        .map(
            |k| match guest_kernels::check_image(&k.path, crate::sys::geteuid()) {
                Ok(p) => Check::yes(
                    "guest kernels",
                    k.name.as_str(),
                    format!("{} ({})", k.package, p.display()),
                ),
                Err(e) => Check::no(
                    "guest kernels",
                    k.name.as_str(),
                    e.to_string(),
                    "re-fetch it with fixtures/setup.sh",
                ),
            },
        )
        .collect()
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

/// The host's shared device nodes a runtime may be handed as stdio.
pub const DEVICE_NODES: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

/// What is wrong with `path` as one of [`DEVICE_NODES`], which must be root's
/// character devices of mode 0666 (runsc fchowns the stdio it is handed to its sandbox
/// user: isobench hands it a pipe; an older isobench handed it /dev/null, which became
/// `nobody`'s), with the fix; `None` when it is intact.
pub fn device_node_problem(path: &str) -> Option<(String, String)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let fix_owner = format!(
        "chown root:root {path} && chmod 666 {path} (not a device any more: rm -f {path} && \
         mknod -m 666 {path} c 1 N, N = 3 null, 5 zero, 7 full)"
    );
    match std::fs::symlink_metadata(path) {
        Ok(m)
            if m.file_type().is_char_device()
                && m.uid() == 0
                && m.gid() == 0
                && m.mode() & 0o7777 == 0o666 =>
        {
            None
        }
        Ok(m) => Some((
            format!(
                "{} owned by uid {} gid {}, mode {:o}",
                if m.file_type().is_char_device() {
                    "character device"
                } else {
                    "NOT a character device:"
                },
                m.uid(),
                m.gid(),
                m.mode() & 0o7777
            ),
            fix_owner,
        )),
        Err(e) => Some((
            e.to_string(),
            format!("mknod -m 666 {path} c 1 N (N = 3 null, 5 zero, 7 full)"),
        )),
    }
}

fn device_nodes() -> Vec<Check> {
    DEVICE_NODES
        .into_iter()
        .map(|p| match device_node_problem(p) {
            None => Check::yes("host", p, "root's character device, mode 0666"),
            Some((what, fix)) => Check::no("host", p, what, fix),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn guest_kernels_are_listed_with_their_package_or_why_not() {
        let t = tempfile::tempdir().expect("tempdir");
        let none = super::guest_kernel_checks(&[t.path().to_path_buf()]);
        assert!(none.len() == 1 && !none[0].ok, "{none:?}");
        for (name, mode) in [("good", 0o644), ("shared", 0o666)] {
            let d = t.path().join(name);
            std::fs::create_dir(&d).expect("mkdir");
            let mut img = vec![0u8; 0x300];
            img[0x202..0x206].copy_from_slice(b"HdrS");
            std::fs::write(d.join("vmlinuz"), img).expect("write");
            std::fs::set_permissions(d.join("vmlinuz"), std::fs::Permissions::from_mode(mode))
                .expect("chmod");
            std::fs::write(d.join("VERSION"), format!("linux-image-{name} 1.2-3\n"))
                .expect("write");
        }
        let c = super::guest_kernel_checks(&[t.path().to_path_buf()]);
        assert_eq!(c.len(), 2);
        assert!(c[0].ok && c[0].name == "good" && c[0].detail.contains("linux-image-good 1.2-3"));
        assert!(!c[1].ok && c[1].detail.contains("writable"), "{:?}", c[1]);
    }
}

//! The host fingerprint recorded in every run file: what a reader needs to judge whether
//! two runs are comparable (kernel first, CPU model and count, cgroup layout,
//! virtualization, accelerator, component versions).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use isobench_reports::model::Host;

use crate::subject::Description;

/// Gather the fingerprint. `subjects` describe themselves: the versions of the programs
/// they drive become `components`.
pub fn fingerprint(subjects: &[Description]) -> Host {
    let (hostname, kernel, _machine) = crate::sys::uname();
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| {
            l.starts_with("model name") || l.starts_with("Model") || l.starts_with("cpu model")
        })
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let memory_bytes = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kib| kib * 1024)
        .unwrap_or(0);
    let os = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("PRETTY_NAME="))
                .map(|l| l["PRETTY_NAME=".len()..].trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cgroup = crate::cgroup::detect()
        .map(|l| l.name().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let mut notes = BTreeMap::new();
    if let Ok(gov) = fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") {
        notes.insert("cpufreq_governor".into(), gov.trim().to_string());
    }
    notes.insert(
        "clock".into(),
        "CLOCK_MONOTONIC (std::time::Instant), read in the harness".into(),
    );
    Host {
        hostname,
        kernel,
        os,
        cpu_model,
        cpus,
        memory_bytes,
        cgroup,
        virtualization: virtualization(&cpuinfo, &mut notes),
        kvm_usable: false,
        components: components(subjects),
        notes,
    }
}

/// What the host itself runs on, in both layers: a container (`systemd-detect-virt
/// --container`, else the evidence it reads: `/.dockerenv`, `/run/.containerenv`,
/// `container=` in PID 1's environment, `/proc/1/cgroup`) and a VM (`systemd-detect-virt
/// --vm`, else DMI and the CPU's `hypervisor` flag). A container inside a KVM guest is
/// "docker in kvm": plain `systemd-detect-virt` names only the innermost layer
/// ("docker"), which hides that the figures ran on a virtual CPU. `notes` gets
/// `virtualization_container` and `virtualization_vm` saying how each was found.
fn virtualization(cpuinfo: &str, notes: &mut BTreeMap<String, String>) -> String {
    let detect = |flag: &str| {
        crate::subprocess::version_line("systemd-detect-virt", &[flag]).filter(|v| !v.contains(' '))
        // a name such as "kvm" or "none", not an error
    };
    let layers = Layers {
        container: detect("--container")
            .map(|v| (v, "systemd-detect-virt --container".to_string()))
            .or_else(|| container_evidence(Path::new("/"))),
        vm: detect("--vm")
            .map(|v| (v, "systemd-detect-virt --vm".to_string()))
            .or_else(|| Some(vm_evidence(Path::new("/"), cpuinfo))),
    };
    layers.describe(notes)
}

/// The two layers found, each (name, how it was found); "none" when looked for and absent.
struct Layers {
    container: Option<(String, String)>,
    vm: Option<(String, String)>,
}

impl Layers {
    fn describe(&self, notes: &mut BTreeMap<String, String>) -> String {
        let present = |l: &Option<(String, String)>| {
            l.as_ref()
                .map(|(v, _)| v.clone())
                .filter(|v| v != "none" && !v.is_empty())
        };
        for (key, layer) in [
            ("virtualization_container", &self.container),
            ("virtualization_vm", &self.vm),
        ] {
            let text = match layer {
                Some((v, how)) => format!("{v} ({how})"),
                None => "not detected (no systemd-detect-virt, no evidence in /)".into(),
            };
            notes.insert(key.into(), text);
        }
        match (present(&self.container), present(&self.vm)) {
            (Some(c), Some(v)) => format!("{c} in {v}"),
            (Some(c), None) => c,
            (None, Some(v)) => v,
            (None, None) => "none".into(),
        }
    }
}

/// The container layer from files under `root` (`/` on a host, a temp dir in tests):
/// the engines' marker files, then PID 1's `container=` (systemd's convention, set by
/// nspawn, LXC, podman), then PID 1's cgroup path.
fn container_evidence(root: &Path) -> Option<(String, String)> {
    for (file, name) in [(".dockerenv", "docker"), ("run/.containerenv", "podman")] {
        if root.join(file).exists() {
            return Some((name.into(), format!("/{file} exists")));
        }
    }
    if let Ok(env) = fs::read(root.join("proc/1/environ")) {
        if let Some(v) = env
            .split(|b| *b == 0)
            .filter_map(|kv| std::str::from_utf8(kv).ok())
            .find_map(|kv| kv.strip_prefix("container="))
        {
            return Some((v.to_string(), "container= in /proc/1/environ".into()));
        }
    }
    let cgroup = fs::read_to_string(root.join("proc/1/cgroup")).unwrap_or_default();
    for (needle, name) in [
        ("/docker", "docker"),
        ("/kubepods", "kubernetes"),
        ("/lxc", "lxc"),
        ("libpod", "podman"),
    ] {
        if cgroup.contains(needle) {
            return Some((name.into(), format!("{needle} in /proc/1/cgroup")));
        }
    }
    Some(("none".into(), "no container evidence in /".into()))
}

/// The VM layer from DMI under `root` and the CPU flags in `cpuinfo`.
fn vm_evidence(root: &Path, cpuinfo: &str) -> (String, String) {
    let dmi = |f: &str| {
        fs::read_to_string(root.join("sys/class/dmi/id").join(f))
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default()
    };
    let vendor = format!("{} {}", dmi("sys_vendor"), dmi("product_name"));
    for (needle, name) in [
        ("qemu", "qemu"),
        ("kvm", "kvm"),
        ("vmware", "vmware"),
        ("virtualbox", "oracle"),
        ("microsoft", "microsoft"),
        ("amazon", "amazon"),
        ("google", "google"),
    ] {
        if vendor.contains(needle) {
            return (name.into(), format!("DMI: {}", vendor.trim()));
        }
    }
    let hypervisor = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
    if hypervisor {
        // Firecracker exposes no DMI; its kernels often say so in their release.
        let (_, release, _) = crate::sys::uname();
        if release.contains("-fc") || release.contains("firecracker") {
            return (
                "firecracker".into(),
                format!("CPU flag hypervisor, no DMI, kernel release {release}"),
            );
        }
        return (
            "unknown hypervisor".into(),
            "CPU flag hypervisor, no DMI vendor".into(),
        );
    }
    (
        "none".into(),
        "no hypervisor CPU flag, no DMI vendor".into(),
    )
}

/// Versions of the external programs isobench can use, for those present: what each
/// subject drives, plus the busybox that goes into the container rootfs.
pub fn components(subjects: &[Description]) -> BTreeMap<String, String> {
    let mut c: BTreeMap<String, String> = subjects
        .iter()
        .filter_map(|d| Some((d.name.clone(), d.version.clone()?)))
        .collect();
    if let Some(v) = crate::subprocess::version_line("busybox", &["--help"]) {
        c.insert("busybox".into(), crate::subprocess::extract_version(&v));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_in_a_vm_names_both_layers() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::write(root.join(".dockerenv"), "").expect("write");
        let cpuinfo = "flags\t\t: fpu vme hypervisor lahf_lm\n";
        std::fs::create_dir_all(root.join("sys/class/dmi/id")).expect("mkdir");
        std::fs::write(root.join("sys/class/dmi/id/sys_vendor"), "QEMU\n").expect("write");
        let layers = Layers {
            container: container_evidence(root),
            vm: Some(vm_evidence(root, cpuinfo)),
        };
        let mut notes = BTreeMap::new();
        assert_eq!(layers.describe(&mut notes), "docker in qemu");
        assert_eq!(
            notes["virtualization_container"],
            "docker (/.dockerenv exists)"
        );
        assert!(
            notes["virtualization_vm"].starts_with("qemu (DMI: qemu"),
            "{notes:?}"
        );
    }

    #[test]
    fn container_evidence_from_pid1() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("proc/1")).expect("mkdir");
        std::fs::write(root.join("proc/1/cgroup"), "0::/\n").expect("write");
        assert_eq!(
            container_evidence(root).map(|c| c.0).as_deref(),
            Some("none")
        );
        std::fs::write(root.join("proc/1/cgroup"), "1:cpu:/docker/abc\n").expect("write");
        assert_eq!(
            container_evidence(root).map(|c| c.0).as_deref(),
            Some("docker")
        );
        std::fs::write(root.join("proc/1/environ"), b"HOME=/\0container=lxc\0").expect("write");
        assert_eq!(
            container_evidence(root).map(|c| c.0).as_deref(),
            Some("lxc")
        );
        // Neither layer: a bare-metal host.
        let layers = Layers {
            container: Some(("none".into(), "x".into())),
            vm: Some(vm_evidence(&root.join("absent"), "flags\t: fpu\n")),
        };
        assert_eq!(layers.describe(&mut BTreeMap::new()), "none");
    }
}

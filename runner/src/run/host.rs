//! The host fingerprint recorded in every run file: what a reader needs to judge whether
//! two runs are comparable (kernel first, CPU model and count, cgroup layout,
//! virtualization, accelerator, component versions).

use std::collections::BTreeMap;
use std::fs;

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
        virtualization: virtualization(&cpuinfo),
        kvm_usable: false,
        components: components(subjects),
        notes,
    }
}

/// What the host itself runs on.
fn virtualization(cpuinfo: &str) -> String {
    if let Some(v) = crate::subprocess::version_line("systemd-detect-virt", &[]) {
        return v;
    }
    let dmi = |f: &str| {
        fs::read_to_string(format!("/sys/class/dmi/id/{f}"))
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
            return name.into();
        }
    }
    let hypervisor = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
    if hypervisor {
        // Firecracker exposes no DMI; its kernels often say so in their release.
        let (_, release, _) = crate::sys::uname();
        if release.contains("-fc") || release.contains("firecracker") {
            return "firecracker (guessed from kernel release)".into();
        }
        return "unknown hypervisor".into();
    }
    "none".into()
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

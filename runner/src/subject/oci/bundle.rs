//! The runtime-spec bundle (`config.json`) generated with the `oci-spec` crate: the
//! container's process, root, namespaces, mounts, `cgroupsPath` and `linux.resources`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{
    LinuxBuilder, LinuxCpu, LinuxMemory, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
};

use super::{OciError, ReadyChannel, READY_FD};
use crate::subject::SubjectError;

/// The `config.json` text of a container of `rootfs` running `args`, under `limits`.
pub fn config_text(
    rootfs: &Path,
    args: Vec<String>,
    cgroups_path: &str,
    ready: ReadyChannel,
    limits: Option<&crate::subject::limits::Limits>,
) -> Result<String, SubjectError> {
    let spec_error = |source| {
        SubjectError::from(OciError::Spec {
            rootfs: rootfs.to_path_buf(),
            source,
        })
    };
    let mut spec = bundle_spec(rootfs, args, cgroups_path, ready).map_err(spec_error)?;
    if let Some(l) = limits {
        set_resources(&mut spec, l).map_err(spec_error)?;
    }
    serde_json::to_string(&spec).map_err(|e| spec_error(oci_spec::OciSpecError::SerDe(e)))
}

/// The runtime spec of a probe container (see the module doc).
pub fn bundle_spec(
    rootfs: &Path,
    args: Vec<String>,
    cgroups_path: &str,
    ready: ReadyChannel,
) -> Result<Spec, oci_spec::OciSpecError> {
    let defaults = Spec::default();
    // Read-only (as `runc spec` makes it), except for the probe's workload mode, which
    // writes into its own root filesystem (fileio, sqlite): args are [probe, mode, ...].
    let readonly = args.get(1).map(String::as_str) != Some("workload");
    let mut env = vec!["PATH=/bin".to_string()];
    if ready == ReadyChannel::PreservedFd {
        // Without it the probe prints its marker line on stdout (ReadyChannel::Stdout).
        env.push(format!("ISOBENCH_READY_FD={READY_FD}"));
    }
    let process = ProcessBuilder::default()
        .terminal(false)
        .args(args)
        .env(env)
        .cwd("/")
        .no_new_privileges(true)
        .build()?;
    let namespaces = [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Network,
    ]
    .into_iter()
    .map(|t| LinuxNamespaceBuilder::default().typ(t).build())
    .collect::<Result<Vec<_>, _>>()?;
    let default_linux = defaults.linux().clone().unwrap_or_default();
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .cgroups_path(PathBuf::from(cgroups_path))
        .build()?;
    linux.set_masked_paths(default_linux.masked_paths().clone());
    linux.set_readonly_paths(default_linux.readonly_paths().clone());
    linux.set_resources(default_linux.resources().clone());
    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(rootfs)
                .readonly(readonly)
                .build()?,
        )
        .process(process)
        .hostname("isobench")
        .linux(linux)
        .build()?;
    spec.set_mounts(defaults.mounts().clone());
    // Process defaults (capabilities, rlimits) as `runc spec` has them.
    if let (Some(p), Some(d)) = (spec.process_mut().as_mut(), defaults.process().as_ref()) {
        p.set_capabilities(d.capabilities().clone());
        p.set_rlimits(d.rlimits().clone());
    }
    Ok(spec)
}

/// Put `l` into the spec's `linux.resources` (runtime-spec config-linux.md, "CPU",
/// "Memory", "PIDs"); fields left `None` stay unset (the runtime's default: unlimited).
pub fn set_resources(
    spec: &mut Spec,
    l: &crate::subject::limits::Limits,
) -> Result<(), oci_spec::OciSpecError> {
    let us = |d: Duration| d.as_micros() as u64;
    let Some(linux) = spec.linux_mut().as_mut() else {
        return Ok(());
    };
    let mut res = linux.resources().clone().unwrap_or_default();
    let mut cpu = LinuxCpu::default();
    cpu.set_quota(l.cpu_quota.map(|q| us(q).max(1000) as i64))
        .set_period(l.cpu_period.map(us))
        .set_shares(l.cpu_shares)
        .set_burst(l.cpu_burst.map(us));
    res.set_cpu(Some(cpu));
    if let Some(m) = l.memory_bytes {
        let mut mem = LinuxMemory::default();
        mem.set_limit(Some(m as i64))
            .set_swap(l.swap_bytes.map(|s| m.saturating_add(s) as i64));
        res.set_memory(Some(mem));
    }
    if let Some(p) = l.pids_max {
        res.set_pids(Some(LinuxPidsBuilder::default().limit(p as i64).build()?));
    }
    linux.set_resources(Some(res));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_has_the_container_namespaces_and_no_terminal() {
        let spec = bundle_spec(
            Path::new("/tmp/rootfs"),
            vec!["/isobench-probe".into(), "ready".into()],
            "/isobench-test/c1",
            ReadyChannel::PreservedFd,
        )
        .expect("spec");
        let json = serde_json::to_value(&spec).expect("json");
        assert_eq!(json["process"]["terminal"], false);
        assert_eq!(json["process"]["args"][1], "ready");
        assert_eq!(json["root"]["path"], "/tmp/rootfs");
        assert_eq!(json["linux"]["cgroupsPath"], "/isobench-test/c1");
        let ns: Vec<&str> = json["linux"]["namespaces"]
            .as_array()
            .expect("namespaces")
            .iter()
            .filter_map(|n| n["type"].as_str())
            .collect();
        assert_eq!(ns, ["pid", "mount", "uts", "ipc", "network"]);
        assert!(json["mounts"].as_array().is_some_and(|m| !m.is_empty()));
    }

    #[test]
    fn limits_go_into_linux_resources() {
        let limits = crate::cgroup::Limits {
            cpu_quota: Some(Duration::from_millis(25)),
            cpu_period: Some(Duration::from_millis(100)),
            cpu_shares: Some(102_400),
            memory_bytes: Some(32 << 20),
            swap_bytes: Some(0),
            ..crate::cgroup::Limits::default()
        };
        let text = config_text(
            Path::new("/tmp/rootfs"),
            vec!["/isobench-probe".into(), "work".into()],
            "/isobench-test/c1",
            ReadyChannel::PreservedFd,
            Some(&limits),
        )
        .expect("config");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let r = &json["linux"]["resources"];
        assert_eq!(r["cpu"]["quota"], 25_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["cpu"]["shares"], 102_400);
        assert_eq!(r["memory"]["limit"], 32 << 20);
        // runtime-spec swap is memory + swap: equal to the limit means no swap.
        assert_eq!(r["memory"]["swap"], 32 << 20);
    }
}

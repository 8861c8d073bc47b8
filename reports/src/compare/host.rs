//! Host differences that matter when reading a comparison: the kernel first (the usual
//! reason for comparing), then OS, hardware, cgroup mode, virtualisation, component and
//! tool versions, and the run configuration.

use serde::Serialize;

use crate::model::Run;

/// One host (or tool/config) field whose value differs between runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostDifference {
    pub field: String,
    /// One value per run, in run order ("-" when absent).
    pub values: Vec<String>,
}

/// Configuration keys that describe how the run was made, not what it measured.
const IGNORED_CONFIG: &[&str] = &["json", "progress", "verbose", "workdir", "out"];

/// Fields whose values are not all equal, in order of importance.
pub fn host_differences(runs: &[&Run]) -> Vec<HostDifference> {
    let mut fields: Vec<(String, Vec<String>)> = vec![
        (
            "kernel".into(),
            runs.iter().map(|r| r.host.kernel.clone()).collect(),
        ),
        (
            "os".into(),
            runs.iter().map(|r| r.host.os.clone()).collect(),
        ),
        (
            "cpu_model".into(),
            runs.iter().map(|r| r.host.cpu_model.clone()).collect(),
        ),
        (
            "cpus".into(),
            runs.iter().map(|r| r.host.cpus.to_string()).collect(),
        ),
        (
            "memory".into(),
            runs.iter()
                .map(|r| super::human(r.host.memory_bytes as f64, "bytes"))
                .collect(),
        ),
        (
            "cgroup".into(),
            runs.iter().map(|r| r.host.cgroup.clone()).collect(),
        ),
        (
            "virtualization".into(),
            runs.iter().map(|r| r.host.virtualization.clone()).collect(),
        ),
        (
            "kvm_usable".into(),
            runs.iter().map(|r| r.host.kvm_usable.to_string()).collect(),
        ),
        (
            "hostname".into(),
            runs.iter().map(|r| r.host.hostname.clone()).collect(),
        ),
        (
            "isobench".into(),
            runs.iter()
                .map(|r| match &r.tool.git {
                    Some(g) => format!("{} ({g})", r.tool.version),
                    None => r.tool.version.clone(),
                })
                .collect(),
        ),
    ];
    let mut components: Vec<&String> = runs.iter().flat_map(|r| r.host.components.keys()).collect();
    components.sort();
    components.dedup();
    for c in components {
        fields.push((
            c.clone(),
            runs.iter()
                .map(|r| {
                    r.host
                        .components
                        .get(c)
                        .cloned()
                        .unwrap_or_else(|| "-".into())
                })
                .collect(),
        ));
    }
    let mut keys: Vec<&String> = runs
        .iter()
        .filter_map(|r| r.config.as_object())
        .flat_map(|o| o.keys())
        .filter(|k| !IGNORED_CONFIG.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        fields.push((
            format!("config.{k}"),
            runs.iter()
                .map(|r| {
                    r.config
                        .get(k)
                        .map_or_else(|| "-".into(), |v| v.to_string())
                })
                .collect(),
        ));
    }
    fields
        .into_iter()
        .filter(|(_, v)| v.iter().any(|x| x != &v[0]))
        .map(|(field, values)| HostDifference { field, values })
        .collect()
}

//! Rows a reader scans: every measurement's summary, every skip or failure with its
//! reason, and the environment (host, accelerator, components, notes). Plain strings,
//! already formatted, so the HTML template and the Markdown print the same thing.

use serde::Serialize;

use super::select;
use crate::model::{Measurement, Run, Status};
use crate::units::{format_bytes, format_value};

/// One `ok` measurement, formatted.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryRow {
    pub scenario: String,
    pub subject: String,
    pub case: String,
    pub metric: String,
    pub labels: String,
    pub n: usize,
    pub p50: String,
    pub ci: String,
    pub p90: String,
    pub p99: String,
    pub max: String,
}

/// One skipped or failed measurement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProblemRow {
    /// "skipped" | "failed".
    pub status: String,
    pub scenario: String,
    pub subject: String,
    pub case: String,
    pub metric: String,
    pub labels: String,
    pub reason: String,
}

/// A key and its value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

/// "k=v, k=v".
pub fn labels_text(m: &Measurement) -> String {
    m.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Summary rows of every `ok` measurement, in run order.
pub fn summary_rows(run: &Run) -> Vec<SummaryRow> {
    run.measurements
        .iter()
        .filter(|m| m.status == Status::Ok)
        .filter_map(|m| {
            let s = m.summary?;
            let f = |v: f64| format_value(v, &m.unit);
            Some(SummaryRow {
                scenario: m.scenario.clone(),
                subject: m.subject.clone(),
                case: m.case.clone(),
                metric: m.metric.clone(),
                labels: labels_text(m),
                n: s.n,
                p50: f(s.p50),
                ci: format!("{} – {}", f(s.p50_ci[0]), f(s.p50_ci[1])),
                p90: f(s.p90),
                p99: f(s.p99),
                max: f(s.max),
            })
        })
        .collect()
}

/// Every skipped or failed measurement, with its reason (and `ok` ones without numbers).
pub fn problem_rows(run: &Run) -> Vec<ProblemRow> {
    run.measurements
        .iter()
        .filter(|m| m.status != Status::Ok || m.summary.is_none())
        .map(|m| ProblemRow {
            status: match m.status {
                Status::Skipped => "skipped",
                Status::Failed => "failed",
                Status::Ok => "empty",
            }
            .into(),
            scenario: m.scenario.clone(),
            subject: m.subject.clone(),
            case: m.case.clone(),
            metric: m.metric.clone(),
            labels: labels_text(m),
            reason: m
                .reason
                .clone()
                .unwrap_or_else(|| "no reason recorded".into()),
        })
        .collect()
}

/// What the VMs of this run ran on.
pub fn accelerator(run: &Run) -> String {
    let mut accels: Vec<&str> = run
        .measurements
        .iter()
        .filter_map(|m| m.labels.get("accel").map(String::as_str))
        .collect();
    accels.sort_unstable();
    accels.dedup();
    let kvm = if run.host.kvm_usable {
        "KVM usable"
    } else {
        "KVM not usable (or not probed)"
    };
    if accels.is_empty() {
        kvm.to_string()
    } else {
        let used = accels.join(", ");
        let tcg = if accels.contains(&"tcg") {
            " — tcg is QEMU's software CPU emulator, far slower than hardware virtualization"
        } else {
            ""
        };
        format!("{kvm}; VMs ran with accel={used}{tcg}")
    }
}

/// Host, run and configuration facts, in reading order.
pub fn environment(run: &Run) -> Vec<KeyValue> {
    let h = &run.host;
    let mut out = vec![
        kv("hostname", h.hostname.clone()),
        kv("kernel", h.kernel.clone()),
        kv("os", h.os.clone()),
        kv("cpu", format!("{} ({} online CPUs)", h.cpu_model, h.cpus)),
        kv("memory", format_bytes(h.memory_bytes as f64)),
        kv("cgroup layout", h.cgroup.clone()),
        kv("host virtualization", h.virtualization.clone()),
        kv("accelerator", accelerator(run)),
        kv(
            "tool",
            format!(
                "{} {}{}",
                run.tool.name,
                run.tool.version,
                run.tool
                    .git
                    .as_deref()
                    .map(|g| format!(" ({g})"))
                    .unwrap_or_default()
            ),
        ),
        kv("started", run.started_at.clone()),
        kv(
            "finished",
            run.finished_at
                .clone()
                .unwrap_or_else(|| "not finished (interrupted or in progress)".into()),
        ),
    ];
    if let Some(obj) = run.config.as_object() {
        let keys = [
            "scenarios",
            "subjects",
            "quick",
            "iterations",
            "order",
            "seed",
        ];
        let cfg: Vec<String> = keys
            .iter()
            .filter_map(|k| obj.get(*k).map(|v| format!("{k}={v}")))
            .collect();
        if !cfg.is_empty() {
            out.push(kv("configuration", cfg.join(" ")));
        }
    }
    for m in &run.measurements {
        if select::class_of(&m.subject) == select::Class::Harness && m.status == Status::Ok {
            if let Some(s) = m.summary {
                out.push(kv(
                    &format!("harness floor ({} {})", m.scenario, m.metric),
                    format!(
                        "p50 {} — the timer and bookkeeping cost in every sample",
                        format_value(s.p50, &m.unit)
                    ),
                ));
            }
        }
    }
    out
}

/// Component versions.
pub fn components(run: &Run) -> Vec<KeyValue> {
    run.host
        .components
        .iter()
        .map(|(k, v)| kv(k, v.clone()))
        .collect()
}

/// Host notes.
pub fn notes(run: &Run) -> Vec<KeyValue> {
    run.host
        .notes
        .iter()
        .map(|(k, v)| kv(k, v.clone()))
        .collect()
}

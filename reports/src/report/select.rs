//! Picking measurements out of a run and naming them for a reader: which subjects are
//! processes, containers or VMs, how a series is labelled, whether a number came from an
//! emulated VM. Shared by the headline, the charts, the HTML and the Markdown.

use std::collections::BTreeMap;

use crate::model::{Measurement, Run, Status, SubjectInfo};

/// What kind of isolation a subject is; the headline compares these classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// A plain fork/exec'd process: the baseline.
    Process,
    /// A process in fresh namespaces, no container runtime.
    Namespaces,
    /// A container runtime or sandbox (isobench's own sandbox, runc, crun, bwrap, engines):
    /// the payload runs on the host's kernel.
    Container,
    /// A container whose payload runs on a kernel of its own in user space (gVisor's
    /// runsc): between containers and VMs.
    Sandboxed,
    /// A virtual machine (QEMU, ...).
    Vm,
    /// The harness measuring itself (timer overhead), never compared.
    Harness,
    Other,
}

impl Class {
    /// The class a subject wrote into the run file's `subjects` map (`SubjectInfo::class`).
    pub fn from_label(label: &str) -> Class {
        match label {
            "process" => Class::Process,
            "namespaces" => Class::Namespaces,
            "container" => Class::Container,
            "sandboxed container" => Class::Sandboxed,
            "vm" => Class::Vm,
            "harness" => Class::Harness,
            _ => Class::Other,
        }
    }
}

/// Classes and phrases of the subjects of one run: what the subjects wrote about
/// themselves (`Run::subjects`), falling back to [`class_of`] and [`subject_phrase`]'s
/// table of known subjects for older run files and for names the map lacks.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    subjects: &'a BTreeMap<String, SubjectInfo>,
}

impl<'a> Catalog<'a> {
    pub fn of(run: &'a Run) -> Catalog<'a> {
        Catalog::of_subjects(&run.subjects)
    }

    /// The catalog of a run's `subjects` map (an empty one: the table of known subjects).
    pub fn of_subjects(subjects: &'a BTreeMap<String, SubjectInfo>) -> Catalog<'a> {
        Catalog { subjects }
    }

    pub fn class(&self, subject: &str) -> Class {
        match self.subjects.get(subject) {
            Some(info) => Class::from_label(&info.class),
            None => class_of(subject),
        }
    }

    /// [`subject_phrase`], with the subject's own phrase as the base when it wrote one.
    pub fn phrase(&self, m: &Measurement) -> String {
        match self.subjects.get(&m.subject) {
            Some(info) if !info.phrase.is_empty() => qualify_phrase(info.phrase.clone(), m),
            _ => subject_phrase(m),
        }
    }
}

/// The class of a subject name as written in the run file, from the table of subjects
/// isobench knew before runs described their subjects (see [`Catalog`]).
pub fn class_of(subject: &str) -> Class {
    match subject {
        "process" => Class::Process,
        "namespaces" => Class::Namespaces,
        "sandbox" | "runc" | "crun" | "bwrap" | "docker" | "podman" | "youki" | "lxc" => {
            Class::Container
        }
        "runsc" => Class::Sandboxed,
        "harness" => Class::Harness,
        s if s.starts_with("qemu")
            || s.starts_with("firecracker")
            || s.starts_with("cloud-hypervisor")
            || s == "vm" =>
        {
            Class::Vm
        }
        _ => Class::Other,
    }
}

/// Cases that only mean "the subject's one configuration" and are left out of names.
fn is_default_case(case: &str) -> bool {
    matches!(case, "" | "default" | "empty")
}

/// Whether the measurement ran under software emulation (QEMU TCG).
pub fn is_emulated(m: &Measurement) -> bool {
    m.labels.get("accel").is_some_and(|a| a == "tcg")
}

/// Short series name: "runc", "qemu/microvm [tcg]".
pub fn series_name(m: &Measurement) -> String {
    let mut s = m.subject.clone();
    if !is_default_case(&m.case) {
        s.push('/');
        s.push_str(&m.case);
    }
    if let Some(a) = m.labels.get("accel") {
        s.push_str(&format!(" [{a}]"));
    }
    s
}

/// A noun phrase for sentences: "a runc container", "a QEMU VM (microvm) under software
/// emulation (TCG)".
pub fn subject_phrase(m: &Measurement) -> String {
    let base = match m.subject.as_str() {
        "process" => "a plain process".to_string(),
        "namespaces" => "a process in fresh namespaces".to_string(),
        "sandbox" => "an isobench sandbox container".to_string(),
        "runc" => "a runc container".to_string(),
        "crun" => "a crun container".to_string(),
        "bwrap" => "a bubblewrap sandbox".to_string(),
        "runsc" => "a gVisor (runsc) sandbox".to_string(),
        "docker" => "a Docker container".to_string(),
        "podman" => "a Podman container".to_string(),
        s if class_of(s) == Class::Vm => {
            let name = if s.starts_with("qemu") {
                "QEMU"
            } else if s.starts_with("firecracker") {
                "Firecracker"
            } else {
                s
            };
            format!("a {name} VM")
        }
        s => format!("a {s} subject"),
    };
    qualify_phrase(base, m)
}

/// A subject phrase with the case and accelerator of `m` added.
fn qualify_phrase(base: String, m: &Measurement) -> String {
    let mut out = base;
    if !is_default_case(&m.case) {
        out.push_str(&format!(" ({})", m.case));
    }
    match m.labels.get("accel").map(String::as_str) {
        Some("tcg") => out.push_str(" under software emulation (TCG)"),
        Some("kvm") => out.push_str(" with KVM"),
        Some(other) => out.push_str(&format!(" (accel {other})")),
        None => {}
    }
    out
}

/// `ok` measurements with samples of `scenario`/`metric` (no label filter).
pub fn ok_metric<'a>(
    run: &'a Run,
    scenario: &'a str,
    metric: &'a str,
) -> impl Iterator<Item = &'a Measurement> + 'a {
    run.measurements.iter().filter(move |m| {
        m.scenario == scenario && m.metric == metric && m.status == Status::Ok && has_data(m)
    })
}

/// Whether a measurement has numbers to draw (a summary; raw samples may have been
/// dropped by a writer that keeps only the histogram).
pub fn has_data(m: &Measurement) -> bool {
    m.summary.is_some_and(|s| s.n > 0)
}

/// Whether the labels other than `accel` are empty (the plain point of a case, not a
/// sweep point).
pub fn unswept(m: &Measurement) -> bool {
    // Sweep labels vary the workload (clone concurrency, mount-table size); descriptive
    // labels (accel, machine, cgroup_manager, oci_runtime, namespaces) do not.
    !m.labels
        .keys()
        .any(|k| matches!(k.as_str(), "concurrency" | "mounts"))
}

/// Footprint metrics: names ending `_rss` or `_pss`, in bytes.
pub fn is_footprint(m: &Measurement) -> bool {
    m.unit == "bytes" && (m.metric.ends_with("_rss") || m.metric.ends_with("_pss"))
}

/// Throttle cases that mean "no quota".
pub fn is_unthrottled(case: &str) -> bool {
    matches!(
        case,
        "unthrottled" | "none" | "max" | "unlimited" | "no-quota"
    )
}

/// Sort key of a throttle case: "25%" → 25, unthrottled last.
pub fn quota_order(case: &str) -> f64 {
    if is_unthrottled(case) {
        return f64::INFINITY;
    }
    case.trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .unwrap_or(f64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;
    use std::collections::BTreeMap;

    #[test]
    fn names_and_phrases() {
        let mut labels = BTreeMap::new();
        labels.insert("accel".to_string(), "tcg".to_string());
        let m = Measurement::from_samples(
            MeasurementKey::new("startup", "qemu", "microvm", "ready"),
            "ns",
            labels,
            vec![1.0],
        );
        assert_eq!(series_name(&m), "qemu/microvm [tcg]");
        assert_eq!(
            subject_phrase(&m),
            "a QEMU VM (microvm) under software emulation (TCG)"
        );
        assert!(is_emulated(&m));
        assert_eq!(class_of("runc"), Class::Container);
        assert_eq!(class_of("qemu"), Class::Vm);
        assert_eq!(class_of("runsc"), Class::Sandboxed);
        assert_eq!(Class::from_label("sandboxed container"), Class::Sandboxed);
        // The ladder: each class isolates more than the one before.
        assert!(Class::Container < Class::Sandboxed && Class::Sandboxed < Class::Vm);
        assert!(quota_order("25%") < quota_order("100%"));
        assert!(quota_order("100%") < quota_order("unthrottled"));
    }
}

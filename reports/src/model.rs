//! The run file: `isobench.run/v1`, the public contract described in ARCHITECTURE.md.
//!
//! New fields may be added (always optional, `#[serde(default)]`), existing ones may not
//! change meaning without a new schema version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Schema identifier written in every run file.
pub const RUN_SCHEMA: &str = "isobench.run/v1";

/// Largest run file `Run::load` accepts. A quick run is ~100 KiB; a long one a few MiB.
/// Enforced on the bytes read, not only on the size the file system reports (0 for a
/// procfs file, a FIFO or /dev/zero).
pub const MAX_RUN_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One invocation of `isobench run`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Run {
    pub schema: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; `None` while the run is in progress (or was interrupted).
    #[serde(default)]
    pub finished_at: Option<String>,
    pub tool: Tool,
    pub host: Host,
    /// The effective configuration (`RunConfig` of the runner), kept as JSON so the reports
    /// crate does not depend on the runner's types.
    #[serde(default)]
    pub config: serde_json::Value,
    /// `true` when the run ended early (Ctrl-C, SIGTERM, a fatal error): what is here was
    /// measured, what is missing was not.
    #[serde(default)]
    pub interrupted: bool,
    /// How each subject of the run describes itself (class, phrase, method, version),
    /// keyed by subject name. Older run files have none; readers then fall back to
    /// `report::select`'s table of known subjects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subjects: BTreeMap<String, SubjectInfo>,
    /// Where the run's wall time went, per scenario (and per subject inside it), so a
    /// user can see what to trim. Older run files have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_spent: Vec<ScenarioTime>,
    #[serde(default)]
    pub measurements: Vec<Measurement>,
}

/// The wall time of one scenario of a run, and of each subject inside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ScenarioTime {
    pub scenario: String,
    /// From the scenario's start to its end, seconds.
    pub total_s: f64,
    #[serde(default)]
    pub subjects: Vec<SubjectTime>,
    /// Seconds waited before the scenario for the machine to settle after the previous
    /// one (0 for the first scenario of a run).
    #[serde(default)]
    pub settle_s: f64,
    /// Whether that wait ended with the machine as quiet as before the run (absent: no
    /// wait, or an older file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_quiet: Option<bool>,
}

/// A subject's share of a scenario's wall time, seconds: `prepare` (building its rootfs,
/// image or bundle, `available()`), `measure` (warm-up and measured launches, footprint
/// passes; the subject's own teardown after each launch excluded) and `teardown`
/// (removing what each launch created, and `finish()`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SubjectTime {
    pub subject: String,
    pub prepare_s: f64,
    pub measure_s: f64,
    pub teardown_s: f64,
}

/// A subject's description of itself, written by the runner (`Subject::describe`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SubjectInfo {
    /// "process" | "namespaces" | "container" | "sandboxed container" | "vm" (see
    /// `report::select::Class`).
    pub class: String,
    /// A noun phrase for sentences: "a runc container".
    pub phrase: String,
    /// How the subject launches the payload, in a sentence.
    #[serde(default)]
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Tool {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub git: Option<String>,
}

/// Host fingerprint: what a reader needs to judge whether two runs are comparable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Host {
    pub hostname: String,
    /// `uname -r`.
    pub kernel: String,
    /// PRETTY_NAME of os-release.
    pub os: String,
    pub cpu_model: String,
    /// Online CPUs.
    pub cpus: u32,
    pub memory_bytes: u64,
    /// "v1" | "v2" | "hybrid".
    pub cgroup: String,
    /// What the host itself runs on ("none", "kvm", "firecracker", ... or "unknown").
    pub virtualization: String,
    /// Whether a bounded KVM test boot succeeded in this run (false when not probed).
    pub kvm_usable: bool,
    /// Component name -> version, for those found ("runc", "qemu", "docker", ...).
    #[serde(default)]
    pub components: BTreeMap<String, String>,
    /// Anything else worth recording (e.g. "kvm_probe": "timed out after 20 s").
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
}

/// One distribution (or a skip/failure in its place) for one
/// (scenario, subject, case, metric, labels).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Measurement {
    pub scenario: String,
    pub subject: String,
    pub case: String,
    pub metric: String,
    /// "ns" | "bytes" | "ratio" | "ops/s" | "count" | ...
    pub unit: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub status: Status,
    /// Why it was skipped or failed; for `ok`, optional remarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Raw values in `unit`, in the order they were taken (warm-up excluded).
    #[serde(default)]
    pub samples: Vec<f64>,
    /// Base64 of an HDR histogram (V2 + deflate), for integral units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// Summary statistics of `samples` (see `stats::summarize`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    /// Bootstrap 95% confidence interval of the median.
    pub p50_ci: [f64; 2],
}

impl Measurement {
    /// A measurement from raw samples: computes the summary and, for integral units,
    /// the HDR histogram.
    pub fn from_samples(
        key: MeasurementKey,
        unit: &str,
        labels: BTreeMap<String, String>,
        samples: Vec<f64>,
    ) -> Self {
        let summary = crate::stats::summarize(&samples);
        let histogram = if is_integral_unit(unit) {
            crate::histogram::encode(&samples).ok()
        } else {
            None
        };
        let status = if summary.is_some() {
            Status::Ok
        } else {
            Status::Failed
        };
        Measurement {
            scenario: key.scenario,
            subject: key.subject,
            case: key.case,
            metric: key.metric,
            unit: unit.to_string(),
            labels,
            reason: if summary.is_none() {
                Some("no samples were collected".into())
            } else {
                None
            },
            status,
            summary,
            samples,
            histogram,
        }
    }

    /// A skipped or failed measurement: no numbers, a reason a person can act on.
    pub fn not_ok(
        key: MeasurementKey,
        unit: &str,
        status: Status,
        reason: impl Into<String>,
    ) -> Self {
        Measurement {
            scenario: key.scenario,
            subject: key.subject,
            case: key.case,
            metric: key.metric,
            unit: unit.to_string(),
            labels: BTreeMap::new(),
            status,
            reason: Some(reason.into()),
            summary: None,
            samples: Vec::new(),
            histogram: None,
        }
    }

    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels.extend(labels);
        self
    }

    /// The identity used to match measurements across runs.
    pub fn identity(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{}/{}/{}/{}{}",
            self.scenario,
            self.subject,
            self.case,
            self.metric,
            if labels.is_empty() {
                String::new()
            } else {
                format!("[{}]", labels.join(","))
            }
        )
    }
}

/// The four names that, with labels, identify a measurement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeasurementKey {
    pub scenario: String,
    pub subject: String,
    pub case: String,
    pub metric: String,
}

impl MeasurementKey {
    pub fn new(scenario: &str, subject: &str, case: &str, metric: &str) -> Self {
        MeasurementKey {
            scenario: scenario.into(),
            subject: subject.into(),
            case: case.into(),
            metric: metric.into(),
        }
    }
}

/// Units whose values are whole numbers and go into an HDR histogram.
pub fn is_integral_unit(unit: &str) -> bool {
    matches!(unit, "ns" | "bytes" | "count")
}

/// Why a run file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    #[error("cannot read run file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// `size` is what was seen: the file's size, or `max + 1` when reading went past the limit.
    #[error("run file {path} is at least {size} bytes, over the {max}-byte limit; is it really an isobench run file?")]
    TooLarge { path: String, size: u64, max: u64 },
    #[error("{path} is {kind}, not a regular file: give the path of an isobench run file (reading {kind} could block or never end)")]
    NotAFile { path: String, kind: &'static str },
    #[error("run file {path} is not valid JSON (truncated or corrupted?): {}", crate::terminal::printable(&.source.to_string()))]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("run file {path} has schema {found:?}; this isobench reads {expected:?}. Re-run with a matching isobench version.")]
    Schema {
        path: String,
        found: String,
        expected: &'static str,
    },
    #[error("run file {path}: measurement {identity} {problem}")]
    Measurement {
        path: String,
        /// scenario/subject/case/metric[labels], through `terminal::printable`, cut at 200
        /// characters.
        identity: String,
        problem: crate::validate::MeasurementProblem,
    },
    // serde quotes what it did not expect (an unknown status, a field name): from the file.
    #[error("run file {path} does not match the isobench.run/v1 shape: {}", crate::terminal::printable(&.source.to_string()))]
    Shape {
        path: String,
        source: serde_json::Error,
    },
}

impl Run {
    /// A minimal valid run holding `measurements` (unit tests of the charts, the headline
    /// and comparisons).
    #[cfg(test)]
    pub(crate) fn of_measurements(measurements: Vec<Measurement>) -> Run {
        Run {
            schema: RUN_SCHEMA.into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
            tool: Tool::default(),
            host: Host::default(),
            config: serde_json::Value::Null,
            interrupted: false,
            subjects: BTreeMap::new(),
            time_spent: Vec::new(),
            measurements,
        }
    }

    /// Read and validate a run file, with errors that name the file and the problem.
    pub fn load(path: &Path) -> Result<Run, RunFileError> {
        Run::load_with_limit(path, MAX_RUN_FILE_BYTES)
    }

    /// `load`, refusing files over `limit` bytes (tests give a small one).
    pub fn load_with_limit(path: &Path, limit: u64) -> Result<Run, RunFileError> {
        let p = crate::terminal::printable(&path.display().to_string()).into_owned();
        let bytes = read_capped(path, limit, &p)?;
        Run::parse(&bytes, &p)
    }

    /// Parse run-file bytes and check that the file is consistent (`validate`: summaries
    /// match samples, no duplicates, no negative durations); `origin` names the source in
    /// errors.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Run, RunFileError> {
        let origin = &*crate::terminal::printable(origin);
        // Straight into the typed model: a `serde_json::Value` of the whole file first
        // took ~32 bytes per sample (4x the samples themselves, 73 MB RSS for a
        // self-compare of a million samples). Only a file that does not parse is read
        // again as a Value, to report its problem in the order a reader fixes it: not
        // JSON, then the wrong schema, then the wrong shape.
        let shape = match serde_json::from_slice::<Run>(bytes) {
            Ok(mut run) if run.schema == RUN_SCHEMA => {
                crate::validate::validate(&mut run.measurements, origin)?;
                return Ok(run);
            }
            Ok(run) => {
                return Err(RunFileError::Schema {
                    path: origin.to_string(),
                    found: run.schema,
                    expected: RUN_SCHEMA,
                })
            }
            Err(source) => source,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|source| RunFileError::Json {
                path: origin.to_string(),
                source,
            })?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or("<missing>");
        if schema != RUN_SCHEMA {
            return Err(RunFileError::Schema {
                path: origin.to_string(),
                found: schema.to_string(),
                expected: RUN_SCHEMA,
            });
        }
        Err(RunFileError::Shape {
            path: origin.to_string(),
            source: shape,
        })
    }
}

/// What a file that is not a regular file is, for messages; `None` for a regular file.
pub(crate) fn special_file_kind(t: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Some(kind)
}

/// The bytes of the regular file at `path`, at most `limit` of them. Opened without
/// blocking (a FIFO would wait for a writer) and without becoming a controlling terminal,
/// then checked with `fstat` on the open file, so what is checked is what is read; read
/// through `take(limit + 1)`, since a size of 0 may hide anything (procfs, devices).
fn read_capped(path: &Path, limit: u64, p: &str) -> Result<Vec<u8>, RunFileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let read_err = |source| RunFileError::Read {
        path: p.to_string(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if let Some(kind) = special_file_kind(meta.file_type()) {
        return Err(RunFileError::NotAFile {
            path: p.to_string(),
            kind,
        });
    }
    let too_large = |size| RunFileError::TooLarge {
        path: p.to_string(),
        size,
        max: limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit.saturating_add(1)));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_schema_and_garbage() {
        assert!(matches!(
            Run::parse(b"{", "x"),
            Err(RunFileError::Json { .. })
        ));
        assert!(matches!(
            Run::parse(br#"{"schema":"other/v9"}"#, "x"),
            Err(RunFileError::Schema { .. })
        ));
        assert!(matches!(
            Run::parse(br#"{"schema":"isobench.run/v1"}"#, "x"),
            Err(RunFileError::Shape { .. })
        ));
    }

    #[test]
    fn errors_come_in_the_order_a_reader_fixes_them() {
        // Not JSON beats a wrong shape found earlier in the file.
        assert!(matches!(
            Run::parse(br#"{"schema":"isobench.run/v1","started_at":5,"#, "x"),
            Err(RunFileError::Json { .. })
        ));
        // A wrong schema beats a wrong shape, whatever the document is.
        for doc in [
            &br#"{"started_at":5,"schema":"other/v2"}"#[..],
            b"[1, 2]",
            b"7",
            br#"{"schema":3}"#,
        ] {
            assert!(
                matches!(Run::parse(doc, "x"), Err(RunFileError::Schema { .. })),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn measurement_round_trips() {
        let m = Measurement::from_samples(
            MeasurementKey::new("clone", "namespaces", "net", "total"),
            "ns",
            BTreeMap::new(),
            vec![1000.0, 1200.0, 1100.0],
        );
        assert_eq!(m.status, Status::Ok);
        assert!(m.histogram.is_some());
        let s = serde_json::to_string(&m).expect("serialize");
        let back: Measurement = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, m);
        assert_eq!(m.identity(), "clone/namespaces/net/total");
    }
}

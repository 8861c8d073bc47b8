//! Run history in SQLite: every recorded run (host fingerprint, tool version) and, per
//! measurement, its identity, median, CI and samples, so nightly jobs can see trends and
//! check tonight's run against a rolling baseline of the previous nights (`check`).
//!
//! The database is a plain file (`isobench run --history FILE.sqlite`, CI keeps it in a
//! cache or an artifact). Opening an older database migrates it through `PRAGMA
//! user_version`; a newer one is refused with a message rather than misread.
//!
//! What `isobench history` prints is rendered here too: `table` (list, trend, check as
//! text) and `markdown` (the check for a CI summary).

mod check;
pub mod markdown;
mod schema;
pub mod table;

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::model::{Run, Status};

pub use check::{check, CheckOptions, CheckReport, CheckRow, CheckVerdict};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("history database {path} has schema version {found}, newer than the {supported} this isobench knows; use a newer isobench or another file")]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("history database {path} is {kind}, not a regular file: give the path of an SQLite file (it is created when missing)")]
    NotAFile { path: String, kind: &'static str },
    #[error("history database {path}: cannot encode {what} as JSON: {source}")]
    Json {
        path: String,
        what: &'static str,
        source: serde_json::Error,
    },
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: String,
}

/// One recorded run, as `history list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRow {
    pub id: i64,
    pub started_at: String,
    pub kernel: String,
    pub hostname: String,
    pub cpu_model: String,
    pub cpus: u32,
    pub tool_version: String,
    pub tool_git: Option<String>,
    pub measurements: usize,
    pub interrupted: bool,
}

/// One point of a metric's trend: the median of one run with its CI.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesPoint {
    pub run_id: i64,
    pub started_at: String,
    pub kernel: String,
    pub tool_git: Option<String>,
    pub unit: String,
    pub n: usize,
    pub p50: f64,
    pub p50_ci: [f64; 2],
}

/// What `record` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored as a new run with this id.
    New(i64),
    /// The same run (start time, host, tool) was already stored under this id.
    AlreadyThere(i64),
}

/// Which runs share a host fingerprint with a given run (CPU model and count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFilter {
    pub cpu_model: String,
    pub cpus: u32,
}

impl History {
    /// Open (creating and migrating as needed) the database at `path`. Anything but a
    /// regular file is refused before SQLite sees it: it would block on a FIFO, and read
    /// /dev/zero as an empty database (and create `/dev/zero-journal` beside it).
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let p = crate::terminal::printable(&path.display().to_string()).into_owned();
        if let Some(kind) = std::fs::metadata(path)
            .ok()
            .and_then(|m| crate::model::special_file_kind(m.file_type()))
        {
            return Err(HistoryError::NotAFile { path: p, kind });
        }
        let conn = Connection::open(path).map_err(|source| HistoryError::Sqlite {
            path: p.clone(),
            source,
        })?;
        let h = History { conn, path: p };
        schema::migrate(&h.conn, &h.path)?;
        Ok(h)
    }

    /// An in-memory database, for tests and one-shot checks.
    pub fn in_memory() -> Result<History, HistoryError> {
        let path = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let h = History { conn, path };
        schema::migrate(&h.conn, &h.path)?;
        Ok(h)
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        |source| HistoryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The key that makes recording idempotent: a run is its start time on its host
    /// with its tool build.
    fn run_key(run: &Run) -> String {
        format!(
            "{}|{}|{}|{}",
            run.started_at,
            run.host.hostname,
            run.tool.version,
            run.tool.git.as_deref().unwrap_or("")
        )
    }

    /// Store `run` with all its measurements, in one transaction.
    pub fn record(&mut self, run: &Run) -> Result<Recorded, HistoryError> {
        let key = Self::run_key(run);
        let path = self.path.clone();
        let sql = |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        };
        let json = |what: &'static str, v: &dyn erased::ToJson| {
            v.to_json().map_err(|source| HistoryError::Json {
                path: path.clone(),
                what,
                source,
            })
        };
        // IMMEDIATE: take the write lock first, so a concurrent writer waits for the busy
        // timeout instead of failing at once when this one upgrades from reading.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        if let Some(id) = tx
            .query_row("SELECT id FROM runs WHERE run_key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?
        {
            return Ok(Recorded::AlreadyThere(id));
        }
        let host_json = json("the host fingerprint", &run.host)?;
        let config_json = json("the run configuration", &run.config)?;
        tx.execute(
            "INSERT INTO runs (run_key, started_at, finished_at, tool_version, tool_git, hostname,
                kernel, os, cpu_model, cpus, memory_bytes, cgroup, virtualization, kvm_usable,
                interrupted, host_json, config_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                key,
                run.started_at,
                run.finished_at,
                run.tool.version,
                run.tool.git,
                run.host.hostname,
                run.host.kernel,
                run.host.os,
                run.host.cpu_model,
                run.host.cpus,
                // SQLite integers are i64; memory sizes stay far below 2^63.
                i64::try_from(run.host.memory_bytes).unwrap_or(i64::MAX),
                run.host.cgroup,
                run.host.virtualization,
                run.host.kvm_usable,
                run.interrupted,
                host_json,
                config_json,
            ],
        )
        .map_err(sql)?;
        let run_id = tx.last_insert_rowid();
        {
            let mut ins = tx
                .prepare(
                    "INSERT OR IGNORE INTO measurements (run_id, identity, scenario, subject,
                        case_name, metric, unit, labels_json, status, reason, n, p50, p50_lo,
                        p50_hi, p90, p99, mean, stddev, min, max, samples_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                        ?16, ?17, ?18, ?19, ?20, ?21)",
                )
                .map_err(sql)?;
            for m in &run.measurements {
                let s = m.summary.filter(|_| m.status == Status::Ok);
                let status = match m.status {
                    Status::Ok => "ok",
                    Status::Skipped => "skipped",
                    Status::Failed => "failed",
                };
                let finite: Vec<f64> = m
                    .samples
                    .iter()
                    .copied()
                    .filter(|x| x.is_finite())
                    .collect();
                ins.execute(params![
                    run_id,
                    m.identity(),
                    m.scenario,
                    m.subject,
                    m.case,
                    m.metric,
                    m.unit,
                    json("labels", &m.labels)?,
                    status,
                    m.reason,
                    s.map(|s| s.n as i64),
                    s.map(|s| s.p50),
                    s.map(|s| s.p50_ci[0]),
                    s.map(|s| s.p50_ci[1]),
                    s.map(|s| s.p90),
                    s.map(|s| s.p99),
                    s.map(|s| s.mean),
                    s.map(|s| s.stddev),
                    s.map(|s| s.min),
                    s.map(|s| s.max),
                    json("samples", &finite)?,
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(Recorded::New(run_id))
    }

    /// The most recent runs first, at most `limit`.
    pub fn list(&self, limit: usize) -> Result<Vec<RunRow>, HistoryError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.started_at, r.kernel, r.hostname, r.cpu_model, r.cpus,
                        r.tool_version, r.tool_git, r.interrupted,
                        (SELECT COUNT(*) FROM measurements m WHERE m.run_id = r.id)
                 FROM runs r ORDER BY r.started_at DESC, r.id DESC LIMIT ?1",
            )
            .map_err(self.sql())?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    kernel: r.get(2)?,
                    hostname: r.get(3)?,
                    cpu_model: r.get(4)?,
                    cpus: r.get(5)?,
                    tool_version: r.get(6)?,
                    tool_git: r.get(7)?,
                    interrupted: r.get(8)?,
                    measurements: r.get::<_, i64>(9)? as usize,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// Every measurement identity recorded, sorted.
    pub fn identities(&self) -> Result<Vec<String>, HistoryError> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT identity FROM measurements ORDER BY identity")
            .map_err(self.sql())?;
        let rows = st.query_map([], |r| r.get(0)).map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// The id under which `run` was recorded, if it was.
    pub fn find(&self, run: &Run) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE run_key = ?1",
                [Self::run_key(run)],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Median of `identity` over the last `last_n` runs that measured it (status ok),
    /// oldest first: the data of a trend chart. `host` limits it to comparable runs;
    /// `before` excludes that run id and later ones (to build a baseline for it).
    pub fn series(
        &self,
        identity: &str,
        last_n: usize,
        host: Option<&HostFilter>,
        before: Option<i64>,
    ) -> Result<Vec<SeriesPoint>, HistoryError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.started_at, r.kernel, r.tool_git, m.unit, m.n, m.p50, m.p50_lo, m.p50_hi
                 FROM measurements m JOIN runs r ON r.id = m.run_id
                 WHERE m.identity = ?1 AND m.status = 'ok' AND m.p50 IS NOT NULL
                   AND (?2 IS NULL OR (r.cpu_model = ?2 AND r.cpus = ?3))
                   AND (?4 IS NULL OR r.id < ?4)
                 ORDER BY r.started_at DESC, r.id DESC LIMIT ?5",
            )
            .map_err(self.sql())?;
        let rows = st
            .query_map(
                params![
                    identity,
                    host.map(|h| h.cpu_model.as_str()),
                    host.map(|h| h.cpus),
                    before,
                    last_n as i64
                ],
                |r| {
                    Ok(SeriesPoint {
                        run_id: r.get(0)?,
                        started_at: r.get(1)?,
                        kernel: r.get(2)?,
                        tool_git: r.get(3)?,
                        unit: r.get(4)?,
                        n: r.get::<_, Option<i64>>(5)?.unwrap_or(0) as usize,
                        p50: r.get(6)?,
                        p50_ci: [
                            r.get::<_, Option<f64>>(7)?.unwrap_or(f64::NAN),
                            r.get::<_, Option<f64>>(8)?.unwrap_or(f64::NAN),
                        ],
                    })
                },
            )
            .map_err(self.sql())?;
        let mut v = rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())?;
        v.reverse();
        Ok(v)
    }

    /// Trend series of every identity measured in the last `last_n` runs, keyed by
    /// identity: what the HTML report draws as "metric over the last N runs".
    pub fn all_series(
        &self,
        last_n: usize,
    ) -> Result<BTreeMap<String, Vec<SeriesPoint>>, HistoryError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT m.identity FROM measurements m
                 WHERE m.run_id IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1)
                   AND m.status = 'ok'
                 ORDER BY m.identity",
            )
            .map_err(self.sql())?;
        let ids = st
            .query_map([last_n as i64], |r| r.get::<_, String>(0))
            .map_err(self.sql())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.sql())?;
        let mut out = BTreeMap::new();
        for id in ids {
            let s = self.series(&id, last_n, None, None)?;
            out.insert(id, s);
        }
        Ok(out)
    }
}

/// Series for the HTML report: "metric over the last `last_n` runs" for every
/// identity, read from the database at `path`. A pure data function; the caller draws.
pub fn trend_series(
    path: &Path,
    last_n: usize,
) -> Result<BTreeMap<String, Vec<SeriesPoint>>, HistoryError> {
    History::open(path)?.all_series(last_n)
}

/// Serialising to JSON without naming the concrete type at every call.
mod erased {
    pub trait ToJson {
        fn to_json(&self) -> Result<String, serde_json::Error>;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> Result<String, serde_json::Error> {
            serde_json::to_string(self)
        }
    }
}

#[cfg(test)]
mod tests;

//! The history database schema and its migrations, versioned by `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::HistoryError;

/// Schema version this code writes.
pub const VERSION: i64 = 1;

const V1: &str = "
CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    run_key        TEXT NOT NULL UNIQUE,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    tool_version   TEXT NOT NULL,
    tool_git       TEXT,
    hostname       TEXT NOT NULL,
    kernel         TEXT NOT NULL,
    os             TEXT NOT NULL,
    cpu_model      TEXT NOT NULL,
    cpus           INTEGER NOT NULL,
    memory_bytes   INTEGER NOT NULL,
    cgroup         TEXT NOT NULL,
    virtualization TEXT NOT NULL,
    kvm_usable     INTEGER NOT NULL,
    interrupted    INTEGER NOT NULL,
    host_json      TEXT NOT NULL,
    config_json    TEXT NOT NULL
);
CREATE TABLE measurements (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    identity     TEXT NOT NULL,
    scenario     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    case_name    TEXT NOT NULL,
    metric       TEXT NOT NULL,
    unit         TEXT NOT NULL,
    labels_json  TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    n            INTEGER,
    p50          REAL,
    p50_lo       REAL,
    p50_hi       REAL,
    p90          REAL,
    p99          REAL,
    mean         REAL,
    stddev       REAL,
    min          REAL,
    max          REAL,
    samples_json TEXT NOT NULL,
    PRIMARY KEY (run_id, identity)
);
CREATE INDEX measurements_by_identity ON measurements (identity, run_id);
CREATE INDEX runs_by_start ON runs (started_at);
";

/// Bring the database at `path` up to `VERSION`.
pub fn migrate(conn: &Connection, path: &str) -> Result<(), HistoryError> {
    let sql = |source| HistoryError::Sqlite {
        path: path.to_string(),
        source,
    };
    // Several nightly jobs may share a file on a runner: wait for a lock, do not fail.
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sql)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    if found > VERSION {
        return Err(HistoryError::TooNew {
            path: path.to_string(),
            found,
            supported: VERSION,
        });
    }
    if found < VERSION {
        // Take the write lock before reading the version again: several processes may
        // open a new file at once, and only the first to get the lock creates the
        // tables (a deferred transaction would read, then fail to upgrade its lock
        // without waiting: "database is locked").
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
            .map_err(sql)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if found < 1 {
            tx.execute_batch(&format!("{V1} PRAGMA user_version = 1;"))
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

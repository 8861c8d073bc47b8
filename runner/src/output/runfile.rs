//! Writing the run file atomically (`atomic_write::replace`: an unguessable temp file in
//! the same directory, fsync, rename). A reader (or a crash) never sees a partial file.

use std::path::{Path, PathBuf};

use isobench_reports::Run;

#[derive(Debug, thiserror::Error)]
pub enum RunFileWriteError {
    #[error("cannot write run file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialize the run: {0}")]
    Json(#[from] serde_json::Error),
}

/// Serialize and atomically write a run.
pub fn write_run(path: &Path, run: &Run) -> Result<(), RunFileWriteError> {
    let mut bytes = serde_json::to_vec_pretty(run)?;
    bytes.push(b'\n');
    crate::atomic_write::replace(path, &bytes, crate::atomic_write::PUBLIC).map_err(|source| {
        RunFileWriteError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

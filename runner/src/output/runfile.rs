//! Writing the run file atomically: write a temp file in the same directory, fsync, rename.
//! A reader (or a crash) never sees a partial file.

use std::io::Write;
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

/// Atomically replace `path` with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serialize and atomically write a run.
pub fn write_run(path: &Path, run: &Run) -> Result<(), RunFileWriteError> {
    let mut bytes = serde_json::to_vec_pretty(run)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|source| RunFileWriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

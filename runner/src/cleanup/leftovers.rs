//! `isobench clean`: replay the journals of runs that are no longer alive and remove
//! what they left.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{remove_resource, CleanupError, JournalLine, Resource};

/// What `isobench clean` found and did.
#[derive(Debug, Default)]
pub struct CleanReport {
    pub journals: Vec<PathBuf>,
    pub removed: Vec<String>,
    /// Left alone, with the reason: what stands there is not what the journal recorded.
    pub skipped: Vec<String>,
    pub failed: Vec<String>,
    /// Journals skipped because their run is still alive.
    pub active: Vec<(PathBuf, u32)>,
}

/// Replay journals of runs that are no longer alive and remove what they left. A
/// journal directory that is not the user's alone is refused (see the module doc of
/// `cleanup`), and so is a journal file in it that is not the user's.
pub fn clean_leftovers(dir: &Path) -> Result<CleanReport, CleanupError> {
    let mut report = CleanReport::default();
    let read_err = |source| CleanupError::ReadJournals {
        dir: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        return Ok(report);
    }
    let dir = &super::trusted_journal_dir(dir)?;
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(read_err(e)),
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    for path in paths {
        let file = match open_own(&path) {
            Ok(f) => f,
            Err(why) => {
                report
                    .skipped
                    .push(format!("skipped journal {}: {why}", path.display()));
                continue;
            }
        };
        let mut owner = None;
        let mut live: BTreeMap<u64, Resource> = BTreeMap::new();
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            // A torn last line (crash mid-write) is ignored.
            match serde_json::from_str::<JournalLine>(&line) {
                Ok(JournalLine::Owner { pid, start_time }) => owner = Some((pid, start_time)),
                Ok(JournalLine::Add { id, res }) => {
                    live.insert(id, res);
                }
                Ok(JournalLine::Del { id }) => {
                    live.remove(&id);
                }
                Err(_) => {}
            }
        }
        if let Some((pid, st)) = owner {
            if pid != std::process::id()
                && crate::sys::process::start_time(pid as i32) == Some(st)
                && st != 0
            {
                report.active.push((path.clone(), pid));
                continue;
            }
        }
        let mut all_ok = true;
        for (_, res) in live.iter().rev() {
            match remove_resource(res) {
                Ok(()) => report.removed.push(res.to_string()),
                Err(e @ CleanupError::Skipped { .. }) => report.skipped.push(e.to_string()),
                Err(e) => {
                    all_ok = false;
                    report.failed.push(e.to_string());
                }
            }
        }
        if all_ok {
            let _ = fs::remove_file(&path);
        }
        report.journals.push(path);
    }
    Ok(report)
}

/// Open a journal only if it is a regular file of the user's, not a symlink.
fn open_own(path: &Path) -> Result<File, String> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| e.to_string())?;
    let m = f.metadata().map_err(|e| e.to_string())?;
    let me = crate::sys::geteuid();
    if !m.is_file() || m.uid() != me {
        return Err(format!(
            "not a regular file of uid {me} (owner uid {}): not believed",
            m.uid()
        ));
    }
    Ok(f)
}

//! KSM (kernel samepage merging): its state, recorded with every VM level, and the
//! opt-in `--ksm` that turns merging on for the VM levels.
//!
//! QEMU marks guest RAM `MADV_MERGEABLE` by default (`-machine mem-merge=on`), so with
//! `run = 1` ksmd merges identical pages of the guests (their kernels' text, zeroed
//! pages); `pages_sharing` counts the pages saved. Merging happens over seconds to
//! minutes (ksmd scans `pages_to_scan` pages every `sleep_millisecs`), so a level's
//! figure depends on how long its VMs lived: the settle bounds that, see the README.

use std::path::{Path, PathBuf};

use crate::cleanup::{Cleanup, CleanupError, Guard, Resource, KSM_RUN};

/// KSM's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KsmState {
    /// 0 stopped, 1 running, 2 stopped and unmerged.
    pub run: u8,
    pub pages_sharing: u64,
}

/// Read KSM's state from `dir` (`/sys/kernel/mm/ksm`); `None` without KSM.
pub fn read_in(dir: &Path) -> Option<KsmState> {
    let num = |f: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some(KsmState {
        run: u8::try_from(num("run")?).ok()?,
        pages_sharing: num("pages_sharing")?,
    })
}

/// The host's KSM state.
pub fn read() -> Option<KsmState> {
    read_in(&ksm_dir())
}

fn ksm_dir() -> PathBuf {
    Path::new(KSM_RUN)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Why `--ksm` could not turn KSM on.
#[derive(Debug, thiserror::Error)]
pub enum KsmError {
    #[error("--ksm: this kernel has no KSM ({KSM_RUN} is missing or unreadable; CONFIG_KSM)")]
    Missing,
    #[error("--ksm: cannot write 1 to {KSM_RUN}: {0} (needs root and a writable /sys)")]
    Write(std::io::Error),
    #[error(transparent)]
    Journal(#[from] CleanupError),
}

/// KSM turned on; dropping it (or `isobench clean` after a SIGKILL, from the journal)
/// writes the previous setting back.
#[derive(Debug)]
pub struct KsmOn {
    pub previous: u8,
    _restore: Guard,
}

/// Turn KSM merging on, journalling the previous setting first.
pub fn enable(cleanup: &Cleanup) -> Result<KsmOn, KsmError> {
    let previous = read().ok_or(KsmError::Missing)?.run;
    let restore = cleanup.register(Resource::KsmRun { previous })?;
    std::fs::write(KSM_RUN, "1").map_err(KsmError::Write)?;
    Ok(KsmOn {
        previous,
        _restore: restore,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_state_from_a_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_in(tmp.path()), None);
        std::fs::write(tmp.path().join("run"), "1\n").expect("write");
        std::fs::write(tmp.path().join("pages_sharing"), "4242\n").expect("write");
        assert_eq!(
            read_in(tmp.path()),
            Some(KsmState {
                run: 1,
                pages_sharing: 4242
            })
        );
        std::fs::write(tmp.path().join("run"), "300\n").expect("write");
        assert_eq!(read_in(tmp.path()), None, "not a run mode");
    }
}

//! Everything a run creates is registered here before use and removed on every exit path.
//!
//! `Cleanup::register` appends a line to a journal file on disk *before* the resource is
//! created; `Guard::drop` (or `Cleanup::release_all` at exit, or after SIGINT/SIGTERM)
//! removes the resource and journals that. A run that crashed or was SIGKILLed leaves a
//! journal whose owner is dead: `isobench clean` replays it and removes what is left.
//!
//! Journal: one JSON object per line, `{"op":"add","id":N,"res":{...}}` or
//! `{"op":"del","id":N}`, in `journal_dir()/<pid>.jsonl`.
//!
//! A journal tells `isobench clean` what to delete and unmount, so only the user's own
//! journals are believed: the directory must be the user's and writable by nobody else
//! (`trust::Leaf::Own`; another user could pre-create `/tmp/isobench-<uid>` with mode
//! 777 and a journal naming the victim's files), or `run` and `clean` refuse it and say
//! why. The directory is made 0700 and journals 0600.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

mod leftovers;
mod remove;

pub use leftovers::{clean_leftovers, CleanReport};
pub use remove::remove_resource;

/// A thing that must not outlive the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    /// A directory tree (work dir, rootfs, bundle). Removed recursively.
    Dir { path: PathBuf },
    /// A file.
    File { path: PathBuf },
    /// A mount point in the host's mount namespace. Lazily unmounted, and only if
    /// /proc/self/mountinfo shows a mount at exactly `path` (reached without following a
    /// symlink) whose ID is `mount_id`, and, where the kernel has them (Linux 6.8), whose
    /// never-reused ID is `mount_unique_id` (the kernel gives a freed `mount_id` to the
    /// next mount at once). Both are recorded right after mounting
    /// ([`Guard::set_mount_ids`]), so a mount someone else made there later is left
    /// alone. Without them (journals of older versions; the sandbox's guard against
    /// mounts of its child's namespace reaching the host, whose IDs isobench cannot know)
    /// a mount found there is reported, not unmounted.
    Mount {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount_id: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount_unique_id: Option<u64>,
    },
    /// A cgroup directory (v1: one per controller hierarchy; v2: one). Its processes are
    /// killed, then it is removed (children first).
    Cgroup { path: PathBuf },
    /// A process we started; `start_time` tells a recycled pid apart.
    Process { pid: i32, start_time: u64 },
    /// A container of an engine (`docker` or `podman`), removed with `rm -f`.
    EngineContainer { engine: String, id: String },
    /// An image of an engine, removed with `rmi -f`.
    EngineImage { engine: String, image: String },
    /// An OCI runtime container (`runc`/`crun`), removed with `delete --force`.
    OciContainer {
        runtime: String,
        root: PathBuf,
        id: String,
    },
    /// KSM's `run` setting changed by the run (`density --ksm`): "removing" it writes
    /// `previous` back to [`KSM_RUN`].
    KsmRun { previous: u8 },
}

/// The KSM control file ([kernel doc](https://docs.kernel.org/admin-guide/mm/ksm.html)).
pub const KSM_RUN: &str = "/sys/kernel/mm/ksm/run";

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Dir { path } => write!(f, "directory {}", path.display()),
            Resource::File { path } => write!(f, "file {}", path.display()),
            Resource::Mount { path, .. } => write!(f, "mount {}", path.display()),
            Resource::Cgroup { path } => write!(f, "cgroup {}", path.display()),
            Resource::Process { pid, .. } => write!(f, "process {pid}"),
            Resource::EngineContainer { engine, id } => write!(f, "{engine} container {id}"),
            Resource::EngineImage { engine, image } => write!(f, "{engine} image {image}"),
            Resource::OciContainer { runtime, id, .. } => write!(f, "{runtime} container {id}"),
            Resource::KsmRun { previous } => write!(f, "KSM setting (restore run={previous})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("cannot write cleanup journal {path}: {source}")]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("refusing the journal directory {dir}: {source}")]
    UntrustedJournalDir {
        dir: PathBuf,
        source: crate::trust::TrustError,
    },
    #[error("cannot read the journals in {dir}: {source}")]
    ReadJournals {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove {resource}: {reason}")]
    Remove { resource: String, reason: String },
    /// Left alone on purpose: what stands there now is not what was registered.
    #[error("skipped {resource}: {reason}")]
    Skipped { resource: String, reason: String },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum JournalLine {
    Add { id: u64, res: Resource },
    Del { id: u64 },
    Owner { pid: u32, start_time: u64 },
}

struct Inner {
    journal: Option<File>,
    live: BTreeMap<u64, Resource>,
    next: u64,
}

/// The run's registry of resources. Cheap to clone (shared).
#[derive(Clone)]
pub struct Cleanup {
    inner: Arc<Mutex<Inner>>,
    journal_path: Option<PathBuf>,
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleanup")
            .field("journal", &self.journal_path)
            .finish()
    }
}

/// Where journals live: /run/isobench for root, else $XDG_RUNTIME_DIR/isobench or
/// /tmp/isobench-<uid>. `ISOBENCH_JOURNAL_DIR` overrides (tests).
pub fn journal_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ISOBENCH_JOURNAL_DIR") {
        return PathBuf::from(d);
    }
    if crate::sys::geteuid() == 0 {
        return PathBuf::from("/run/isobench");
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("isobench");
    }
    PathBuf::from(format!("/tmp/isobench-{}", crate::sys::geteuid()))
}

/// `dir`'s real path, if it is the user's alone (`trust::Leaf::Own`).
pub(crate) fn trusted_journal_dir(dir: &Path) -> Result<PathBuf, CleanupError> {
    crate::trust::check(dir, crate::trust::Leaf::Own).map_err(|source| {
        CleanupError::UntrustedJournalDir {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

/// A registered resource; removing it happens on drop unless `disarm`ed.
#[must_use = "dropping the guard removes the resource at once"]
pub struct Guard {
    cleanup: Cleanup,
    id: u64,
    armed: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Guard({})", self.id)
    }
}

impl Guard {
    /// Remove now, reporting errors (drop only logs them).
    pub fn release(mut self) -> Result<(), CleanupError> {
        self.armed = false;
        self.cleanup.remove(self.id)
    }

    /// Record which mount was just made for a registered `Resource::Mount`
    /// (`sys::fs::mount_ids(path)` right after mount(2)), in memory and in the journal.
    pub fn set_mount_ids(&self, ids: crate::sys::fs::MountIds) -> Result<(), CleanupError> {
        self.cleanup.update(self.id, |res| {
            if let Resource::Mount {
                mount_id,
                mount_unique_id,
                ..
            } = res
            {
                *mount_id = Some(ids.id);
                *mount_unique_id = ids.unique;
            }
        })
    }

    /// The resource is gone by other means (e.g. `docker run --rm` removed it); only
    /// journal that.
    pub fn forget(mut self) {
        self.armed = false;
        self.cleanup.forget(self.id);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.cleanup.remove(self.id) {
                eprintln!("isobench: cleanup: {e}");
            }
        }
    }
}

impl Cleanup {
    /// A registry with a journal in `journal_dir()`.
    pub fn new() -> Result<Cleanup, CleanupError> {
        Cleanup::new_in(&journal_dir())
    }

    /// A registry with a journal in `dir` (made 0700 if missing; refused if it is not the
    /// user's alone, see the module doc).
    pub fn new_in(dir: &Path) -> Result<Cleanup, CleanupError> {
        let name = format!("{}.jsonl", std::process::id());
        let journal_err = |source| CleanupError::Journal {
            path: dir.join(&name),
            source,
        };
        // Another isobench's `finish` may rmdir the (then empty) directory between our
        // mkdir and open: make it again.
        let mut tries = 0;
        let (mut file, path) = loop {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(journal_err)?;
            // The checked real path is the one opened: a symlink named `dir` cannot be
            // repointed in between.
            let real = trusted_journal_dir(dir)?;
            let path = real.join(&name);
            match OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
            {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
                Err(source) => return Err(CleanupError::Journal { path, source }),
                Ok(f) => break (f, path),
            }
        };
        let me = std::process::id();
        let line = JournalLine::Owner {
            pid: me,
            start_time: crate::sys::process::start_time(me as i32).unwrap_or(0),
        };
        write_line(&mut file, &line).map_err(|source| CleanupError::Journal {
            path: path.clone(),
            source,
        })?;
        Ok(Cleanup {
            inner: Arc::new(Mutex::new(Inner {
                journal: Some(file),
                live: BTreeMap::new(),
                next: 1,
            })),
            journal_path: Some(path),
        })
    }

    /// A registry without a journal (unit tests, benches).
    pub fn in_memory() -> Cleanup {
        Cleanup {
            inner: Arc::new(Mutex::new(Inner {
                journal: None,
                live: BTreeMap::new(),
                next: 1,
            })),
            journal_path: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent map; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Journal `res` and return a guard that removes it. Call *before* creating it.
    pub fn register(&self, res: Resource) -> Result<Guard, CleanupError> {
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        if let Some(f) = inner.journal.as_mut() {
            write_line(
                f,
                &JournalLine::Add {
                    id,
                    res: res.clone(),
                },
            )
            .map_err(|source| CleanupError::Journal {
                path: self.journal_path.clone().unwrap_or_default(),
                source,
            })?;
        }
        inner.live.insert(id, res);
        Ok(Guard {
            cleanup: self.clone(),
            id,
            armed: true,
        })
    }

    /// Change the registered resource `id` and journal it again (a later `add` of the same
    /// id replaces the earlier one on replay).
    fn update(&self, id: u64, change: impl FnOnce(&mut Resource)) -> Result<(), CleanupError> {
        let mut inner = self.lock();
        let Some(res) = inner.live.get_mut(&id) else {
            return Ok(());
        };
        change(res);
        let res = res.clone();
        if let Some(f) = inner.journal.as_mut() {
            write_line(f, &JournalLine::Add { id, res }).map_err(|source| {
                CleanupError::Journal {
                    path: self.journal_path.clone().unwrap_or_default(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    fn forget(&self, id: u64) {
        let mut inner = self.lock();
        inner.live.remove(&id);
        if let Some(f) = inner.journal.as_mut() {
            let _ = write_line(f, &JournalLine::Del { id });
        }
    }

    fn remove(&self, id: u64) -> Result<(), CleanupError> {
        let res = self.lock().live.get(&id).cloned();
        let Some(res) = res else { return Ok(()) };
        let result = remove_resource(&res);
        // Skipped: what stands there is not ours, so there is nothing of ours left.
        if matches!(result, Ok(()) | Err(CleanupError::Skipped { .. })) {
            self.forget(id);
        }
        result
    }

    /// Remove everything still registered, newest first. Returns the failures.
    pub fn release_all(&self) -> Vec<CleanupError> {
        let ids: Vec<u64> = self.lock().live.keys().rev().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.remove(id).err())
            .collect()
    }

    /// What is still registered (for tests and messages).
    pub fn live(&self) -> Vec<Resource> {
        self.lock().live.values().cloned().collect()
    }

    /// Close the journal and delete it if nothing is left registered.
    pub fn finish(&self) {
        let mut inner = self.lock();
        if inner.live.is_empty() {
            inner.journal = None;
            if let Some(p) = &self.journal_path {
                let _ = fs::remove_file(p);
                // And the directory when this was its last file (rmdir refuses otherwise:
                // other runs' journals, the KVM verdict), so a run leaves nothing behind.
                if let Some(dir) = p.parent() {
                    let _ = fs::remove_dir(dir);
                }
            }
        }
    }
}

fn write_line(f: &mut File, line: &JournalLine) -> std::io::Result<()> {
    let mut s = serde_json::to_string(line).map_err(std::io::Error::other)?;
    s.push('\n');
    // One write(2) per line, no fsync: the journal must survive a crash of *isobench*
    // (SIGKILL, panic), and the page cache keeps what was written visible to `isobench
    // clean` at once. It need not survive a crash of the machine, which takes the
    // processes, mounts and cgroups it lists along with it. (An fdatasync per line cost
    // 3 ms on an ext4 /run, which is more than many launches it would guard.)
    f.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_removes_dir_and_journal_replays() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let c = Cleanup::in_memory();
        let d = tmp.path().join("x");
        let g = c
            .register(Resource::Dir { path: d.clone() })
            .expect("register");
        fs::create_dir_all(d.join("y")).expect("mkdir");
        drop(g);
        assert!(!d.exists());
        assert!(c.live().is_empty());

        // A journal left by a dead owner is replayed.
        let jdir = tmp.path().join("journal");
        fs::create_dir_all(&jdir).expect("mkdir");
        let leftover = tmp.path().join("left");
        fs::create_dir_all(&leftover).expect("mkdir");
        let lines = [
            serde_json::to_string(&JournalLine::Owner {
                pid: 999_999_999,
                start_time: 1,
            })
            .expect("json"),
            serde_json::to_string(&JournalLine::Add {
                id: 1,
                res: Resource::Dir {
                    path: leftover.clone(),
                },
            })
            .expect("json"),
            "{\"op\":\"add\",\"id\":2,\"res\":{\"ki".to_string(),
        ];
        fs::write(jdir.join("123.jsonl"), lines.join("\n")).expect("write");
        let r = clean_leftovers(&jdir).expect("clean");
        assert_eq!(r.removed.len(), 1, "{r:?}");
        assert!(!leftover.exists());
        assert!(!jdir.join("123.jsonl").exists());
    }

    /// A mount registered, made, and recorded with its IDs is unmounted by its guard, and
    /// the IDs are journalled (a second `add` of the same id, which replay keeps).
    #[test]
    fn a_recorded_mount_is_unmounted_and_its_ids_are_journalled() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let point = tmp.path().join("m");
        fs::create_dir(&point).expect("mkdir");
        let c = Cleanup::new_in(&tmp.path().join("journal")).expect("journal");
        let g = c
            .register(Resource::Mount {
                path: point.clone(),
                mount_id: None,
                mount_unique_id: None,
            })
            .expect("register");
        if let Err(e) = crate::sys::fs::mount("isobench-test", &point, "tmpfs", 0, "size=4k") {
            g.forget();
            // Capability probe: mounting needs CAP_SYS_ADMIN.
            eprintln!("skipping: cannot mount a tmpfs here: {e}");
            return;
        }
        let ids = crate::sys::fs::mount_ids(&point).expect("mount ids");
        g.set_mount_ids(ids).expect("record");
        let journal = fs::read_to_string(c.journal_path.clone().expect("path")).expect("read");
        let last = journal.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(r#"{"op":"add","id":1,"#)
                && last.contains(&format!(r#""mount_id":{}"#, ids.id)),
            "{journal}"
        );
        assert_eq!(
            c.live(),
            vec![Resource::Mount {
                path: point.clone(),
                mount_id: Some(ids.id),
                mount_unique_id: ids.unique,
            }]
        );
        g.release().expect("unmount");
        c.finish();
        assert_ne!(
            crate::sys::fs::mount_ids(&point).map(|m| m.id).ok(),
            Some(ids.id),
            "still mounted"
        );
    }
}

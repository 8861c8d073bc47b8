//! The KVM verdict, kept for the rest of the host's boot in a small JSON file.
//!
//! Whether a KVM guest boots here depends on the host kernel as booted (nested
//! virtualization, VMX/SVM passed through or not), the QEMU binary, the guest kernel and
//! the machine type, so the [`Key`] is exactly that: `/proc/sys/kernel/random/boot_id`
//! (a new random UUID at every boot, see random(4)), the QEMU binary's and the guest
//! kernel's path, size and mtime, and the machine type. A verdict whose key matches is
//! used without booting anything; any difference (a reboot, an upgraded QEMU, another
//! kernel) makes the next run probe again.
//!
//! The file lives under `/run` ([`DEFAULT_PATH`]): a tmpfs the system clears at every
//! boot, writable by root only, so a verdict never outlives the boot it was made in and
//! no other user can plant one. Wherever it is, a file in a directory another user could
//! write (`trust::Leaf::Private`, sticky or not) is neither read nor written: that user
//! could have planted a verdict, or a file in the temp file's place. It shares the directory with the cleanup journals
//! (`*.jsonl`, the only files `isobench clean` reads). Not root: no cache (every process
//! probes).
//! `$ISOBENCH_KVM_CACHE` names another file (tests), or, when empty, turns the cache off.
//! The file is replaced atomically (a temp file in the same directory, then rename(2)),
//! so a reader sees the old verdict or the new one, never half of one. A file that is
//! missing, unreadable, malformed or of another schema is treated as no verdict and
//! overwritten by the next probe: the cache can save time, never stop a run.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where root's isobench keeps the verdict.
pub const DEFAULT_PATH: &str = "/run/isobench/kvm-probe.json";

/// Overrides [`DEFAULT_PATH`]; empty turns the cache off.
pub const PATH_VAR: &str = "ISOBENCH_KVM_CACHE";

/// `schema` of the file; another value is ignored (and overwritten).
pub const SCHEMA: &str = "isobench.kvm-probe/v1";

/// The host's boot: a random UUID the kernel draws once per boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot read the boot id {path}: {source}")]
    BootId {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot stat {path} for the KVM verdict's key: {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the KVM verdict to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialize the KVM verdict: {0}")]
    Json(#[from] serde_json::Error),
    #[error("refusing the KVM verdict file {path}: {source}")]
    Untrusted {
        path: PathBuf,
        source: crate::trust::TrustError,
    },
}

/// One file the verdict depends on, as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub path: PathBuf,
    pub size: u64,
    /// mtime, seconds and nanoseconds since the epoch (stat(2) `st_mtim`).
    pub mtime_s: i64,
    pub mtime_ns: i64,
}

impl FileStamp {
    /// Stat `path` (following symlinks: the binary that runs is the target).
    pub fn of(path: &Path) -> Result<FileStamp, CacheError> {
        let m = std::fs::metadata(path).map_err(|source| CacheError::Stat {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(FileStamp {
            path: path.to_path_buf(),
            size: m.len(),
            mtime_s: m.mtime(),
            mtime_ns: m.mtime_nsec(),
        })
    }
}

/// What a verdict is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub boot_id: String,
    pub qemu: FileStamp,
    pub kernel: FileStamp,
    pub machine: String,
}

impl Key {
    /// The key of a probe boot of `qemu` with `kernel` on `machine`, in this host boot.
    pub fn current(qemu: &Path, kernel: &Path, machine: &str) -> Result<Key, CacheError> {
        let boot_id = std::fs::read_to_string(BOOT_ID).map_err(|source| CacheError::BootId {
            path: PathBuf::from(BOOT_ID),
            source,
        })?;
        Ok(Key {
            boot_id: boot_id.trim().to_string(),
            qemu: FileStamp::of(qemu)?,
            kernel: FileStamp::of(kernel)?,
            machine: machine.to_string(),
        })
    }
}

/// The file's content: one verdict and what it is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub schema: String,
    pub key: Key,
    /// When the probe boot ran (RFC 3339, UTC).
    pub probed_at: String,
    pub usable: bool,
    /// The probe's own note ("usable: ..." / "unusable: ...").
    pub note: String,
}

impl Entry {
    pub fn new(key: Key, usable: bool, note: String) -> Entry {
        let probed_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "an unknown time".into());
        Entry {
            schema: SCHEMA.into(),
            key,
            probed_at,
            usable,
            note,
        }
    }
}

/// The cache file to use: `$ISOBENCH_KVM_CACHE` if set (none if empty, and none, saying
/// why, if another user could write its directory), else [`DEFAULT_PATH`] for root, else
/// none.
pub fn location() -> Option<PathBuf> {
    match std::env::var_os(PATH_VAR) {
        Some(p) if p.is_empty() => None,
        Some(p) => {
            let p = PathBuf::from(p);
            match trusted_dir(&p) {
                Ok(_) => Some(p),
                Err(e) => {
                    eprintln!("isobench: {PATH_VAR}: {e}; the KVM verdict is not cached");
                    None
                }
            }
        }
        None if crate::sys::geteuid() == 0 => Some(PathBuf::from(DEFAULT_PATH)),
        None => None,
    }
}

/// The directory of `path`, if no other user can write it.
fn trusted_dir(path: &Path) -> Result<PathBuf, CacheError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::trust::check(dir, crate::trust::Leaf::Private).map_err(|source| CacheError::Untrusted {
        path: path.to_path_buf(),
        source,
    })
}

/// The verdict in `path` if it was made for `key`; `None` when the file is missing,
/// unreadable, malformed, of another schema or for another key, or when another user
/// could have put it there.
pub fn load(path: &Path, key: &Key) -> Option<Entry> {
    trusted_dir(path).ok()?;
    let bytes = std::fs::read(path).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.schema == SCHEMA && entry.key == *key).then_some(entry)
}

/// Replace `path` with `entry` atomically, creating its directory if needed.
pub fn store(path: &Path, entry: &Entry) -> Result<(), CacheError> {
    let write_err = |source| CacheError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    trusted_dir(path)?;
    let mut json = serde_json::to_vec_pretty(entry)?;
    json.push(b'\n');
    crate::atomic_write::replace(path, &json, 0o600).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key whose two files are real files in `dir` (a fake QEMU and kernel).
    fn key_in(dir: &Path) -> Key {
        let qemu = dir.join("qemu");
        let kernel = dir.join("vmlinuz");
        std::fs::write(&qemu, b"#!/bin/sh\n").expect("write qemu");
        std::fs::write(&kernel, b"kernel").expect("write kernel");
        Key {
            boot_id: "6f1c2d9e-0000-4000-8000-000000000001".into(),
            qemu: FileStamp::of(&qemu).expect("stat qemu"),
            kernel: FileStamp::of(&kernel).expect("stat kernel"),
            machine: "pc".into(),
        }
    }

    #[test]
    fn a_stored_verdict_loads_for_its_key_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("sub/kvm-probe.json");
        let key = key_in(tmp.path());
        let entry = Entry::new(key.clone(), false, "unusable: hung".into());
        store(&path, &entry).expect("store");
        assert_eq!(load(&path, &key), Some(entry));

        let mut other_boot = key.clone();
        other_boot.boot_id = "6f1c2d9e-0000-4000-8000-000000000002".into();
        assert_eq!(load(&path, &other_boot), None, "a reboot invalidates");
        let mut other_machine = key.clone();
        other_machine.machine = "microvm".into();
        assert_eq!(load(&path, &other_machine), None);

        // A rebuilt QEMU (another size) or a touched kernel (another mtime).
        std::fs::write(&key.qemu.path, b"#!/bin/sh\nexit 0\n").expect("rewrite qemu");
        let rebuilt = Key {
            qemu: FileStamp::of(&key.qemu.path).expect("stat"),
            ..key.clone()
        };
        assert_ne!(rebuilt, key);
        assert_eq!(load(&path, &rebuilt), None);
        let mut touched = key.clone();
        touched.kernel.mtime_ns += 1;
        assert_eq!(load(&path, &touched), None);
    }

    #[test]
    fn a_malformed_or_foreign_file_is_no_verdict_and_is_overwritten() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("kvm-probe.json");
        let key = key_in(tmp.path());
        assert_eq!(load(&path, &key), None, "missing file");
        for junk in [
            &b""[..],
            b"{not json",
            b"\xff\xfe\x00",
            b"{\"schema\": \"isobench.kvm-probe/v1\"}",
            b"[1, 2, 3]",
        ] {
            std::fs::write(&path, junk).expect("write junk");
            assert_eq!(load(&path, &key), None);
        }
        let mut foreign = Entry::new(key.clone(), true, "usable: fast".into());
        foreign.schema = "isobench.kvm-probe/v0".into();
        std::fs::write(&path, serde_json::to_vec(&foreign).expect("json")).expect("write");
        assert_eq!(load(&path, &key), None, "another schema");

        let entry = Entry::new(key.clone(), true, "usable: fast".into());
        store(&path, &entry).expect("store over a malformed file");
        assert_eq!(load(&path, &key), Some(entry));
    }

    #[test]
    fn store_replaces_atomically_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("kvm-probe.json");
        let key = key_in(tmp.path());
        let first = Entry::new(key.clone(), false, "unusable: first".into());
        store(&path, &first).expect("store");
        // A reader holding the old file keeps reading the old content: the new one is
        // a new inode renamed over the name, not a rewrite in place.
        let old = std::fs::File::open(&path).expect("open");
        let old_ino = old.metadata().expect("stat").ino();
        let second = Entry::new(key.clone(), true, "usable: second".into());
        store(&path, &second).expect("store again");
        assert_ne!(
            std::fs::metadata(&path).expect("stat").ino(),
            old_ino,
            "replaced by rename, not rewritten"
        );
        let old_text = std::io::read_to_string(old).expect("read old");
        assert!(old_text.contains("unusable: first"), "{old_text}");
        assert_eq!(load(&path, &key), Some(second));
        let names: Vec<String> = std::fs::read_dir(tmp.path())
            .expect("readdir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.ends_with(".tmp")),
            "temp file left: {names:?}"
        );
    }

    #[test]
    fn store_into_an_unwritable_place_is_an_error_naming_the_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A regular file where the directory should be: fails for root too.
        let blocker = tmp.path().join("not-a-dir");
        std::fs::write(&blocker, b"").expect("write");
        let path = blocker.join("kvm-probe.json");
        let key = key_in(tmp.path());
        let err = store(&path, &Entry::new(key, false, "x".into())).expect_err("must fail");
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}

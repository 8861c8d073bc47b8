//! The one way isobench replaces a file: run files, reports, exports, compare and history
//! output, the KVM verdict.
//!
//! A temp file with an unguessable name is created in the target's directory with
//! `O_CREAT|O_EXCL` (`tempfile`: a planted file or symlink of that name is never opened,
//! let alone followed), written, fsync'd, and renamed over the target, so a reader (or a
//! crash) sees the old file or the new one, never half of one, and another user who can
//! write the directory cannot redirect the write. rename(2) replaces a symlink at the
//! target itself, not what it points to.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of files meant to be read by others (reports, run files): what `File::create`
/// made before, 0666 less the umask.
pub const PUBLIC: u32 = 0o644;

/// Atomically replace `path` with `bytes`, the new file with `mode` (less the umask),
/// creating its directory if needed.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    // Removed on drop if anything fails before the rename.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the directory is; a failure here loses nothing written.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("sub/out.json");
        replace(&p, b"one", PUBLIC).expect("first");
        replace(&p, b"two", 0o600).expect("second");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        let mode = std::fs::metadata(&p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode & !0o600, 0, "mode {mode:o}");
        let names: Vec<_> = std::fs::read_dir(tmp.path().join("sub"))
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep").expect("write");
        let p = tmp.path().join("out");
        std::os::unix::fs::symlink(&victim, &p).expect("symlink");
        replace(&p, b"new", PUBLIC).expect("replace");
        assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep");
        assert!(std::fs::symlink_metadata(&p).expect("stat").is_file());
    }
}

//! Whether another local user can change a directory, and so what isobench creates,
//! executes, unmounts or deletes below it.
//!
//! isobench runs as root and acts on paths. A path is only as safe as every directory on
//! it: whoever may write a directory may rename its entries (rename(2), also
//! `RENAME_EXCHANGE`) and put a symlink or a directory of their own in their place —
//! unless the directory is sticky, where only an entry's owner, the directory's owner or
//! root may rename or remove it (inode(7), "The file mode bits": S_ISVTX). So [`check`]
//! walks the real path (symlinks resolved first) from `/` down and accepts it only when
//! every directory on it is owned by root or the user running isobench and is writable
//! by nobody else, or is sticky. The directory itself must pass a stricter rule
//! ([`Leaf`]) when isobench believes the files it finds there.
//!
//! Checked top-down, a directory cannot change between its check and the check of the
//! next one down: only its owner (root or us) may rename entries in its parent, which
//! passed the check before it. (ACLs are not read: a directory made group-writable
//! through an ACL alone is not seen.)

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the directory at the end of the path is used for, and so what it must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// isobench creates a fresh, randomly named entry of its own in it (the work
    /// directory's base) and uses nothing else there: like every directory on the path,
    /// it may be writable by others if it is sticky (/tmp, /var/tmp).
    Base,
    /// isobench believes the files it finds in it (the KVM verdict): owned by root or the
    /// user, writable by nobody else, sticky or not (anyone may create a file in /tmp).
    Private,
    /// [`Leaf::Private`], and owned by the user themselves (a journal directory: root's
    /// runs keep theirs in /run/isobench).
    Own,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot check who may change {path}: {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a directory")]
    NotDirectory { path: PathBuf },
    #[error(
        "{path} is owned by uid {owner}, not by {allowed} (uid {me}): that user could swap what \
         isobench keeps below it for their own; `chown` it, or use a directory whose every \
         parent is owned by root or you"
    )]
    Owner {
        path: PathBuf,
        owner: u32,
        me: u32,
        allowed: &'static str,
    },
    #[error(
        "{path} is writable by group or others (mode {mode:04o}) without the sticky bit: another \
         user could rename what isobench keeps below it and put their own in its place; \
         `chmod go-w` (or `chmod +t`) it, or use another directory"
    )]
    Writable { path: PathBuf, mode: u32 },
    #[error(
        "{path} is writable by group or others (mode {mode:04o}): another user could have put \
         files there for isobench to believe; `chmod go-w` it, or use a directory only you can write"
    )]
    Shared { path: PathBuf, mode: u32 },
}

/// Check the directory `path` for `leaf` as the user running isobench; returns its real
/// path (symlinks resolved), which is the one that was checked and the one to use.
pub fn check(path: &Path, leaf: Leaf) -> Result<PathBuf, TrustError> {
    check_as(path, leaf, crate::sys::geteuid())
}

/// [`check`] for the user `me` (tests play other users with it).
pub fn check_as(path: &Path, leaf: Leaf, me: u32) -> Result<PathBuf, TrustError> {
    let stat_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TrustError::Stat { path, source }
    };
    let real = std::fs::canonicalize(path).map_err(stat_err(path))?;
    let chain: Vec<&Path> = real.ancestors().collect();
    for (i, dir) in chain.iter().rev().enumerate() {
        let is_leaf = i + 1 == chain.len();
        let m = std::fs::symlink_metadata(dir).map_err(stat_err(dir))?;
        if !m.is_dir() {
            return Err(TrustError::NotDirectory {
                path: dir.to_path_buf(),
            });
        }
        let (owner, mode) = (m.uid(), m.mode() & 0o7777);
        let (owner_ok, allowed) = match (is_leaf, leaf) {
            (true, Leaf::Own) => (owner == me, "you"),
            _ => (owner == 0 || owner == me, "root or you"),
        };
        if !owner_ok {
            return Err(TrustError::Owner {
                path: dir.to_path_buf(),
                owner,
                me,
                allowed,
            });
        }
        let others_write = mode & 0o022 != 0;
        let sticky = mode & 0o1000 != 0;
        if others_write && is_leaf && leaf != Leaf::Base {
            return Err(TrustError::Shared {
                path: dir.to_path_buf(),
                mode,
            });
        }
        if others_write && !sticky {
            return Err(TrustError::Writable {
                path: dir.to_path_buf(),
                mode,
            });
        }
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir_with_mode(parent: &Path, name: &str, mode: u32) -> PathBuf {
        let p = parent.join(name);
        std::fs::create_dir(&p).expect("mkdir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    #[test]
    fn sticky_shared_is_a_base_not_a_private_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let me = std::fs::metadata(tmp.path()).expect("stat").uid();
        let sticky = dir_with_mode(tmp.path(), "sticky", 0o1777);
        assert!(check_as(&sticky, Leaf::Base, me).is_ok());
        for leaf in [Leaf::Private, Leaf::Own] {
            let e = check_as(&sticky, leaf, me).expect_err("shared");
            assert!(matches!(e, TrustError::Shared { mode: 0o1777, .. }), "{e}");
        }
        // Below a sticky directory, a private one of ours is fine for everything.
        let mine = dir_with_mode(&sticky, "mine", 0o700);
        for leaf in [Leaf::Base, Leaf::Private, Leaf::Own] {
            assert!(check_as(&mine, leaf, me).is_ok(), "{leaf:?}");
        }
    }

    #[test]
    fn writable_without_sticky_is_refused_on_the_whole_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let me = std::fs::metadata(tmp.path()).expect("stat").uid();
        let open = dir_with_mode(tmp.path(), "open", 0o777);
        let inner = dir_with_mode(&open, "inner", 0o700);
        for p in [&open, &inner] {
            let e = check_as(p, Leaf::Base, me).expect_err("writable");
            match &e {
                TrustError::Writable { path, mode } => {
                    assert_eq!((path, *mode), (&open, 0o777));
                }
                other => panic!("{other}"),
            }
            let msg = e.to_string();
            assert!(
                msg.contains("chmod go-w") && msg.contains("sticky"),
                "{msg}"
            );
        }
        let group = dir_with_mode(tmp.path(), "group", 0o770);
        assert!(check_as(&group, Leaf::Base, me).is_err());
    }

    #[test]
    fn directories_of_another_user_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = dir_with_mode(tmp.path(), "d", 0o755);
        let owner = std::fs::metadata(&d).expect("stat").uid();
        let stranger = owner + 4242;
        assert!(check_as(&d, Leaf::Own, owner).is_ok());
        // `Own` wants the directory owned by the user themselves, even if root owns it.
        let e = check_as(&d, Leaf::Own, stranger).expect_err("not the stranger's");
        assert!(
            matches!(e, TrustError::Owner { owner: o, allowed: "you", .. } if o == owner),
            "{e}"
        );
        if owner != 0 {
            // A user other than root is nobody the stranger trusts, anywhere on the path.
            let e = check_as(&d, Leaf::Base, stranger).expect_err("another user's");
            assert!(
                matches!(e, TrustError::Owner { owner: o, .. } if o == owner),
                "{e}"
            );
        }
    }

    #[test]
    fn symlinks_are_resolved_before_the_check() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let me = std::fs::metadata(tmp.path()).expect("stat").uid();
        let open = dir_with_mode(tmp.path(), "open", 0o777);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&open, &link).expect("symlink");
        let e = check_as(&link, Leaf::Base, me).expect_err("the target is writable");
        assert!(
            matches!(e, TrustError::Writable { ref path, .. } if *path == open),
            "{e}"
        );
        assert!(matches!(
            check_as(&tmp.path().join("missing"), Leaf::Base, me),
            Err(TrustError::Stat { .. })
        ));
    }
}

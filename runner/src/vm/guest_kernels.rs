//! The guest kernels the `kernels` scenario compares (`--guest-kernels A,B,...`).
//!
//! An entry is either a *name*, a directory `fixtures/kernels/<name>/` written by
//! `fixtures/setup.sh` (vmlinuz, config, VERSION: line 1 the package and its version), or a
//! *path* to any bzImage (an entry containing `/`), so a kernel developer can boot their
//! own build. Either way the image is checked before QEMU sees it: a regular file (the
//! path's symlinks resolved first), an x86 boot image (`HdrS` at offset 0x202,
//! Documentation/arch/x86/boot.rst), owned by root or the user running isobench and not
//! writable by group or others — isobench runs as root, and a kernel another user can
//! swap is code they choose.
//!
//! The kernel must have built in what a direct boot of the probe needs: the 8250 serial
//! console, initramfs support and devtmpfs (all three Debian flavours fetched by setup.sh
//! do, `rt` included; their virtio drivers are modules, which the probe does not need).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One guest kernel to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestKernel {
    /// The entry as given (`cloud-57`, or the path).
    pub name: String,
    /// The image's real path (checked).
    pub path: PathBuf,
    /// VERSION's first line (`linux-image-6.1.0-57-cloud-amd64 6.1.192-3`), or for a path
    /// the file name.
    pub package: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuestKernelError {
    #[error("--guest-kernels is empty and no kernels were found under {dirs}; fix: run fixtures/setup.sh (fetches cloud-57, cloud-47, rt-57), or name a bzImage path")]
    NoneFound { dirs: String },
    #[error("guest kernel {name:?} is neither a path (it has no '/') nor a kernel under {dirs} (found: {found}); fix: run fixtures/setup.sh, or pass a path to a bzImage")]
    UnknownName {
        name: String,
        dirs: String,
        found: String,
    },
    #[error("guest kernel {name:?}: a name may hold only letters, digits, '.', '_' and '-'")]
    BadName { name: String },
    #[error("guest kernel {path}: {what}")]
    Unusable { path: PathBuf, what: String },
}

/// The names found under `dirs` (each `<dir>/<name>/vmlinuz`), first directory first,
/// sorted, without repeats.
pub fn available(dirs: &[PathBuf]) -> Vec<GuestKernel> {
    let mut out: Vec<GuestKernel> = Vec::new();
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .filter(|e| e.path().join("vmlinuz").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| valid_name(n))
            .collect();
        names.sort();
        for n in names {
            if out.iter().any(|k| k.name == n) {
                continue;
            }
            let d = dir.join(&n);
            out.push(GuestKernel {
                package: package_line(&d).unwrap_or_else(|| "no VERSION file".into()),
                path: d.join("vmlinuz"),
                name: n,
            });
        }
    }
    out
}

/// Resolve `--guest-kernels` (empty: every kernel [`available`]), checking each image.
pub fn resolve(entries: &[String], dirs: &[PathBuf]) -> Result<Vec<GuestKernel>, GuestKernelError> {
    resolve_as(entries, dirs, crate::sys::geteuid())
}

/// [`resolve`] as user `me` (tests).
pub fn resolve_as(
    entries: &[String],
    dirs: &[PathBuf],
    me: u32,
) -> Result<Vec<GuestKernel>, GuestKernelError> {
    let shown = || {
        dirs.iter()
            .map(|d| {
                std::fs::canonicalize(d)
                    .unwrap_or_else(|_| d.clone())
                    .display()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let found = available(dirs);
    let wanted: Vec<GuestKernel> = if entries.is_empty() {
        if found.is_empty() {
            return Err(GuestKernelError::NoneFound { dirs: shown() });
        }
        found.clone()
    } else {
        let mut v = Vec::new();
        for e in entries {
            if e.contains('/') {
                let p = Path::new(e);
                v.push(GuestKernel {
                    name: e.clone(),
                    path: p.to_path_buf(),
                    package: p
                        .file_name()
                        .map(|f| format!("{} (a path)", f.to_string_lossy()))
                        .unwrap_or_else(|| "a path".into()),
                });
            } else if !valid_name(e) {
                return Err(GuestKernelError::BadName { name: e.clone() });
            } else {
                match found.iter().find(|k| &k.name == e) {
                    Some(k) => v.push(k.clone()),
                    None => {
                        return Err(GuestKernelError::UnknownName {
                            name: e.clone(),
                            dirs: shown(),
                            found: if found.is_empty() {
                                "none".into()
                            } else {
                                found
                                    .iter()
                                    .map(|k| k.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            },
                        })
                    }
                }
            }
        }
        v
    };
    wanted
        .into_iter()
        .map(|mut k| {
            k.path = check_image(&k.path, me)?;
            Ok(k)
        })
        .collect()
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with('.')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// VERSION's first non-empty line.
fn package_line(dir: &Path) -> Option<String> {
    let s = std::fs::read_to_string(dir.join("VERSION")).ok()?;
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().filter(|c| !c.is_control()).collect())
}

/// The image's real path, if it is a regular bzImage owned by root or `me` and writable
/// by nobody else.
pub fn check_image(path: &Path, me: u32) -> Result<PathBuf, GuestKernelError> {
    let bad = |what: String| GuestKernelError::Unusable {
        path: path.to_path_buf(),
        what,
    };
    let real = std::fs::canonicalize(path).map_err(|e| bad(format!("cannot resolve: {e}")))?;
    let mut f = std::fs::File::open(&real).map_err(|e| bad(format!("cannot open: {e}")))?;
    let m = f.metadata().map_err(|e| bad(format!("cannot stat: {e}")))?;
    if !m.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if m.uid() != 0 && m.uid() != me {
        return Err(bad(format!(
            "owned by uid {}, not by root or you (uid {me}): that user chooses the code a root-run QEMU boots; `chown` it",
            m.uid()
        )));
    }
    if m.mode() & 0o022 != 0 {
        return Err(bad(format!(
            "writable by group or others (mode {:04o}); `chmod go-w` it",
            m.mode() & 0o7777
        )));
    }
    let mut head = [0u8; 0x206];
    f.read_exact(&mut head)
        .map_err(|_| bad("too short to be a kernel image".into()))?;
    if &head[0x202..0x206] != b"HdrS" {
        return Err(bad(
            "not an x86 bzImage (no \"HdrS\" at offset 0x202); pass arch/x86/boot/bzImage, not vmlinux".into(),
        ));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn bzimage(path: &Path) {
        let mut b = vec![0u8; 0x300];
        b[0x202..0x206].copy_from_slice(b"HdrS");
        std::fs::write(path, b).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }

    #[test]
    fn names_paths_and_the_errors_that_list_what_exists() {
        let t = tempfile::tempdir().expect("tempdir");
        let me = std::fs::metadata(t.path()).expect("stat").uid();
        let dirs = vec![t.path().join("kernels")];
        assert!(matches!(
            resolve_as(&[], &dirs, me),
            Err(GuestKernelError::NoneFound { .. })
        ));
        for n in ["cloud-57", "rt-57"] {
            let d = dirs[0].join(n);
            std::fs::create_dir_all(&d).expect("mkdir");
            bzimage(&d.join("vmlinuz"));
            std::fs::write(
                d.join("VERSION"),
                format!("linux-image-{n} 1.0\nsource: x\n"),
            )
            .expect("write");
        }
        let all = resolve_as(&[], &dirs, me).expect("all found");
        assert_eq!(
            all.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            ["cloud-57", "rt-57"]
        );
        assert_eq!(all[0].package, "linux-image-cloud-57 1.0");

        let err = resolve_as(&["cloud-47".into()], &dirs, me).expect_err("unknown");
        let msg = err.to_string();
        assert!(
            msg.contains("cloud-57, rt-57") && msg.contains("setup.sh"),
            "{msg}"
        );
        assert!(matches!(
            resolve_as(&["../x".into()], &dirs, me),
            Err(GuestKernelError::Unusable { .. })
        ));
        assert!(matches!(
            resolve_as(&["a b".into()], &dirs, me),
            Err(GuestKernelError::BadName { .. })
        ));

        // A path: any bzImage, checked.
        let own = t.path().join("bzImage");
        bzimage(&own);
        let p = own.display().to_string();
        let k = resolve_as(&[p.clone(), "cloud-57".into()], &dirs, me).expect("path and name");
        assert_eq!(k[0].path, std::fs::canonicalize(&own).expect("real"));
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let e = resolve_as(std::slice::from_ref(&p), &dirs, me).expect_err("writable");
        assert!(e.to_string().contains("go-w"), "{e}");
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        // Owned by someone else: as root, give it away; as a user, play another user.
        let as_user = if me == 0 {
            std::os::unix::fs::chown(&own, Some(4242), None).expect("chown");
            0
        } else {
            me + 1
        };
        let e = resolve_as(std::slice::from_ref(&p), &dirs, as_user).expect_err("owner");
        assert!(e.to_string().contains("owned by uid"), "{e}");
        let elf = t.path().join("vmlinux");
        std::fs::write(&elf, vec![0x7fu8; 0x400]).expect("write");
        let e = resolve_as(&[elf.display().to_string()], &dirs, me).expect_err("not bzImage");
        assert!(e.to_string().contains("HdrS"), "{e}");
        let e = resolve_as(&[t.path().display().to_string() + "/"], &dirs, me).expect_err("dir");
        assert!(e.to_string().contains("regular file"), "{e}");
    }
}

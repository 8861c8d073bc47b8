//! The `workload` scenario's VM disk: an ext4 image file in the work directory — the same
//! host file system as the containers' rootfs — attached as a virtio-blk disk, because a
//! VM's initramfs is RAM and its fsync would be free.
//!
//! One fresh image per boot (journalled before it exists, removed with the VM), made
//! with `mkfs.ext4 -q -F` (e2fsprogs; `fixtures/setup.sh` installs it). Sparse: only what
//! the guest writes takes host blocks. QEMU opens it with `cache=none` (O_DIRECT on the
//! host): the guest's own page cache is the only cache, as for a cloud VM's virtual disk,
//! and a guest flush (its fsync/fdatasync) becomes an fdatasync of the host file
//! (`cache=none` keeps the write cache "on", so flushes are passed through). Not
//! `writeback`, which adds the host's page cache under the guest's (sequential writes
//! and reads of the VM would then be served from host RAM twice over), and not
//! `directsync`, which makes every write synchronous whatever the guest asked.
//!
//! The guest needs the `virtio_blk` and `virtio_pci`/`virtio_mmio` modules when its kernel
//! has them as modules (Debian's cloud kernel does): see [`modules`], and
//! `fixtures/probe/src/disk.rs` for what the probe does with them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cleanup::{Guard, Resource};
use crate::workdir::Env;

/// The guest's device and where the probe mounts it (the protocol's `--disk`/`--dir`).
pub const GUEST_DEVICE: &str = "/dev/vda";
pub const GUEST_MOUNT: &str = "/mnt/wl";
/// Where the initramfs carries the modules (the probe's `--modules`).
pub const GUEST_MODULES: &str = "/lib/modules-isobench";

/// How long `mkfs.ext4` of an image may take.
const MKFS_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest `order` file and module read from a modules directory.
const MAX_MODULE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("creating the VM disk image {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "mkfs.ext4 of the VM disk image: {0}; fix: apt-get install e2fsprogs (fixtures/setup.sh)"
    )]
    Mkfs(#[from] crate::subprocess::ExecError),
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("reading the guest's modules {}: {source}", .path.display())]
    Module {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {what}; fix: fixtures/setup-kernel.sh --force", .path.display())]
    BadModules { path: PathBuf, what: String },
}

/// Kernel modules in load order: file name and contents.
pub type Modules = Vec<(String, Vec<u8>)>;

/// The size of the image for `file_mib` of sequential writes: room for the file, the
/// SQLite database and its journal, and ext4's own metadata and journal, twice over.
pub fn image_mib(file_mib: u64) -> u64 {
    file_mib.saturating_mul(2).saturating_add(128)
}

/// A fresh ext4 image of `mib` MiB named `name` in the work directory, registered for
/// removal before it exists; the guard removes it.
pub fn create(env: &Env, name: &str, mib: u64) -> Result<(PathBuf, Guard), DiskError> {
    let path = env.workdir.join(name);
    let guard = env
        .cleanup
        .register(Resource::File { path: path.clone() })?;
    let err = |source| DiskError::Create {
        path: path.clone(),
        source,
    };
    // O_EXCL|O_NOFOLLOW, mode 0600: nothing planted there is written through.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_0600()
        .open(&path)
        .map_err(err)?;
    f.set_len(mib.saturating_mul(1024 * 1024)).map_err(err)?;
    drop(f);
    crate::subprocess::run_ok(
        Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&path),
        MKFS_TIMEOUT,
    )?;
    Ok((path, guard))
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600).custom_flags(libc::O_NOFOLLOW)
    }
}

/// The guest's modules beside `kernel` (`modules/order` and the `.ko` files it lists, as
/// `fixtures/setup-kernel.sh` writes them), in load order: `Ok(None)` when there is no
/// such directory (a host /boot kernel, an older fixtures directory).
pub fn modules(kernel: &Path) -> Result<Option<Modules>, DiskError> {
    let Some(dir) = kernel.parent().map(|p| p.join("modules")) else {
        return Ok(None);
    };
    let order = dir.join("order");
    if !order.is_file() {
        return Ok(None);
    }
    let read = |p: &Path| -> Result<Vec<u8>, DiskError> {
        let len = std::fs::metadata(p)
            .map_err(|source| DiskError::Module {
                path: p.to_path_buf(),
                source,
            })?
            .len();
        if len > MAX_MODULE_BYTES {
            return Err(DiskError::BadModules {
                path: p.to_path_buf(),
                what: format!("{len} bytes, more than a module can be"),
            });
        }
        std::fs::read(p).map_err(|source| DiskError::Module {
            path: p.to_path_buf(),
            source,
        })
    };
    let text = String::from_utf8_lossy(&read(&order)?).into_owned();
    let mut out = Vec::new();
    for name in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let plain = name.ends_with(".ko")
            && name.len() > 3
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if !plain {
            return Err(DiskError::BadModules {
                path: order.clone(),
                what: format!("{name:?} is not a plain .ko file name"),
            });
        }
        out.push((name.to_string(), read(&dir.join(name))?));
    }
    if out.is_empty() {
        return Err(DiskError::BadModules {
            path: order,
            what: "lists no module".into(),
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_read_in_order_and_names_are_checked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let kernel = tmp.path().join("vmlinuz");
        assert!(modules(&kernel).expect("no dir").is_none());
        let dir = tmp.path().join("modules");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("virtio.ko"), b"A").expect("write");
        std::fs::write(dir.join("virtio_blk.ko"), b"B").expect("write");
        std::fs::write(dir.join("order"), "virtio.ko\nvirtio_blk.ko\n").expect("write");
        let m = modules(&kernel).expect("read").expect("present");
        assert_eq!(
            m,
            vec![
                ("virtio.ko".to_string(), b"A".to_vec()),
                ("virtio_blk.ko".to_string(), b"B".to_vec())
            ]
        );
        std::fs::write(dir.join("order"), "../../etc/passwd\n").expect("write");
        let e = modules(&kernel)
            .expect_err("a path is no module name")
            .to_string();
        assert!(
            e.contains("not a plain .ko") && e.contains("--force"),
            "{e}"
        );
        std::fs::write(dir.join("order"), "gone.ko\n").expect("write");
        assert!(modules(&kernel).is_err());
    }

    #[test]
    fn the_image_has_room_for_the_file_twice() {
        assert_eq!(image_mib(16), 160);
        assert_eq!(image_mib(u64::MAX), u64::MAX);
    }
}

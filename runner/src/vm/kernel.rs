//! Finding the guest kernel a VM boots directly (`qemu -kernel`).
//!
//! Order, first hit wins: `isobench run --kernel PATH`, `$ISOBENCH_KERNEL`,
//! `fixtures/kernels/vmlinuz` (written by `fixtures/setup-kernel.sh`; looked up beside the
//! source tree isobench was built from, then under the current directory), then the
//! host's `/boot/vmlinuz-*` (the running kernel's release first, else the newest). A path
//! named explicitly that does not exist is an error, not a reason to fall through: a
//! person who names a kernel wants that one.
//!
//! The kernel needs, built in (not as modules, there is nothing to load them from): the
//! 8250 serial console (`console=ttyS0`), initramfs support, devtmpfs. Debian's
//! `linux-image-cloud-amd64` has them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the kernel came from (shown by `doctor` and recorded in the host notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--kernel PATH`.
    Flag,
    /// `$ISOBENCH_KERNEL`.
    EnvVar,
    /// `fixtures/kernels/vmlinuz`.
    Fixtures,
    /// The host's `/boot`.
    Boot,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--kernel",
            Source::EnvVar => "$ISOBENCH_KERNEL",
            Source::Fixtures => "fixtures/kernels (fixtures/setup-kernel.sh)",
            Source::Boot => "the host's /boot",
        }
    }
}

/// A guest kernel image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    pub path: PathBuf,
    pub source: Source,
    /// fixtures/kernels/VERSION's lines joined by "; " (package and version, then
    /// `source: ...`, where setup-kernel.sh got it), or the file name.
    pub version: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    #[error("guest kernel {path} (from {from}) does not exist or is not a file; fix the path or unset it")]
    Missing { path: PathBuf, from: &'static str },
    #[error(
        "no guest kernel found (tried --kernel, $ISOBENCH_KERNEL, {fixtures}, /boot/vmlinuz-*)"
    )]
    NotFound { fixtures: String },
}

/// The fix to print with `KernelError::NotFound`.
pub const FIX: &str = "run fixtures/setup-kernel.sh (downloads the distribution's small kernel flavour into fixtures/kernels/), or pass --kernel PATH / set ISOBENCH_KERNEL";

static CLI_OVERRIDE: OnceLock<PathBuf> = OnceLock::new();

/// Record `isobench run --kernel PATH` (once per process; later calls are ignored).
pub fn set_cli_override(path: PathBuf) {
    let _ = CLI_OVERRIDE.set(path);
}

/// Find the guest kernel (see the module doc for the order).
pub fn find() -> Result<Kernel, KernelError> {
    let env = std::env::var_os("ISOBENCH_KERNEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    find_in(
        CLI_OVERRIDE.get().map(PathBuf::as_path),
        env.as_deref(),
        &fixture_dirs(),
        Path::new("/boot"),
    )
}

/// Candidate `fixtures/kernels` directories: beside the source tree, then the cwd's.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/kernels");
    let mut v = vec![built];
    if let Ok(cwd) = std::env::current_dir() {
        v.push(cwd.join("fixtures/kernels"));
    }
    v
}

/// `find` with every location given (tests).
pub fn find_in(
    flag: Option<&Path>,
    env: Option<&Path>,
    fixtures: &[PathBuf],
    boot: &Path,
) -> Result<Kernel, KernelError> {
    for (p, source) in [(flag, Source::Flag), (env, Source::EnvVar)] {
        if let Some(p) = p {
            if !p.is_file() {
                return Err(KernelError::Missing {
                    path: p.to_path_buf(),
                    from: source.describe(),
                });
            }
            return Ok(kernel(p.to_path_buf(), source));
        }
    }
    for dir in fixtures {
        let p = dir.join("vmlinuz");
        if p.is_file() {
            let version = std::fs::read_to_string(dir.join("VERSION"))
                .ok()
                .map(|s| {
                    s.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|s| !s.is_empty());
            let mut k = kernel(clean(&p), Source::Fixtures);
            if let Some(v) = version {
                k.version = v;
            }
            return Ok(k);
        }
    }
    if let Some(p) = newest_in_boot(boot) {
        return Ok(kernel(p, Source::Boot));
    }
    Err(KernelError::NotFound {
        fixtures: fixtures
            .first()
            .map(|d| clean(&d.join("vmlinuz")).display().to_string())
            .unwrap_or_else(|| "fixtures/kernels/vmlinuz".into()),
    })
}

fn kernel(path: PathBuf, source: Source) -> Kernel {
    let version = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Kernel {
        path,
        source,
        version,
    }
}

/// `a/b/../c` → `a/c` when the path exists (for messages and the run file).
fn clean(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `/boot/vmlinuz-<running release>` if present, else the lexically greatest
/// `vmlinuz-*` (Debian's version strings sort well enough for "newest").
fn newest_in_boot(boot: &Path) -> Option<PathBuf> {
    let (_, release, _) = crate::sys::uname();
    let running = boot.join(format!("vmlinuz-{release}"));
    if running.is_file() {
        return Some(running);
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(boot)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    all.sort();
    all.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_sources() {
        let t = tempfile::tempdir().expect("tempdir");
        let fx = t.path().join("fixtures");
        let boot = t.path().join("boot");
        std::fs::create_dir_all(&fx).expect("mkdir");
        std::fs::create_dir_all(&boot).expect("mkdir");
        let flag = t.path().join("flag-vmlinuz");
        std::fs::write(&flag, b"k").expect("write");
        let nothing = find_in(None, None, std::slice::from_ref(&fx), &boot);
        assert!(
            matches!(nothing, Err(KernelError::NotFound { .. })),
            "{nothing:?}"
        );

        std::fs::write(boot.join("vmlinuz-1.0"), b"k").expect("write");
        std::fs::write(boot.join("vmlinuz-2.0"), b"k").expect("write");
        let k = find_in(None, None, std::slice::from_ref(&fx), &boot).expect("boot");
        assert_eq!(k.source, Source::Boot);
        assert_eq!(k.path, boot.join("vmlinuz-2.0"));

        std::fs::write(fx.join("vmlinuz"), b"k").expect("write");
        std::fs::write(
            fx.join("VERSION"),
            "linux-image-x 1.2\nsource: debian-12 flavour m\n",
        )
        .expect("write");
        let k = find_in(None, None, std::slice::from_ref(&fx), &boot).expect("fixtures");
        assert_eq!(k.source, Source::Fixtures);
        assert_eq!(k.version, "linux-image-x 1.2; source: debian-12 flavour m");

        let k = find_in(None, Some(&flag), std::slice::from_ref(&fx), &boot).expect("env");
        assert_eq!(k.source, Source::EnvVar);
        let k = find_in(Some(&flag), Some(&boot), std::slice::from_ref(&fx), &boot).expect("flag");
        assert_eq!((k.source, k.path), (Source::Flag, flag));

        // A named kernel that is missing is an error, not a fall-through.
        let missing = t.path().join("nope");
        assert!(matches!(
            find_in(None, Some(&missing), std::slice::from_ref(&fx), &boot),
            Err(KernelError::Missing { .. })
        ));
    }
}

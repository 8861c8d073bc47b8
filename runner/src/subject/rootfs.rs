//! The root filesystem every container subject uses: the static probe, plus busybox
//! (when the host has a static one) for people who want to look around inside.
//!
//! Built once per run in the work directory, outside any timed region:
//!
//! ```text
//! rootfs/
//!   isobench-probe           the payload (entrypoint)
//!   bin/busybox + applets    only if a static busybox is installed (busybox-static)
//!   proc/ sys/ dev/ tmp/ run/ etc/hostname etc/passwd etc/group
//!   isobench-wl/             mode 1777: where the `workload` scenario's file workloads
//!                            write (not /tmp, which nspawn and runsc mount a tmpfs on)
//!   usr/ etc/os-release      what systemd-nspawn checks an OS tree by (the `nspawn`
//!                            subject: "Directory ... doesn't look like an OS root
//!                            directory (os-release file is missing)")
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::workdir::Env;

/// Path of the probe inside the rootfs.
pub const PROBE_IN_ROOTFS: &str = "/isobench-probe";

/// The `workload` scenario's directory inside the rootfs (`--dir` of the probe).
pub const WORKLOAD_DIR: &str = "/isobench-wl";

#[derive(Debug, thiserror::Error)]
#[error("building the container root filesystem at {path}: {source}")]
pub struct RootfsError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Where a static busybox may be found.
const BUSYBOX_CANDIDATES: &[&str] = &[
    "/bin/busybox",
    "/usr/bin/busybox",
    "/usr/lib/busybox/busybox-static",
];

/// The generated rootfs of this run (built on first call, reused after).
pub fn get(env: &Env) -> Result<PathBuf, RootfsError> {
    let root = env.workdir.join("rootfs");
    if root.join("isobench-probe").is_file() {
        return Ok(root);
    }
    build(&root, &env.probe).map_err(|source| RootfsError {
        path: root.clone(),
        source,
    })?;
    Ok(root)
}

/// Build a rootfs at `root` containing `probe`.
pub fn build(root: &Path, probe: &Path) -> std::io::Result<()> {
    let wl = WORKLOAD_DIR.trim_start_matches('/');
    for d in ["proc", "sys", "dev", "tmp", "etc", "bin", "run", "usr", wl] {
        fs::create_dir_all(root.join(d))?;
    }
    crate::workdir::set_mode(&root.join("tmp"), 0o1777)?;
    crate::workdir::set_mode(&root.join(wl), 0o1777)?;
    fs::write(root.join("etc/hostname"), "isobench\n")?;
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )?;
    fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    // os-release(5): ID and NAME are enough for nspawn.
    fs::write(
        root.join("etc/os-release"),
        "ID=isobench\nNAME=\"isobench probe rootfs\"\n",
    )?;
    let dest = root.join("isobench-probe");
    // Written from a child, not fs::copy'd: see sys::fs::write_executable (ETXTBSY).
    crate::sys::fs::write_executable(&dest, &fs::read(probe)?, 0o755)?;
    if let Some(bb) = static_busybox() {
        let bin = root.join("bin/busybox");
        crate::sys::fs::write_executable(&bin, &fs::read(&bb)?, 0o755)?;
        for applet in [
            "sh", "ls", "cat", "ps", "mount", "hostname", "ip", "sleep", "true", "echo",
        ] {
            let link = root.join("bin").join(applet);
            if !link.exists() {
                std::os::unix::fs::symlink("busybox", link)?;
            }
        }
    }
    Ok(())
}

/// A busybox that is statically linked (the rootfs has no libc to load a dynamic one).
pub fn static_busybox() -> Option<PathBuf> {
    BUSYBOX_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| is_static_elf(p))
}

/// An ELF file without a PT_INTERP program header (no dynamic loader needed).
pub fn is_static_elf(path: &Path) -> bool {
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        return false; // not a 64-bit ELF
    }
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[o..o + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > bytes.len() {
            return false;
        }
        if u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) == 3 {
            return false; // PT_INTERP
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_rootfs_with_probe() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let probe = tmp.path().join("p");
        std::fs::write(&probe, crate::probe::PROBE_ELF).expect("write");
        let root = tmp.path().join("root");
        super::build(&root, &probe).expect("build");
        assert!(root.join("isobench-probe").is_file());
        assert!(root.join("isobench-wl").is_dir());
        assert!(
            super::is_static_elf(&root.join("isobench-probe")),
            "the probe must be static"
        );
        assert!(
            !super::is_static_elf(std::path::Path::new("/bin/ls"))
                || !std::path::Path::new("/bin/ls").exists()
        );
    }
}

//! A second local user for the security tests: `nobody` (uid/gid 65534), who owns and
//! plants things in temp dirs the way a hostile local user would (symlinks, renames,
//! pre-created directories) while the test process (root) plays isobench's user.
//!
//! The commands run with `Command::uid/gid`, which also drops root's supplementary
//! groups. `Hostile::new` is a capability probe: when the test cannot switch to uid
//! 65534 (not root, or no setuid possible in this container) it says why and returns
//! `None`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// uid and gid of the other user.
pub const NOBODY: u32 = 65534;

/// A temp dir (mode 0755, so the other user can traverse it) and the other user.
pub struct Hostile {
    tmp: tempfile::TempDir,
}

impl Hostile {
    /// `None`, with the reason printed, when user switching is impossible here.
    pub fn new(test: &str) -> Option<Hostile> {
        let probe = Command::new("id")
            .arg("-u")
            .uid(NOBODY)
            .gid(NOBODY)
            .output();
        match probe {
            Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "65534" => {
            }
            Ok(o) => {
                eprintln!(
                    "skipping {test}: cannot run a command as uid {NOBODY}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("skipping {test}: cannot run a command as uid {NOBODY}: {e}");
                return None;
            }
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        set_mode(tmp.path(), 0o755);
        Some(Hostile { tmp })
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// A directory of root's (the test's) with `mode`.
    pub fn root_dir(&self, name: &str, mode: u32) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        set_mode(&p, mode);
        p
    }

    /// A directory of the other user's (as if it had made it), with `mode`.
    pub fn their_dir(&self, name: &str, mode: u32) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        std::os::unix::fs::chown(&p, Some(NOBODY), Some(NOBODY)).expect("chown");
        set_mode(&p, mode);
        p
    }

    /// Run `script` with `sh -c` as the other user.
    pub fn sh(&self, script: &str) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir("/")
            .env("HOME", "/nonexistent")
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("run sh as nobody")
    }

    /// `sh`, which must succeed.
    pub fn sh_ok(&self, script: &str) {
        let o = self.sh(script);
        assert!(
            o.status.success(),
            "as uid {NOBODY}: `{script}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        // The other user's files are removable by root; a mount a test left (it should
        // not) would make this fail loudly rather than silently.
        let _ = Command::new("chmod")
            .args(["-R", "u+rwx"])
            .arg(self.tmp.path())
            .status();
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

/// Mount points at exactly `path`, as (mount id, fs type), from /proc/self/mountinfo.
pub fn mounts_at(path: &Path) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let want = path.to_string_lossy();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            if *f.get(4)? != want {
                return None;
            }
            Some((f[0].parse().ok()?, f.get(sep + 1)?.to_string()))
        })
        .collect()
}

/// A tmpfs the test mounted; unmounted (lazily) on drop, on every path.
pub struct TestMount(pub PathBuf);

impl TestMount {
    pub fn new(path: &Path) -> TestMount {
        TestMount::sized(path, "1m").expect("mount tmpfs")
    }

    /// A tmpfs of `size` (mount(8) `size=`), or why it could not be mounted.
    pub fn sized(path: &Path, size: &str) -> Result<TestMount, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "hostile-test"])
            .arg(path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs on {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(TestMount(path.to_path_buf()))
    }

    /// The mount ID (mountinfo field 1) of the topmost mount at the path.
    pub fn id(&self) -> u64 {
        mounts_at(&self.0).last().map(|m| m.0).expect("mounted")
    }
}

impl Drop for TestMount {
    fn drop(&mut self) {
        while !mounts_at(&self.0).is_empty() {
            let st = Command::new("umount").arg("-l").arg(&self.0).status();
            if !st.is_ok_and(|s| s.success()) {
                break;
            }
        }
    }
}

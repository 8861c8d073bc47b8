//! `fixtures/setup.sh --dry-run` against the canned os-release files in
//! `fixtures/os-release/`: the packages planned per distribution, those skipped and what
//! they cost, the guest kernel's source, and where availability came from (the script's
//! package table, or apt-cache). apt-cache, dpkg-query and apt-get are replaced by
//! deterministic doubles on PATH where the answer must not depend on this host's lists;
//! the apt-get double records any call, so a dry run that installs or downloads fails.
//! Also `fixtures/setup-kernel.sh` for real, against a double of apt that serves a
//! zstd-compressed image: the kernel is decompressed and `VERSION` records its source.
//! Cases:
//! * ubuntu-24.04 planned from package lists (this host's apt cannot answer for it);
//! * debian-12 planned from package lists, and checked with (double) apt-cache;
//! * an unknown distribution says so;
//! * dry run as an unprivileged user works, a real set-up as one is refused;
//! * setup-kernel.sh: flavour fetched, zstd decompressed, source recorded.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A dry run reads a few files and asks apt-cache a few dozen questions.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

const BASE: &[&str] = &[
    "gcc",
    "libc6-dev",
    "pkg-config",
    "util-linux",
    "procps",
    "iproute2",
    "python3",
    "ca-certificates",
];
const FULL: &[&str] = &[
    "runc",
    "crun",
    "runsc",
    "systemd-container",
    "lxc",
    "bubblewrap",
    "busybox-static",
    "podman",
    "uidmap",
    "tar",
    "cpio",
    "qemu-system-x86",
    "chromium",
    "hyperfine",
    "zstd",
    "e2fsprogs",
    "fio",
    "iperf3",
    "sysbench",
];
const CI: &[&str] = &["shellcheck", "python3-venv"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
}

fn os_release(name: &str) -> PathBuf {
    repo().join("fixtures/os-release").join(name)
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The words after `prefix` on the one line that starts with it.
    fn words(&self, prefix: &str) -> BTreeSet<String> {
        let lines: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect();
        assert_eq!(lines.len(), 1, "one {prefix:?} line expected:\n{self}");
        lines[0][prefix.len()..]
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{self}"))
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A command for `program` without the caller's set-up knobs (each test sets its own).
fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for knob in [
        "ISOBENCH_SETUP_MINIMAL",
        "ISOBENCH_SETUP_PLANNED",
        "ISOBENCH_KERNEL_PACKAGE",
        "ISOBENCH_OS_RELEASE",
        "ISOBENCH_HOST_OS_RELEASE",
    ] {
        cmd.env_remove(knob);
    }
    cmd
}

/// Run `cmd` to its end within [`SCRIPT_TIMEOUT`] (killed and failed after it).
fn run(mut cmd: Command) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn bash");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).map(|_| s)
        }),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {SCRIPT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Out {
        code: status.code(),
        stdout: readers.0.join().expect("join").expect("read stdout"),
        stderr: readers.1.join().expect("join").expect("read stderr"),
    }
}

/// `bash fixtures/setup.sh --dry-run` planning for `target` on a host that runs `host`.
fn dry_run(target: &str, host: &str, env: &[(&str, &str)], path_first: Option<&Path>) -> Out {
    let mut cmd = command("bash");
    cmd.arg(repo().join("fixtures/setup.sh"))
        .arg("--dry-run")
        .env("ISOBENCH_OS_RELEASE", os_release(target))
        .env("ISOBENCH_HOST_OS_RELEASE", os_release(host));
    if let Some(dir) = path_first {
        cmd.env("PATH", path_with(dir));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "dry run failed:\n{out}");
    out
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    )
}

/// Whether `docker` is on PATH: setup.sh then leaves docker.io out.
fn docker_on_path() -> bool {
    let mut cmd = command("sh");
    cmd.args(["-c", "command -v docker"]);
    run(cmd).code == Some(0)
}

fn set(lists: &[&[&str]], minus: &[&str], plus: &[&str]) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = lists
        .iter()
        .flat_map(|l| l.iter())
        .filter(|p| !minus.contains(p))
        .map(|p| p.to_string())
        .collect();
    s.extend(plus.iter().map(|p| p.to_string()));
    if !docker_on_path() {
        s.insert("docker.io".into());
    }
    s
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Doubles of apt-cache (every package but crun has a candidate; the cloud metapackage
/// depends on linux-image-9.9.9-1-cloud-amd64), dpkg-query (nothing installed) and
/// apt-get (records its arguments in `apt-get.called`, then fails).
fn apt_doubles(dir: &Path) {
    write_executable(
        &dir.join("apt-cache"),
        r#"#!/bin/sh
case "$1" in
policy)
    if [ $# -eq 1 ]; then
        printf 'Package files:\n 500 http://archive.invalid/debian bookworm/main amd64 Packages\n'
        exit 0
    fi
    if [ "$2" = crun ]; then c='(none)'; else c='9.9.9-1'; fi
    printf '%s:\n  Installed: (none)\n  Candidate: %s\n' "$2" "$c"
    ;;
depends)
    [ "$2" = linux-image-cloud-amd64 ] || exit 0
    printf '%s\n  Depends: linux-image-9.9.9-1-cloud-amd64\n' "$2"
    ;;
*) exit 1 ;;
esac
"#,
    );
    write_executable(&dir.join("dpkg-query"), "#!/bin/sh\nexit 1\n");
    write_executable(
        &dir.join("apt-get"),
        "#!/bin/sh\necho \"$@\" >>\"$(dirname \"$0\")/apt-get.called\"\nexit 1\n",
    );
}

#[test]
fn ubuntu_24_04_is_planned_from_package_lists() {
    let out = dry_run("ubuntu-24.04", "debian-12", &[], None);
    assert!(
        out.stdout
            .contains("availability planned from package lists (this script's table for ubuntu-24.04; this host is debian-12"),
        "{out}"
    );
    assert_eq!(
        out.words("install: "),
        set(&[BASE, FULL, CI], &["chromium", "runsc"], &[])
    );
    // gVisor is the one package the lists do not settle for noble.
    assert_eq!(
        out.words("check at install time: "),
        BTreeSet::from(["runsc".to_string()])
    );
    assert!(
        out.line("unsure: runsc (")
            .contains("subject runsc (gVisor) will be skipped"),
        "{out}"
    );
    let skip = out.line("skip: chromium ");
    assert!(
        skip.contains("snap") && skip.contains("report test"),
        "{skip}"
    );
    assert_eq!(out.stdout.matches("\nskip: ").count(), 1, "{out}");
    assert_eq!(
        out.line("kernel: source: "),
        "kernel: source: ubuntu-24.04 flavour: first of linux-image-kvm linux-image-virtual \
         that resolves (planned from package lists; the versioned package is resolved at \
         install time)"
    );
    assert!(
        out.line("kernel: fallback: ")
            .contains("/boot/vmlinuz-$(uname -r) of the machine being set up"),
        "{out}"
    );

    // The planned subjects: none at the moment, so the same plan.
    let planned = dry_run(
        "ubuntu-24.04",
        "debian-12",
        &[("ISOBENCH_SETUP_PLANNED", "1")],
        None,
    );
    assert_eq!(
        planned.words("install: "),
        set(&[BASE, FULL, CI], &["chromium", "runsc"], &[])
    );
}

#[test]
fn debian_12_from_lists_and_from_apt_cache() {
    // Planned on another distribution's host: the table, where Debian 12 lacks nothing.
    let lists = dry_run("debian-12", "ubuntu-24.04", &[], None);
    assert!(
        lists
            .stdout
            .contains("availability planned from package lists (this script's table for debian-12"),
        "{lists}"
    );
    assert_eq!(lists.words("install: "), set(&[BASE, FULL, CI], &[], &[]));
    assert!(!lists.stdout.contains("\nskip: "), "{lists}");
    assert!(
        lists
            .line("kernel: source: ")
            .starts_with("kernel: source: debian-12 flavour: first of linux-image-cloud-amd64 that resolves (planned from package lists"),
        "{lists}"
    );

    // Planned on a Debian 12 host: apt-cache answers (here a double where crun is gone),
    // and the metapackage resolves to its versioned image. Nothing is installed.
    let fakes = tempfile::tempdir().expect("tempdir");
    apt_doubles(fakes.path());
    let live = dry_run("debian-12", "debian-12", &[], Some(fakes.path()));
    assert!(
        live.stdout
            .contains("availability checked with apt-cache on this host (debian-12)"),
        "{live}"
    );
    assert_eq!(
        live.words("install: "),
        set(&[BASE, FULL, CI], &["crun"], &[])
    );
    let skip = live.line("skip: crun ");
    assert!(
        skip.contains("apt-cache on this host has no candidate")
            && skip.contains("subject crun will be skipped"),
        "{skip}"
    );
    assert_eq!(
        live.line("kernel: source: "),
        "kernel: source: debian-12 flavour linux-image-cloud-amd64 -> \
         linux-image-9.9.9-1-cloud-amd64 9.9.9-1 (checked with apt-cache on this host)"
    );
    assert!(
        !fakes.path().join("apt-get.called").exists(),
        "a dry run called apt-get:\n{live}"
    );
}

#[test]
fn an_unknown_distribution_says_so() {
    let out = dry_run("fedora-40", "debian-12", &[], None);
    assert!(
        out.stdout.contains(
            "Fedora Linux 40 (Server Edition) (ID=fedora) is not a distribution this script knows"
        ),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("availability unknown: no package table for fedora-40"),
        "{out}"
    );
    assert!(out.words("install: ").is_empty(), "{out}");
    assert_eq!(
        out.words("check at install time: "),
        set(&[BASE, FULL, CI], &[], &[])
    );
    assert_eq!(
        out.line("kernel: "),
        "kernel: no small kernel flavour known for fedora-40"
    );
}

/// The effective uid, from /proc/self/status (`Uid: real effective saved fs`).
fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .expect("Uid: line in /proc/self/status")
}

#[test]
fn dry_run_needs_no_root_and_a_real_set_up_does() {
    // A copy of the scripts in a directory any user can read, run as nobody when this
    // test runs as root (setpriv, util-linux), else as the invoking user.
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(fixtures.join("os-release")).expect("mkdir");
    for f in [
        "setup.sh",
        "setup-kernel.sh",
        "distro.sh",
        "os-release/ubuntu-24.04",
    ] {
        std::fs::copy(repo().join("fixtures").join(f), fixtures.join(f))
            .unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
    for d in [dir.path(), fixtures.as_path(), &fixtures.join("os-release")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let as_user = |args: &[&str]| {
        let mut cmd = if euid() == 0 {
            let mut c = command("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "bash",
            ]);
            c
        } else {
            command("bash")
        };
        cmd.arg(fixtures.join("setup.sh")).args(args).env(
            "ISOBENCH_OS_RELEASE",
            fixtures.join("os-release/ubuntu-24.04"),
        );
        run(cmd)
    };
    let plan = as_user(&["--dry-run"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    assert!(plan.stdout.contains("install: gcc "), "{plan}");
    let real = as_user(&[]);
    assert_eq!(real.code, Some(1), "{real}");
    assert!(
        real.stderr
            .contains("run as root (sudo bash fixtures/setup.sh)"),
        "{real}"
    );
}

#[test]
fn setup_kernel_unpacks_a_zstd_image_and_records_its_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).expect("mkdir");
    for f in ["setup-kernel.sh", "distro.sh"] {
        std::fs::copy(repo().join("fixtures").join(f), fixtures.join(f))
            .unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
    // A bzImage as far as the boot protocol's header goes: "HdrS" at 0x202.
    let mut image = vec![0u8; 4096];
    image[0..2].copy_from_slice(b"MZ");
    image[0x202..0x206].copy_from_slice(b"HdrS");
    image[1000..1012].copy_from_slice(b"guest kernel");
    // The package: boot/vmlinuz-* compressed as a bare zstd stream, built with dpkg-deb.
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(pkg.join("boot")).expect("mkdir");
    std::fs::create_dir_all(pkg.join("DEBIAN")).expect("mkdir");
    std::fs::write(pkg.join("vmlinuz.raw"), &image).expect("write image");
    let mut zstd = command("zstd");
    zstd.args(["-q", "-o"])
        .arg(pkg.join("boot/vmlinuz-9.9.9-1-kvm"))
        .arg(pkg.join("vmlinuz.raw"));
    let z = run(zstd);
    assert_eq!(z.code, Some(0), "zstd (apt-get install zstd):\n{z}");
    std::fs::remove_file(pkg.join("vmlinuz.raw")).expect("rm");
    std::fs::write(
        pkg.join("DEBIAN/control"),
        "Package: linux-image-9.9.9-1-kvm\nVersion: 9.9.9-1.2\nArchitecture: amd64\n\
         Maintainer: isobench tests <tests@isobench.invalid>\nDescription: test double\n",
    )
    .expect("write control");
    let deb = dir
        .path()
        .join("linux-image-9.9.9-1-kvm_9.9.9-1.2_amd64.deb");
    let mut build = command("dpkg-deb");
    build
        .args(["--root-owner-group", "--build"])
        .arg(&pkg)
        .arg(&deb);
    let b = run(build);
    assert_eq!(b.code, Some(0), "dpkg-deb --build:\n{b}");

    // apt: linux-image-kvm depends on the versioned package, which `download` serves.
    let fakes = dir.path().join("bin");
    std::fs::create_dir_all(&fakes).expect("mkdir");
    write_executable(
        &fakes.join("apt-cache"),
        "#!/bin/sh\n[ \"$1 $2\" = 'depends linux-image-kvm' ] || exit 1\n\
         printf 'linux-image-kvm\\n  Depends: linux-image-9.9.9-1-kvm\\n'\n",
    );
    write_executable(
        &fakes.join("apt-get"),
        &format!(
            "#!/bin/sh\n[ \"$1\" = download ] || exit 1\ncp '{}' .\n",
            deb.display()
        ),
    );
    let mut cmd = command("sh");
    cmd.arg(fixtures.join("setup-kernel.sh"))
        .env("ISOBENCH_OS_RELEASE", os_release("ubuntu-24.04"))
        .env("PATH", path_with(&fakes));
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{out}");
    let kernels = fixtures.join("kernels");
    assert_eq!(
        std::fs::read(kernels.join("vmlinuz")).expect("read vmlinuz"),
        image,
        "the decompressed image"
    );
    assert_eq!(
        std::fs::read_to_string(kernels.join("VERSION")).expect("read VERSION"),
        "linux-image-9.9.9-1-kvm 9.9.9-1.2\nsource: ubuntu-24.04 flavour linux-image-kvm (zstd -d)\n"
    );
}

//! Is KVM usable here? Decided by booting the probe once under KVM, with bounds, and
//! remembered for the rest of the host's boot.
//!
//! `/dev/kvm` existing proves little: in a nested guest without VMX/SVM passed through
//! (this project's CI, a Firecracker microVM) opening it works, QEMU starts, the firmware
//! even prints, and then the guest hangs forever. So the only trustworthy test is a real
//! boot to the probe's ready marker. It is bounded twice: by [`PROBE_LIMIT`] (or
//! `vm_boot` if smaller) overall, and by [`SILENCE_LIMIT`] of console silence, which is
//! how such a hang shows (the console stops after SeaBIOS's "Probing EDD ... ok"), so a
//! hung probe costs the time to the firmware's last line plus the silence bound, ~5 s
//! here, not the full cap.
//!
//! The verdict is cached at two levels: per process (a `OnceLock`; every VM of the run
//! then uses the same accelerator) and per host boot (`kvm_cache`: a JSON file under
//! /run keyed by the boot id, the QEMU binary, the guest kernel and the machine type), so
//! only the first isobench process after a boot (or after QEMU or the kernel changed)
//! pays for a probe boot; the host note then says whose verdict it reuses.
//! `isobench doctor` always probes afresh and rewrites the cached verdict.
//! `ISOBENCH_ACCEL=tcg` skips the probe (TCG), `ISOBENCH_ACCEL=kvm` trusts KVM without it;
//! both ignore the cache and leave it alone.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::boot::{Boot, BootError};
use super::cmdline::{Accel, BootConfig, GUEST_MEMORY_MIB};
use super::console::Marker;
use super::kvm_cache::{self, Entry, Key};
use crate::cleanup::Cleanup;

/// Upper bound of the probe boot. A KVM boot of the probe takes well under a second; TCG
/// takes 2-5 s, so 20 s leaves room for a loaded host without waiting forever.
pub const PROBE_LIMIT: Duration = Duration::from_secs(20);

/// Console silence after which the probe boot counts as hung. Measured on the 2-core
/// Firecracker CI host (kernel 6.18, QEMU 7.2, Debian 6.1 cloud guest kernel): the
/// largest gap between console chunks of a whole TCG boot (which runs the guest several
/// times slower than KVM) is 0.55-0.75 s (kernel init before `audit:`), and a QEMU under
/// KVM there takes 1.3-1.6 s to print its first byte (silence counts from the spawn
/// until then). 3 s is twice the slowest of those, and still a small fraction of the
/// 20 s the hang used to cost. A healthy guest cut short by a badly overloaded host only
/// costs speed (TCG, labelled `accel=tcg`), and `isobench doctor` re-probes.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3);

/// The verdict, recorded in the host fingerprint (`kvm_usable`, notes `kvm_probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvmStatus {
    pub usable: bool,
    pub note: String,
}

impl KvmStatus {
    pub fn accel(&self) -> Accel {
        if self.usable {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }
}

static STATUS: OnceLock<KvmStatus> = OnceLock::new();

/// The verdict if this process probed already.
pub fn cached() -> Option<&'static KvmStatus> {
    STATUS.get()
}

/// The verdict for this process: the ISOBENCH_ACCEL override, else this boot's cached
/// verdict for `template`'s QEMU, kernel and machine, else one bounded probe boot of
/// `template` (its accel is replaced), which is then cached. Decided the first time.
pub fn status(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> &'static KvmStatus {
    STATUS.get_or_init(|| verdict(template, cleanup, limit, kvm_cache::location().as_deref()))
}

/// [`status`] without the per-process memory, with the cache file named (`None`: no
/// cache): the override, else the verdict cached in `cache` for this key, else a probe
/// boot (bounded by `limit` and [`PROBE_LIMIT`]) whose verdict is written to `cache`
/// when it is conclusive.
pub fn verdict(
    template: &BootConfig,
    cleanup: &Cleanup,
    limit: Duration,
    cache: Option<&Path>,
) -> KvmStatus {
    // The device check comes before the cache: it is per user and cheap, and a cached
    // verdict is about the CPU, not about whether this user may open the device.
    if let Some(s) = not_probed() {
        return s;
    }
    let key = cache.and_then(|_| cache_key(template).ok());
    if let (Some(path), Some(key)) = (cache, &key) {
        if let Some(e) = kvm_cache::load(path, key) {
            return from_cache(&e);
        }
    }
    let p = probe_boot(template, cleanup, limit.min(PROBE_LIMIT));
    if let (Some(path), Some(key), true) = (cache, key, p.conclusive) {
        // A cache that cannot be written only means the next run probes again.
        let _ = kvm_cache::store(path, &p.entry(key));
    }
    p.status
}

/// `isobench doctor`: probe afresh whatever is cached, and rewrite the cache. Returns
/// the verdict and what happened to the cache.
pub fn reprobe(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> (KvmStatus, String) {
    if let Some(s) = not_probed() {
        return (s, "the cache is left alone (no probe boot)".into());
    }
    let p = probe_boot(template, cleanup, limit.min(PROBE_LIMIT));
    let cached = match (kvm_cache::location(), p.conclusive) {
        (None, _) => format!(
            "not cached (not root, or {} is empty): every isobench process probes",
            kvm_cache::PATH_VAR
        ),
        (Some(_), false) => "not cached: the probe was not conclusive".into(),
        (Some(path), true) => {
            match cache_key(template).and_then(|key| kvm_cache::store(&path, &p.entry(key))) {
                Ok(()) => format!(
                    "cached in {} for this boot, QEMU, guest kernel and machine",
                    path.display()
                ),
                Err(e) => format!("not cached: {e}"),
            }
        }
    };
    (p.status, cached)
}

/// One uncached probe boot bounded by `limit` (tests; runs use [`status`]).
pub fn probe(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> KvmStatus {
    not_probed().unwrap_or_else(|| probe_boot(template, cleanup, limit).status)
}

/// The verdict when no probe boot is needed: ISOBENCH_ACCEL imposes one, or `/dev/kvm`
/// does not open.
fn not_probed() -> Option<KvmStatus> {
    forced().or_else(|| device_opens(Path::new("/dev/kvm")).err())
}

/// The verdict ISOBENCH_ACCEL imposes, if it is set to `tcg` or `kvm`.
fn forced() -> Option<KvmStatus> {
    match std::env::var("ISOBENCH_ACCEL").as_deref() {
        Ok("tcg") => Some(KvmStatus {
            usable: false,
            note: "not probed: ISOBENCH_ACCEL=tcg forces TCG".into(),
        }),
        Ok("kvm") => Some(KvmStatus {
            usable: true,
            note: "not probed: ISOBENCH_ACCEL=kvm forces KVM".into(),
        }),
        _ => None,
    }
}

fn cache_key(template: &BootConfig) -> Result<Key, kvm_cache::CacheError> {
    Key::current(&template.qemu, &template.kernel, &template.machine)
}

/// The status a cached verdict stands for, saying it is one.
fn from_cache(e: &Entry) -> KvmStatus {
    let (word, original) = if e.usable {
        ("usable", e.note.strip_prefix("usable: "))
    } else {
        ("unusable", e.note.strip_prefix("unusable: "))
    };
    KvmStatus {
        usable: e.usable,
        note: format!(
            "{word} (cached verdict of a probe at {} this boot: {}; `isobench doctor` re-probes)",
            e.probed_at,
            original.unwrap_or(&e.note)
        ),
    }
}

/// A probe boot's verdict, and whether it says something about the host (worth caching)
/// rather than about this attempt (QEMU could not be spawned, Ctrl-C, a read error).
struct Probed {
    status: KvmStatus,
    conclusive: bool,
}

impl Probed {
    /// What the cache keeps of this verdict, under `key`.
    fn entry(&self, key: Key) -> Entry {
        Entry::new(key, self.status.usable, self.status.note.clone())
    }
}

/// The probe boot itself: KVM, the probe in `ready` mode, bounded by `limit` and
/// [`SILENCE_LIMIT`].
fn probe_boot(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> Probed {
    let cfg = BootConfig {
        accel: Accel::Kvm,
        memory_mib: GUEST_MEMORY_MIB,
        probe_args: vec!["ready".into()],
        ..template.clone()
    };
    let t0 = Instant::now();
    let mut boot = match Boot::start(&cfg, cleanup, t0) {
        Ok(b) => b,
        Err(e) => {
            return Probed {
                status: KvmStatus {
                    usable: false,
                    note: format!("unusable: {e}; using TCG"),
                },
                conclusive: false,
            }
        }
    };
    let result = boot.wait_marker_or_silence(Marker::Ready, t0 + limit, SILENCE_LIMIT);
    // Whatever state it is in: gone before the run goes on.
    boot.kill();
    let machine = &cfg.machine;
    match result {
        Ok(t) => Probed {
            status: KvmStatus {
                usable: true,
                note: format!(
                    "usable: a probe boot under KVM ({machine}) reached /init's ready marker in {} ms",
                    t.duration_since(t0).as_millis()
                ),
            },
            conclusive: true,
        },
        Err(e) => {
            // A hang, or QEMU refusing KVM, is about the host. So is running out of the
            // full cap; a shorter `limit` (a small `vm_boot`) may only have been too short.
            let conclusive = match e {
                BootError::Silent { .. } | BootError::Exited { .. } => true,
                BootError::Timeout { .. } => limit >= PROBE_LIMIT,
                _ => false,
            };
            let hung = if matches!(e, BootError::Silent { .. }) {
                "; guest hung under KVM"
            } else {
                ""
            };
            Probed {
                status: KvmStatus {
                    usable: false,
                    note: format!(
                        "unusable: a probe boot under KVM ({machine}) did not reach /init's ready marker: \
                         {e}{hung}; using TCG (nested virtualization without VMX/SVM hangs like this)"
                    ),
                },
                conclusive,
            }
        }
    }
}

/// `/dev/kvm` can be opened read-write (exists, permissions, module loaded); if not, the
/// verdict that says why.
fn device_opens(p: &Path) -> Result<(), KvmStatus> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .map(drop)
        .map_err(|e| KvmStatus {
            usable: false,
            note: format!("unusable: cannot open {}: {e}; using TCG", p.display()),
        })
}

//! Is KVM usable here? Decided by booting the probe once under KVM, with a bound.
//!
//! `/dev/kvm` existing proves little: in a nested guest without VMX/SVM passed through
//! (this project's CI, a Firecracker microVM) opening it works, QEMU starts, the firmware
//! even prints, and then the guest hangs forever. So the only trustworthy test is a real
//! boot to the probe's ready marker, bounded by [`PROBE_LIMIT`] (or `vm_boot` if smaller).
//! It runs at most once per isobench process (cached in a `OnceLock`), so a host where
//! KVM hangs costs one bounded boot per run; every VM of the run then uses TCG.
//! `ISOBENCH_ACCEL=tcg` skips the probe (TCG), `ISOBENCH_ACCEL=kvm` trusts KVM without it.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::boot::{Accel, Boot, BootConfig, Marker, GUEST_MEMORY_MIB};
use crate::cleanup::Cleanup;

/// Upper bound of the probe boot. A KVM boot of the probe takes well under a second; TCG
/// takes 2-5 s, so 20 s leaves room for a loaded host without waiting forever.
pub const PROBE_LIMIT: Duration = Duration::from_secs(20);

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

/// The verdict, probing with one bounded boot of `template` (its accel is replaced) the
/// first time.
pub fn status(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> &'static KvmStatus {
    STATUS.get_or_init(|| probe(template, cleanup, limit.min(PROBE_LIMIT)))
}

/// One uncached probe boot bounded by `limit` (tests; runs use [`status`]).
pub fn probe(template: &BootConfig, cleanup: &Cleanup, limit: Duration) -> KvmStatus {
    match std::env::var("ISOBENCH_ACCEL").as_deref() {
        Ok("tcg") => {
            return KvmStatus {
                usable: false,
                note: "not probed: ISOBENCH_ACCEL=tcg forces TCG".into(),
            }
        }
        Ok("kvm") => {
            return KvmStatus {
                usable: true,
                note: "not probed: ISOBENCH_ACCEL=kvm forces KVM".into(),
            }
        }
        _ => {}
    }
    if let Err(why) = device_opens(Path::new("/dev/kvm")) {
        return KvmStatus {
            usable: false,
            note: format!("unusable: {why}; using TCG"),
        };
    }
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
            return KvmStatus {
                usable: false,
                note: format!("unusable: {e}; using TCG"),
            }
        }
    };
    let result = boot.wait_marker(Marker::Ready, t0 + limit);
    let ok = result.is_ok();
    let note = match result {
        Ok(t) => format!(
            "usable: a probe boot under KVM ({}) reached /init's ready marker in {} ms",
            cfg.machine,
            t.duration_since(t0).as_millis()
        ),
        Err(e) => format!(
            "unusable: a probe boot under KVM ({}) did not reach /init's ready marker: {e}; using TCG \
             (nested virtualization without VMX/SVM hangs like this)",
            cfg.machine
        ),
    };
    // Whatever state it is in: gone before the run goes on.
    boot.kill();
    KvmStatus { usable: ok, note }
}

/// `/dev/kvm` can be opened read-write (exists, permissions, module loaded).
fn device_opens(p: &Path) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .map(drop)
        .map_err(|e| format!("cannot open {}: {e}", p.display()))
}

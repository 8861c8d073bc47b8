//! The memory cap of density levels: a level whose estimate exceeds half of the host's
//! MemAvailable is refused (`--force` runs it anyway), so a density run never pushes the
//! host into reclaim or the OOM killer, which would measure the kernel's reclaim instead
//! of the instances.
//!
//! The estimate of a level of N is N times the memory of one instance: before level 1 of
//! a VM subject has run, guest RAM plus [`QEMU_OVERHEAD_MIB`] (an upper bound: a guest
//! that touches all its RAM); once level 1 ran, the larger of its MemAvailable and PSS
//! figures per instance.

/// QEMU's own memory beside the guest's RAM under TCG: the translation-block cache,
/// device models, its heap (measured here: QEMU of a 128 MiB guest idle at ready had
/// 194–206 MiB PSS, i.e. ~70–80 MiB beyond the guest's RAM; 96 leaves some margin).
pub const QEMU_OVERHEAD_MIB: u64 = 96;

/// What a level would take and what it may take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "density level {level} of {subject}: the estimate is {} MiB ({} MiB per instance, {basis}), \
     over the limit of {} MiB (half of MemAvailable, {} MiB); use smaller --levels, a smaller \
     --guest-mib, or --force to run it anyway",
    mib(.level * .per_instance), mib(*.per_instance), mib(*.limit), mib(.limit * 2)
)]
pub struct OverBudget {
    pub subject: String,
    pub level: u64,
    /// Bytes per instance.
    pub per_instance: u64,
    /// Where `per_instance` comes from ("guest RAM + QEMU overhead", "measured at level 1").
    pub basis: &'static str,
    /// Bytes a level may take.
    pub limit: u64,
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

/// The limit for a host with `mem_available` bytes available.
pub fn limit(mem_available: u64) -> u64 {
    mem_available / 2
}

/// Per-instance estimate of a VM before any level ran (bytes).
pub fn vm_estimate(guest_mib: u64) -> u64 {
    (guest_mib + QEMU_OVERHEAD_MIB) << 20
}

/// Check `level` against the limit.
pub fn check(
    subject: &str,
    level: u64,
    per_instance: u64,
    basis: &'static str,
    mem_available: u64,
) -> Result<(), OverBudget> {
    let limit = limit(mem_available);
    if level.saturating_mul(per_instance) > limit {
        return Err(OverBudget {
            subject: subject.to_string(),
            level,
            per_instance,
            basis,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_over_half_of_mem_available_is_refused_with_the_figures() {
        let avail = 24u64 << 30;
        let per = vm_estimate(128);
        assert_eq!(
            check("qemu", 32, per, "guest RAM + QEMU overhead", avail),
            Ok(())
        );
        let e = check("qemu", 64, per, "guest RAM + QEMU overhead", avail).expect_err("64 VMs");
        assert_eq!(
            e.to_string(),
            "density level 64 of qemu: the estimate is 14336 MiB (224 MiB per instance, guest RAM \
             + QEMU overhead), over the limit of 12288 MiB (half of MemAvailable, 24576 MiB); use \
             smaller --levels, a smaller --guest-mib, or --force to run it anyway"
        );
        assert!(check("runc", u64::MAX, u64::MAX, "measured at level 1", avail).is_err());
    }
}

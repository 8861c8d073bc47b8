//! CPU affinity of the calling thread (sched_getaffinity/sched_setaffinity with tid 0).
//!
//! Threads and children created by a pinned thread inherit its mask, which is what the
//! clone scenario relies on: the creator and every child it clones share one CPU.

use std::io;

/// The CPUs the calling thread may run on, ascending.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = get()?;
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: `set` is an initialised cpu_set_t and `cpu` < CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// The CPU `isobench run --pin auto` picks: the last one the calling thread may use (CPU 0
/// usually takes the device interrupts). `None` only for an empty mask.
pub fn default_cpu() -> io::Result<Option<usize>> {
    Ok(allowed_cpus()?.last().copied())
}

fn get() -> io::Result<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; the size is that of `set`, which the kernel
    // fills.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    super::check(rc.into())?;
    Ok(set)
}

fn set(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the given size.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) };
    super::check(rc.into()).map(drop)
}

/// The calling thread pinned to one CPU until this is dropped, when its previous mask
/// comes back. Not `Send`: affinity belongs to the thread that set it.
#[derive(Debug)]
pub struct Pinned {
    previous: libc::cpu_set_t,
    pub cpu: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // Restoring a mask the kernel gave us cannot fail short of the CPU going offline,
        // and then the scheduler has already widened the mask itself.
        let _ = set(&self.previous);
    }
}

/// Pin the calling thread to `cpu` (it must be in [`allowed_cpus`]).
pub fn pin_current_thread(cpu: usize) -> io::Result<Pinned> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let previous = get()?;
    // SAFETY: as in `get`.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` < CPU_SETSIZE, checked above.
    unsafe { libc::CPU_SET(cpu, &mut one) };
    set(&one)?;
    Ok(Pinned {
        previous,
        cpu,
        _not_send: std::marker::PhantomData,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_restores_the_mask() {
        // A fresh thread, so the test harness's own thread keeps its mask whatever happens.
        std::thread::spawn(|| {
            let before = allowed_cpus().expect("affinity");
            assert!(!before.is_empty());
            let cpu = *before.last().expect("one CPU at least");
            {
                let p = pin_current_thread(cpu).expect("pin");
                assert_eq!(p.cpu, cpu);
                assert_eq!(allowed_cpus().expect("affinity"), vec![cpu]);
                // A thread spawned by a pinned thread inherits the pin.
                let inherited = std::thread::spawn(|| allowed_cpus().expect("affinity"))
                    .join()
                    .expect("thread");
                assert_eq!(inherited, vec![cpu]);
            }
            assert_eq!(allowed_cpus().expect("affinity"), before);
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn refuses_a_cpu_outside_the_set() {
        let err = pin_current_thread(libc::CPU_SETSIZE as usize).expect_err("out of range");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}

//! Cleanup registrations made ahead of the launch that uses them.
//!
//! Every container a subject creates is journalled (`Cleanup::register`) before it
//! exists: a mutex, a JSON line and a write(2) to the journal file. Small next to a
//! runtime's milliseconds, but the harness's own bookkeeping has no place between `t0`
//! and `ready`. (It was a millisecond or more while every line was fdatasync'ed; the
//! journal no longer syncs, see `cleanup::write_line`, so this pool is now a matter of
//! keeping the timed window clean rather than a large saving.) So the names of the next
//! launches are reserved (registered) beforehand: a few in `prepare`, then one more in
//! every `teardown`, outside the `ready`/`total` window (it counts in the harness's
//! `teardown` metric instead).
//!
//! A reservation never used is forgotten (journalled as removed) when the pool is
//! dropped: nothing was created under its name.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::cleanup::{Cleanup, CleanupError, Guard, Resource};

/// How many names are kept reserved.
const AHEAD: usize = 2;

/// The resources a launch named `id` will create, in creation order.
pub type Plan = Box<dyn Fn(&str) -> Vec<Resource>>;

/// A reserved launch name with its registrations (guards in `Plan` order).
pub struct Slot {
    pub id: String,
    pub guards: Vec<Guard>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slot({})", self.id)
    }
}

struct Inner {
    cleanup: Cleanup,
    prefix: String,
    plan: Plan,
    next: u64,
    free: VecDeque<Slot>,
}

/// A shared pool of reserved launch names (`Rc`: subjects and their instances live on
/// the scenario's thread).
#[derive(Clone)]
pub struct Slots(Rc<RefCell<Inner>>);

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slots({})", self.0.borrow().prefix)
    }
}

impl Slots {
    /// A pool naming launches `<prefix>-<n>`, with `AHEAD` names reserved at once.
    pub fn new(cleanup: Cleanup, prefix: String, plan: Plan) -> Result<Slots, CleanupError> {
        let s = Slots(Rc::new(RefCell::new(Inner {
            cleanup,
            prefix,
            plan,
            next: 0,
            free: VecDeque::new(),
        })));
        s.refill()?;
        Ok(s)
    }

    /// The next reserved name (reserving one now if none is left).
    pub fn take(&self) -> Result<Slot, CleanupError> {
        let mut inner = self.0.borrow_mut();
        match inner.free.pop_front() {
            Some(s) => Ok(s),
            None => inner.reserve(),
        }
    }

    /// Reserve names until `AHEAD` are free (call outside timed regions).
    pub fn refill(&self) -> Result<(), CleanupError> {
        let mut inner = self.0.borrow_mut();
        while inner.free.len() < AHEAD {
            let s = inner.reserve()?;
            inner.free.push_back(s);
        }
        Ok(())
    }
}

impl Inner {
    fn reserve(&mut self) -> Result<Slot, CleanupError> {
        self.next += 1;
        let id = format!("{}-{}", self.prefix, self.next);
        let guards = (self.plan)(&id)
            .into_iter()
            .map(|r| self.cleanup.register(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Slot { id, guards })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for slot in self.free.drain(..) {
            for g in slot.guards {
                g.forget();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_ahead_and_forgets_unused() {
        let c = Cleanup::in_memory();
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().to_path_buf();
        let slots = Slots::new(
            c.clone(),
            "t".into(),
            Box::new(move |id| {
                vec![Resource::Dir {
                    path: base.join(id),
                }]
            }),
        )
        .expect("slots");
        assert_eq!(c.live().len(), AHEAD);
        let s = slots.take().expect("take");
        assert_eq!(s.id, "t-1");
        std::fs::create_dir(tmp.path().join(&s.id)).expect("mkdir");
        slots.refill().expect("refill");
        assert_eq!(c.live().len(), AHEAD + 1);
        drop(s); // the used slot's guard removes its directory
        assert!(!tmp.path().join("t-1").exists());
        drop(slots); // unused reservations are forgotten, nothing to remove
        assert!(c.live().is_empty());
    }
}

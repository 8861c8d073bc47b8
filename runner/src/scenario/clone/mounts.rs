//! Section 3 of the `clone` scenario: CLONE_NEWNS while the creating thread's mount
//! namespace holds N extra tmpfs mounts (label `mounts`), levels interleaved.

use std::collections::BTreeMap;

use super::SUBJECT;
use crate::measure::clone_timer::{CloneTiming, Creator};
use crate::measure::Collector;
use crate::scenario::Ctx;
use crate::sys;

/// A thread with its own mount namespace holding `extra` tmpfs mounts, serving clone
/// requests from the main thread so levels can be interleaved.
pub(super) fn mount_sweep(
    ctx: &Ctx<'_>,
    levels: &[usize],
    iters: usize,
    col: &mut Collector,
) -> Result<Option<&'static str>, String> {
    use std::sync::mpsc;
    type Reply = std::io::Result<CloneTiming>;
    let base = ctx.env.subdir("mounts").map_err(|e| e.to_string())?;
    let flags = libc::CLONE_NEWNS as u64;
    std::thread::scope(|s| -> Result<Option<&'static str>, String> {
        let mut workers: Vec<(usize, mpsc::Sender<()>, mpsc::Receiver<Reply>)> = Vec::new();
        for &extra in levels {
            let (req_tx, req_rx) = mpsc::channel::<()>();
            let (rep_tx, rep_rx) = mpsc::channel::<Reply>();
            let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
            let dir = base.join(format!("m{extra}"));
            s.spawn(move || {
                let setup = (|| -> Result<Creator, String> {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
                    sys::fs::unshare(libc::CLONE_NEWNS)
                        .map_err(|e| format!("unshare(CLONE_NEWNS) in a thread: {e}"))?;
                    sys::fs::make_rprivate_root().map_err(|e| format!("make / rprivate: {e}"))?;
                    sys::fs::mount("isobench", &dir, "tmpfs", 0, "size=1m")
                        .map_err(|e| format!("mount tmpfs on {}: {e}", dir.display()))?;
                    for i in 0..extra {
                        let d = dir.join(i.to_string());
                        std::fs::create_dir(&d)
                            .map_err(|e| format!("mkdir {}: {e}", d.display()))?;
                        sys::fs::mount("isobench", &d, "tmpfs", 0, "size=4k")
                            .map_err(|e| format!("mount {}: {e}", d.display()))?;
                    }
                    Creator::new().map_err(|e| e.to_string())
                })();
                let mut creator = match setup {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while req_rx.recv().is_ok() {
                    if rep_tx.send(creator.once(flags)).is_err() {
                        break;
                    }
                }
                // Thread ends: its mount namespace (and every mount in it) is released.
            });
            match ready_rx.recv() {
                Ok(Ok(())) => workers.push((extra, req_tx, rep_rx)),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("mount worker thread died".into()),
            }
        }
        for round in 0..ctx.plan.warmup + iters {
            let warm = round < ctx.plan.warmup;
            for i in ctx.plan.round_order(workers.len(), round) {
                if let Some(sig) = sys::signals::interrupted() {
                    return Ok(Some(sys::signals::name(sig)));
                }
                let (extra, tx, rx) = &workers[i];
                tx.send(()).map_err(|_| "mount worker gone".to_string())?;
                let t = rx
                    .recv()
                    .map_err(|_| "mount worker gone".to_string())?
                    .map_err(|e| format!("clone3(mnt) with {extra} mounts: {e}"))?;
                if !warm {
                    let mut labels = BTreeMap::new();
                    labels.insert("mounts".to_string(), extra.to_string());
                    col.add_value(
                        SUBJECT,
                        "mnt",
                        "ready",
                        &labels,
                        "ns",
                        t.ready.as_nanos() as f64,
                    );
                    col.add_value(
                        SUBJECT,
                        "mnt",
                        "total",
                        &labels,
                        "ns",
                        t.total.as_nanos() as f64,
                    );
                }
                ctx.progress.inc(1);
            }
        }
        Ok(None)
    })
}

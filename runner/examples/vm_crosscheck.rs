//! Cross-check of the `qemu` subject's timing against an independent timer.
//!
//! Alternates, boot by boot, (a) a boot measured by isobench (`VmInstance`, the same code
//! the `startup` scenario uses: `ready` and `poweroff`) and (b) the very same QEMU command
//! line timed by bash's `$EPOCHREALTIME` around the process (boot to power-off to exit).
//! Strict alternation keeps a drifting host load from favouring either side. Prints the
//! medians and `external − poweroff` against `ready`, which should agree.
//!
//! `cargo run -p isobench --example vm_crosscheck -- [PAIRS]` (default 10 per machine).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use isobench::cleanup::Cleanup;
use isobench::subject::qemu::VmInstance;
use isobench::subject::Instance;
use isobench::vm::cmdline::Accel;
use isobench::workdir::Env;
use isobench_reports::stats::median;

fn main() -> anyhow::Result<()> {
    let pairs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("PAIRS must be a whole number")?
        .unwrap_or(10);
    let cleanup = Cleanup::in_memory();
    let env = Env::new(cleanup.clone(), None)?;
    let info = isobench::vm::qemu_info().context("qemu-system-x86_64 is not installed")?;
    let kernel = isobench::vm::kernel::find()?;
    let (initrd, _guard) = isobench::vm::write_initramfs(&env, "crosscheck.initramfs")?;
    for machine in &info.machines {
        let cfg = isobench::vm::boot_config(info, &kernel.path, &initrd, machine, Accel::Tcg);
        println!("{machine}: {}", cfg.describe());
        let (mut ready, mut poweroff, mut external) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..pairs {
            // (a) isobench.
            let mut vm = VmInstance::start(&cfg, &env)?;
            let t0 = vm.boot().t0;
            let r = vm.wait_ready(Instant::now() + Duration::from_secs(60))?;
            vm.wait_exit(Instant::now() + Duration::from_secs(60))?;
            let phases = vm.phases();
            let po = phases
                .iter()
                .find(|(n, _)| n == "poweroff")
                .map(|(_, d)| *d)
                .context("no poweroff phase")?;
            ready.push((r - t0).as_secs_f64());
            poweroff.push(po.as_secs_f64());
            // (b) the same command line, timed by bash.
            let cmd = cfg.command();
            let out = Command::new("bash")
                .arg("-c")
                .arg(r#"s=$EPOCHREALTIME; "$@" </dev/null >/dev/null 2>&1; e=$EPOCHREALTIME; echo "$s $e""#)
                .arg("timed")
                .arg(cmd.get_program())
                .args(cmd.get_args())
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() != 2 {
                bail!("bash timing printed {text:?}");
            }
            external.push(v[1] - v[0]);
        }
        let (r, p, e) = (median(&ready), median(&poweroff), median(&external));
        println!(
            "{machine}: n={pairs} isobench ready p50 {r:.3} s, poweroff p50 {:.1} ms; bash-timed boot-to-exit p50 {e:.3} s; minus poweroff {:.3} s; difference {:+.1}%",
            p * 1e3,
            e - p,
            100.0 * ((e - p) / r - 1.0)
        );
    }
    drop(env);
    cleanup.release_all();
    Ok(())
}

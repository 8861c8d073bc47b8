//! The QEMU command line of one boot: direct kernel boot (`-kernel`, `-initrd`,
//! `-append`), no default devices (`-nodefaults -no-user-config -display none`), the
//! guest's first serial port on QEMU's stdout (`-serial stdio`), and
//! `-device isa-debug-exit` so the probe's power-off ends QEMU at once with its status.

use std::path::PathBuf;
use std::process::Command;

/// Guest memory every VM gets (MiB).
pub const GUEST_MEMORY_MIB: u64 = 256;

/// Accelerator QEMU runs the guest with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM: the guest runs on the CPU, needs /dev/kvm with working VMX/SVM.
    Kvm,
    /// TCG: QEMU's dynamic binary translator, works everywhere, far slower.
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// Everything one boot needs.
#[derive(Debug, Clone)]
pub struct BootConfig {
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
    /// `pc`, `q35`, `microvm`.
    pub machine: String,
    pub accel: Accel,
    pub memory_mib: u64,
    /// Whether this QEMU has the `isa-debug-exit` device.
    pub debug_exit: bool,
    /// The probe's arguments (mode and options); `--vm` is appended.
    pub probe_args: Vec<String>,
    /// The TSC frequency to tell the kernel (`tsc_early_khz=`) on `microvm` under TCG.
    /// microvm has neither HPET nor an ACPI PM timer, so when the PIT calibration fails
    /// (it does on a loaded host: the TCG vCPU is descheduled mid-loop) the kernel has no
    /// reference left and hangs. TCG's guest TSC runs at the host's TSC rate.
    pub tsc_khz: Option<u64>,
    /// A raw disk image attached as the guest's virtio-blk disk (`/dev/vda`; see
    /// `vm::disk` for why `cache=none`): virtio-blk-pci on `pc`, virtio-blk-device on
    /// `microvm` (virtio-mmio).
    pub disk: Option<PathBuf>,
}

impl BootConfig {
    /// The kernel command line. `earlyprintk` makes `Linux version` appear when the kernel
    /// starts rather than when the real console registers; `loglevel=6` prints messages
    /// up to KERN_NOTICE only, so the console does not slow the boot down with hundreds of
    /// lines; `panic=-1` with QEMU's `-no-reboot` turns a guest panic into a QEMU exit.
    /// Words after `--` are /init's arguments.
    pub fn cmdline(&self) -> String {
        let mut s = String::from(
            "console=ttyS0 earlyprintk=serial,ttyS0,115200 loglevel=6 panic=-1 rdinit=/init",
        );
        if let (Some(khz), "microvm", Accel::Tcg) =
            (self.tsc_khz, self.machine.as_str(), self.accel)
        {
            s.push_str(&format!(" tsc_early_khz={khz}"));
        }
        s.push_str(" --");
        for a in &self.probe_args {
            s.push(' ');
            s.push_str(a);
        }
        s.push_str(" --vm");
        s
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.qemu);
        c.arg("-machine")
            .arg(format!("{},accel={}", self.machine, self.accel.name()))
            .args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-m", &self.memory_mib.to_string(), "-smp", "1"])
            .arg("-no-reboot")
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&self.initramfs)
            .arg("-append")
            .arg(self.cmdline())
            .args(["-serial", "stdio"]);
        if self.accel == Accel::Kvm {
            c.args(["-cpu", "host"]);
        }
        if self.debug_exit {
            c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        }
        if let Some(disk) = &self.disk {
            // QEMU's -drive takes a comma-separated list: a ',' in the path is doubled.
            let file = disk.to_string_lossy().replace(',', ",,");
            c.arg("-drive").arg(format!(
                "file={file},if=none,format=raw,id=wl,cache=none,aio=threads"
            ));
            let device = if self.machine == "microvm" {
                "virtio-blk-device,drive=wl"
            } else {
                "virtio-blk-pci,drive=wl"
            };
            c.args(["-device", device]);
        }
        c
    }

    /// The command line as one string (for messages and for timing it by hand).
    pub fn describe(&self) -> String {
        let c = self.command();
        let mut s = c.get_program().to_string_lossy().into_owned();
        for a in c.get_args() {
            let a = a.to_string_lossy();
            s.push(' ');
            if a.contains(' ') {
                s.push('\'');
                s.push_str(&a);
                s.push('\'');
            } else {
                s.push_str(&a);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_carries_mode_and_microvm_tsc() {
        let mut c = BootConfig {
            qemu: "qemu-system-x86_64".into(),
            kernel: "/k".into(),
            initramfs: "/i".into(),
            machine: "pc".into(),
            accel: Accel::Tcg,
            memory_mib: 256,
            debug_exit: true,
            probe_args: vec!["work".into(), "--window-ms".into(), "5".into()],
            tsc_khz: Some(2_000_000),
            disk: None,
        };
        let line = c.cmdline();
        assert!(line.ends_with(" -- work --window-ms 5 --vm"), "{line}");
        assert!(line.contains("console=ttyS0") && !line.contains("tsc_early_khz"));
        c.machine = "microvm".into();
        assert!(c.cmdline().contains("tsc_early_khz=2000000 --"));
        let d = c.describe();
        assert!(
            d.contains("microvm,accel=tcg") && d.contains("isa-debug-exit"),
            "{d}"
        );
        assert!(!d.contains("-drive"));
        c.disk = Some("/w/a,b.img".into());
        let d = c.describe();
        assert!(
            d.contains("-drive file=/w/a,,b.img,if=none,format=raw,id=wl,cache=none")
                && d.contains("-device virtio-blk-device,drive=wl"),
            "{d}"
        );
        c.machine = "pc".into();
        assert!(c.describe().contains("-device virtio-blk-pci,drive=wl"));
    }
}

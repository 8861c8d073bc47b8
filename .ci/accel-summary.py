#!/usr/bin/env python3
"""Markdown for the nightly job summary: which accelerator the VM figures of a run used.

Usage: python3 .ci/accel-summary.py RUN.json >> "$GITHUB_STEP_SUMMARY"

Reads the run file (schema isobench.run/v1, README "The run file"): the `accel` label
(kvm or tcg) of every measurement that has one, `host.kvm_usable`, and the host notes
`kvm_probe` and `guest_kernel`. GitHub-hosted runners often expose a working /dev/kvm;
this makes the first night whose VM figures come from KVM visible at a glance.
Exit 1 only when the file cannot be read as JSON.
"""

import collections
import json
import sys


def summary(run):
    measurements = run.get("measurements") or []
    host = run.get("host") or {}
    notes = host.get("notes") or {}
    accels = collections.Counter(
        (m.get("labels") or {}).get("accel")
        for m in measurements
        if (m.get("labels") or {}).get("accel") and m.get("status") == "ok"
    )
    lines = ["### Accelerator of the VM figures", ""]
    if not accels:
        reasons = sorted(
            {
                m.get("reason") or m.get("status", "")
                for m in measurements
                if m.get("subject") == "qemu"
            }
        )
        why = "; ".join(r for r in reasons if r) or "the qemu subject did not run"
        lines.append(f"No VM figures in this run ({why}).")
    else:
        parts = []
        for accel, n in sorted(accels.items()):
            what = {
                "kvm": "KVM, hardware virtualisation",
                "tcg": "TCG, software emulation: several times slower than KVM",
            }.get(accel, "unknown accelerator")
            parts.append(f"**{accel}** ({what}): {n} measurements")
        lines.append("VM figures used " + "; ".join(parts) + ".")
    lines.append("")
    lines.append(f"- `host.kvm_usable`: {str(host.get('kvm_usable')).lower()}")
    for key in ("kvm_probe", "guest_kernel"):
        if key in notes:
            lines.append(f"- `{key}`: {notes[key]}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        print(f"accel-summary: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(summary(run))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

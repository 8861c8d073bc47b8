#!/usr/bin/env bash
# Do `cargo bench` and `isobench run --scenario clone` agree on the per-namespace figures?
#
# Alternates, REPEATS times (default 3), `isobench run --scenario clone` (sweeps trimmed
# to one point: they are not compared) and the `clone` and `unshare_setns` criterion
# benches saved under a baseline per repeat, then prints bench median / run p50 per
# figure, per repeat and pooled over the repeats (bench/examples/agree.rs). Exit 1 when a
# pooled clone() ratio leaves 1 ± TOLERANCE (0.15). Needs root (namespaces). About
# 2.5 minutes per repeat on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
TOLERANCE=${TOLERANCE:-0.15}
if [ "$(id -u)" != 0 ]; then
    echo "agree.sh: needs root (it creates namespaces of every kind); run it with sudo" >&2
    exit 2
fi
out=$(mktemp -d /tmp/isobench-agree.XXXXXX)
trap 'rm -rf "$out"' EXIT
cargo build --release -q -p isobench
cargo bench -q -p isobench-bench --bench clone --bench unshare_setns --no-run
cargo build --release -q -p isobench-bench --example agree
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
runs=() baselines=()
for i in $(seq 1 "$REPEATS"); do
    echo "== repeat $i/$REPEATS: isobench run --scenario clone, then cargo bench (clone, unshare_setns)"
    "$target_dir/release/isobench" run --scenario clone --concurrency 1 --mounts 0 \
        --no-progress --json "$out/run-$i.json" >/dev/null
    cargo bench -q -p isobench-bench --bench clone --bench unshare_setns -- \
        --noplot --save-baseline "agree-$i" >/dev/null 2>&1
    runs+=("$out/run-$i.json") baselines+=("agree-$i")
done
join() { local IFS=,; echo "$*"; }
"$target_dir/release/examples/agree" "$(join "${runs[@]}")" "$target_dir/criterion" \
    "$(join "${baselines[@]}")" "$TOLERANCE"

//! Builds `fixtures/probe` as a static binary and embeds it in isobench.
//!
//! The probe must run unchanged as a process, in a container rootfs that holds nothing
//! else, and as a VM's `/init`, so it is linked with `crt-static` (glibc's static libc).
//! A nested `cargo build` with its own target directory does that without imposing
//! `crt-static` on the rest of the workspace; the runner writes the embedded bytes to
//! its work directory at run time (`runner/src/probe.rs`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// SQLite compile options for the probe (libsqlite3-sys reads `LIBSQLITE3_FLAGS`; `-U`
/// undoes one of its defaults).
const PROBE_SQLITE_FLAGS: &str = "-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS \
-USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_STAT4 \
-USQLITE_SOUNDEX -USQLITE_ENABLE_COLUMN_METADATA -USQLITE_ENABLE_LOAD_EXTENSION \
-DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON -DSQLITE_OMIT_DEPRECATED \
-DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let probe_dir = manifest_dir.join("../fixtures/probe");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").expect("TARGET");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("cargo:rerun-if-changed={}", probe_dir.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        probe_dir.join("Cargo.toml").display()
    );

    let target_dir = out_dir.join("probe-target");
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--release",
        "--offline",
        "-p",
        "isobench-probe",
        "--target",
        &target,
    ])
    .arg("--manifest-path")
    .arg(probe_dir.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir)
    // Only the probe is static; the outer build's flags must not leak in.
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET_DIR")
    .env_remove("RUSTC_WORKSPACE_WRAPPER")
    .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static")
    // The probe's sqlite workload needs plain SQLite: leave out what libsqlite3-sys's
    // bundled build adds (full-text search, R-tree, JSON, stat4, extension loading, whose
    // dlopen would not work in a static binary anyway). 0.7 MiB less probe to exec.
    .env("LIBSQLITE3_FLAGS", PROBE_SQLITE_FLAGS);
    let status = cmd.status().expect("run cargo to build the static probe");
    if !status.success() {
        panic!(
            "building the static probe failed ({status}). It links glibc statically: install \
             libc6-dev (Debian/Ubuntu) or glibc-static (Fedora)."
        );
    }
    let built = target_dir
        .join(&target)
        .join("release")
        .join("isobench-probe");
    let dest = out_dir.join("isobench-probe");
    std::fs::copy(&built, &dest)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", built.display(), dest.display()));
    println!("cargo:rustc-env=ISOBENCH_PROBE_PATH={}", dest.display());
}

//! cgroups, modelled on youki's libcgroups: detecting the host's layout (v1, v2, hybrid)
//! by statfs magic (`detect`), then creating, limiting, attaching, reading and removing
//! cgroups through one [`CgroupManager`] trait with a v1 and a v2 implementation that
//! mirror each other (`v1/`, `v2/`: a manager plus one file per controller whose files
//! differ; `pids`, identical in both, is one module).
//!
//! Controller functions take the cgroup directory as a parameter, so their unit tests run
//! on a temp-dir fake cgroupfs; IO errors always carry the path ([`WrappedIoError`]).

pub mod common;
pub mod cpu_reader;
pub mod detect;
pub mod manager;
pub mod mounts;
pub mod pids;
pub mod v1;
pub mod v2;

pub use common::{CgroupError, CpuStats, Limits, MemoryStats, Stats, WrappedIoError};
pub use cpu_reader::CpuReader;
pub use detect::{detect, Layout};
pub use manager::{AnyManager, CgroupManager};

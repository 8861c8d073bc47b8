//! isobench's runner: everything that touches the OS — subjects, scenarios, measuring,
//! cgroups, cleanup — plus the `isobench` command line (`cli`).
//!
//! The path of one measurement: `run` plans scenarios → a `scenario` launches the probe in
//! each `subject` → `measure` reads the host clock at marker arrival → samples are
//! collected into `isobench_reports::Measurement`s → the run file is rewritten atomically
//! after each scenario.

pub mod atomic_write;
pub mod cgroup;
pub mod cleanup;
pub mod cli;
pub mod measure;
pub mod output;
pub mod probe;
pub mod run;
pub mod scenario;
pub mod subject;
pub mod subprocess;
pub mod sys;
pub mod trust;
pub mod vm;
pub mod workdir;

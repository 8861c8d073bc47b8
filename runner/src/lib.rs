//! isobench's runner: everything that touches the OS — subjects, scenarios, measuring,
//! cgroups, cleanup — plus the `isobench` command line (`cli`).
//!
//! The path of one measurement: `run` plans scenarios → a `scenario` launches the probe in
//! each `subject` → `measure` reads the host clock at marker arrival → samples are
//! collected into `isobench_reports::Measurement`s → the run file is rewritten atomically
//! after each scenario.

pub mod cgroup;
pub mod cleanup;
pub mod cli;
pub mod cmd_compare;
pub mod cmd_report;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod footprint;
pub mod hooks;
pub mod host;
pub mod measure;
pub mod ns;
pub mod output;
pub mod probe;
pub mod rootfs;
pub mod run;
pub mod scenario;
pub mod subject;
pub mod sys;
pub mod vm;

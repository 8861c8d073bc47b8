//! isobench-reports: everything that happens to measurements after they are taken.
//!
//! The results model (`model`), statistics (`stats`), and — in later modules — comparison,
//! history, HTML/Markdown reports, charts, exports and the terminal views (`text`). Pure: no
//! syscalls, no child processes, so a report or comparison can be made on a machine that
//! cannot run anything.

pub mod chart;
pub mod compare;
pub mod export;
pub mod family;
pub mod histogram;
pub mod history;
pub mod model;
pub mod report;
pub mod stats;
pub mod terminal;
pub mod text;
pub mod units;
pub mod validate;
pub mod workload;

pub use model::{Host, Measurement, Run, Status, Summary, Tool, RUN_SCHEMA};

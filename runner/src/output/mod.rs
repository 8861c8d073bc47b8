//! What the user sees and what is written: progress on stderr, the summary table, the
//! run file (atomically rewritten after each scenario).

pub mod progress;
pub mod runfile;
pub mod table;

//! What the user sees and what is written while a run goes: progress on stderr, the run
//! file (atomically rewritten after each scenario). The headline summary and the full table
//! printed after it are pure renderings: `isobench_reports::text`.

pub mod progress;
pub mod runfile;

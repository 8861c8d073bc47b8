//! What the user sees and what is written: progress on stderr, the headline summary and
//! the full table, the run file (atomically rewritten after each scenario).

pub mod progress;
pub mod runfile;
pub mod summary;
pub mod table;

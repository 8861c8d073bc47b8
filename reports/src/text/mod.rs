//! The terminal views of a run: the headline `summary` that `isobench run` prints at its
//! end and the full per-measurement `table` (`run --full-table`, `report RUN.json
//! --table`), and where the run's time went (`time_spent`). Plain text for a terminal or a CI log, pure functions of the measurements,
//! so they can be printed for any run file on any machine and tested without running
//! anything.

pub mod summary;
pub mod table;
pub mod time_spent;

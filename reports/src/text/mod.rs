//! The terminal views of a run: the headline `summary` that `isobench run` prints at its
//! end and the full per-measurement `table` (`run --full-table`, `report RUN.json
//! --table`). Plain text for a terminal or a CI log, pure functions of the measurements,
//! so they can be printed for any run file on any machine and tested without running
//! anything.

pub mod summary;
pub mod table;

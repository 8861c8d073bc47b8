//! The `pids` controller: `pids.max` and `pids.current`, the same names and formats in v1
//! (Documentation/admin-guide/cgroup-v1/pids.rst) and v2 (cgroup-v2.rst, "PID Interface
//! Files"), so both managers use this one module with their own directory.

use std::path::Path;

use crate::cgroup::common::{read_u64, write_file, CgroupError};

pub const MAX: &str = "pids.max";
pub const CURRENT: &str = "pids.current";

/// Limit the number of tasks (`None`: `max`).
pub fn set_max(path: &Path, max: Option<u64>) -> Result<(), CgroupError> {
    let v = max.map_or_else(|| "max".to_string(), |m| m.to_string());
    write_file(path, MAX, &v)?;
    Ok(())
}

pub fn current(path: &Path) -> Result<u64, CgroupError> {
    read_u64(path, CURRENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn max_and_current_on_a_fake_cgroupfs() {
        let d = tempfile::tempdir().expect("tempdir");
        set_max(d.path(), Some(8)).expect("set");
        assert_eq!(fs::read_to_string(d.path().join(MAX)).expect("r"), "8");
        set_max(d.path(), None).expect("set");
        assert_eq!(fs::read_to_string(d.path().join(MAX)).expect("r"), "max");
        fs::write(d.path().join(CURRENT), "1\n").expect("w");
        assert_eq!(current(d.path()).expect("cur"), 1);
    }
}

//! `isobench clean` for engines: containers and images labelled `isobench=1` that no
//! journal names (a run killed before it journalled them).

use std::process::Command;

use crate::cleanup::Resource;
use crate::sys;

/// The label on every image and container isobench creates.
use super::{LABEL, QUERY_TIMEOUT};

/// Remove containers and images labelled `isobench=1` of `engine` (when installed), except
/// those named after a run that is still alive (`isobench-<pid>-...`). For `isobench
/// clean`, which has no journal entry for a run killed before it journalled them.
pub fn clean_labelled(engine: &str) -> Vec<String> {
    let mut removed = Vec::new();
    {
        // Only root's runs create engine objects, and a client run by another user
        // leaves rootless state behind (see `Engine::new`).
        if !super::rootful() || crate::subprocess::which(engine).is_none() {
            return removed;
        }
        let list = |args: &[&str]| -> Vec<String> {
            crate::subprocess::run_ok(Command::new(engine).args(args), QUERY_TIMEOUT)
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let filter = format!("label={LABEL}");
        for name in list(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]) {
            if owned_by_live_run(&name) {
                continue;
            }
            let res = Resource::EngineContainer {
                engine: engine.into(),
                id: name,
            };
            match crate::cleanup::remove_resource(&res) {
                Ok(()) => removed.push(res.to_string()),
                Err(e) => removed.push(format!("FAILED: {e}")),
            }
        }
        for image in list(&[
            "images",
            "--filter",
            &filter,
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ]) {
            if owned_by_live_run(&image) {
                continue;
            }
            let res = Resource::EngineImage {
                engine: engine.into(),
                image,
            };
            match crate::cleanup::remove_resource(&res) {
                Ok(()) => removed.push(res.to_string()),
                Err(e) => removed.push(format!("FAILED: {e}")),
            }
        }
    }
    removed
}

/// Whether `name` embeds `isobench-<pid>-` of a process that is alive (this one too: a
/// test running beside `clean_labelled` in the same process).
fn owned_by_live_run(name: &str) -> bool {
    let Some(i) = name.rfind("isobench-") else {
        return false;
    };
    let pid = name[i + "isobench-".len()..]
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    pid.is_some_and(sys::process::alive)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_of_live_runs_are_spared() {
        let me = std::process::id();
        assert!(super::owned_by_live_run(&format!(
            "isobench-probe:isobench-{me}-abc"
        )));
        assert!(super::owned_by_live_run(&format!(
            "isobench-{me}-abc-docker-3"
        )));
        assert!(super::owned_by_live_run("isobench-probe:isobench-1-abc"));
        assert!(!super::owned_by_live_run(
            "isobench-probe:isobench-999999999-abc"
        ));
        assert!(!super::owned_by_live_run("something-else"));
    }
}

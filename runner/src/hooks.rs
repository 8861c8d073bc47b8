//! Extension points of a run that subjects and scenarios plug into (KVM probe, ...).

use isobench_reports::model::Host;

use crate::env::Env;
use crate::run::RunConfig;

/// Add what only a probe can tell to the host fingerprint (KVM usability is probed once
/// per run, by the VM subject, when it is selected).
pub fn host_probe(_host: &mut Host, _env: &Env, _cfg: &RunConfig) {}

/// After a run: write the HTML report beside the run JSON (reports), record history.
pub fn after_run(run: &isobench_reports::Run, _json: &std::path::Path) {
    crate::cmd_compare::record_history_after_run(run);
}

/// Extra leftovers `isobench clean` removes without a journal (labelled engine
/// containers and images). Returns what was removed.
pub fn clean_extra() -> Vec<String> {
    Vec::new()
}

/// Checks `doctor` adds from subjects with host-level needs (KVM, guest kernel, engines).
pub fn doctor_extra(_env: &Env) -> Vec<crate::doctor::Check> {
    Vec::new()
}

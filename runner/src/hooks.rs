//! Extension points of a run that subjects and scenarios plug into (KVM probe, ...).

use isobench_reports::model::Host;

use crate::workdir::Env;
use crate::run::RunConfig;

/// Add what only a probe can tell to the host fingerprint (KVM usability is probed at
/// most once per run, and once per host boot when the verdict can be cached, when the
/// VM subject is selected).
pub fn host_probe(host: &mut Host, env: &Env, cfg: &RunConfig) {
    use crate::scenario::ScenarioKind;
    let vm_scenario = cfg
        .scenarios
        .iter()
        .any(|s| matches!(s, ScenarioKind::Startup | ScenarioKind::Throttle));
    if cfg.subjects.contains(&crate::subject::SubjectKind::Qemu) && vm_scenario {
        crate::vm::host_probe(host, env);
    } else {
        host.notes.insert(
            "kvm_probe".into(),
            "not probed (no scenario of this run launches the qemu subject)".into(),
        );
    }
}

/// After a run: write the HTML report beside the run JSON (reports), record history.
pub fn after_run(
    run: &isobench_reports::Run,
    json: &std::path::Path,
    history: Option<&std::path::Path>,
) {
    crate::cli::report::after_run(run, json);
    crate::cli::compare::record_history_after_run(run, history);
}

/// Extra leftovers `isobench clean` removes without a journal (labelled engine
/// containers and images). Returns what was removed.
pub fn clean_extra() -> Vec<String> {
    crate::subject::engine::clean_labelled()
}

/// Checks `doctor` adds from subjects with host-level needs (KVM, guest kernel, engines).
pub fn doctor_extra(env: &Env) -> Vec<crate::run::doctor::Check> {
    crate::vm::doctor_checks(env)
}

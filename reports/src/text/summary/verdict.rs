//! The verdict, first lines of the terminal summary: containers vs VMs on this host for
//! startup, memory and performance, the same rows as the HTML report's first screen
//! (`report::headline::Verdict`), the TCG caveat said once below them.

use crate::model::Run;
use crate::report::headline::headline;
use crate::terminal::printable;

/// The verdict of `run` as text ending in a newline; one line when nothing in the run can
/// be compared.
pub(super) fn section(run: &Run) -> String {
    let verdict = headline(run).verdict;
    let title = "containers vs VMs on this host (best of each, ratio of medians, 95% CI)";
    if verdict.rows.iter().all(|r| !r.measured) {
        let why = verdict
            .rows
            .first()
            .map(|r| r.missing.trim_start_matches("not measured: ").to_string())
            .unwrap_or_default();
        return format!("containers vs VMs on this host: not measured ({why})\n");
    }
    // aspect, ratio, interval, pair (or why not): names left, the ratio right-aligned.
    let rows: Vec<[String; 4]> = verdict
        .rows
        .iter()
        .map(|r| {
            let cells = if r.measured {
                [
                    r.aspect.clone(),
                    r.ratio_text.clone(),
                    format!("({})", r.ci_text),
                    r.pair.clone(),
                ]
            } else {
                [
                    r.aspect.clone(),
                    "—".into(),
                    String::new(),
                    r.missing.clone(),
                ]
            };
            cells.map(|c| printable(&c).into_owned())
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = format!("{title}:\n");
    for [aspect, ratio, ci, pair] in &rows {
        let line = format!("  {aspect:<w0$}  {ratio:>w1$} {ci:<w2$}  {pair}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if verdict.emulation_caveat.is_some() {
        out.push_str(
            "  The VMs ran under QEMU TCG (software emulation, KVM unusable here): \
             these ratios overstate the gap to a KVM VM.\n",
        );
    }
    for r in verdict.rows.iter().filter(|r| !r.note.is_empty()) {
        out.push_str(&format!("  {}: {}\n", r.aspect, printable(&r.note)));
    }
    out
}

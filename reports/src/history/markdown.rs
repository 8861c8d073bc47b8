//! A nightly check as GitHub-flavoured Markdown (`history check --format markdown`), for
//! `$GITHUB_STEP_SUMMARY` or a PR comment: the tally, then a table of every checked
//! measurement. Text from the run (its path, measurement identities) is escaped so a `|`
//! or a tag in a name cannot break the table or inject HTML.

use std::path::Path;

use super::table::{band_text, MAX_NAME_CHARS};
use super::{CheckReport, CheckVerdict};
use crate::compare::human;
use crate::terminal::{printable, truncated};

/// Markdown of a history check of `run`.
pub fn check(rep: &CheckReport, run: &Path) -> String {
    let esc = |s: &str| {
        truncated(&printable(s), MAX_NAME_CHARS)
            .replace('|', "\\|")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = format!(
        "## isobench nightly check\n\n`{}` against the last {} runs: **{} regressed**, {} improved, {} within band, {} with insufficient history.\n\n",
        esc(&run.display().to_string()),
        rep.options.last,
        rep.count(CheckVerdict::Regressed),
        rep.count(CheckVerdict::Improved),
        rep.count(CheckVerdict::WithinBand),
        rep.count(CheckVerdict::InsufficientHistory)
    );
    out.push_str("| measurement | tonight | baseline | band | change | verdict |\n|---|---:|---:|---:|---:|---|\n");
    for r in &rep.rows {
        if r.verdict == CheckVerdict::NotChecked {
            continue;
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            esc(&r.identity),
            r.p50.map_or("-".into(), |v| human(v, &r.unit)),
            r.baseline_median.map_or("-".into(), |v| human(v, &r.unit)),
            band_text(r),
            r.change_pct.map_or("-".into(), crate::units::percent),
            if r.verdict == CheckVerdict::Regressed {
                "**regressed**".to_string()
            } else {
                r.verdict.as_str().to_string()
            }
        ));
    }
    out
}

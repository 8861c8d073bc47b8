//! The terminal rendering of a comparison: a preamble (runs, host differences, the
//! decision rule), one aligned row per measurement, and a tally per compared run.

use std::fmt::Write;

use super::format::{change, opt_value, p_value, ratio_ci, row_name, verdict_text};
use super::{Comparison, Correction};
use crate::terminal::{printable, truncated};

/// Widest measurement name the table prints; longer ones end in "…" (the JSON output
/// keeps them whole).
pub const MAX_NAME_CHARS: usize = 100;

/// Header and cells of the per-measurement grid, shared with the Markdown rendering.
pub(crate) fn grid(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let base = &c.runs[0].label;
    let mut header = vec!["measurement".to_string(), format!("{base} median")];
    for r in &c.runs[1..] {
        let l = &r.label;
        header.extend([
            format!("{l} median"),
            format!("{l} change"),
            format!("{l} 95% CI"),
            format!("{l} p(adj)"),
            format!("{l} verdict"),
        ]);
    }
    let rows = c
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                row_name(row),
                match row.base.median {
                    Some(m) if row.base.status == "ok" => opt_value(Some(m), &row.unit),
                    _ => row.base.status.clone(),
                },
            ];
            for d in &row.deltas {
                cells.extend([
                    match d.side.median {
                        Some(m) if d.side.status == "ok" => opt_value(Some(m), &row.unit),
                        _ => d.side.status.clone(),
                    },
                    change(d.change_pct),
                    ratio_ci(d.ratio_ci),
                    p_value(d.p_adjusted),
                    verdict_text(d),
                ]);
            }
            cells
        })
        .collect();
    (header, rows)
}

/// The decision rule in one sentence, for every rendering.
pub(crate) fn rule(c: &Comparison) -> String {
    let corr = match c.options.correction {
        Correction::Holm => "Holm-adjusted",
        Correction::Bh => "Benjamini-Hochberg-adjusted",
        Correction::None => "unadjusted",
    };
    format!(
        "A change counts when the {corr} p-value (Mann-Whitney U over {} time-block medians per run) is below {} \
         AND the whole {:.0} % block-bootstrap CI of the ratio of medians lies beyond ±{:.1} %. \
         ns/bytes: lower is better; ops/s: higher is better; ratios/shares: 'changed'.",
        c.options.blocks,
        c.options.alpha,
        c.options.level * 100.0,
        c.options.threshold * 100.0
    )
}

/// One line per compared run: "B vs A: 1 regressed, ...".
pub(crate) fn tallies(c: &Comparison) -> Vec<String> {
    c.runs[1..]
        .iter()
        .zip(&c.tallies)
        .map(|(r, t)| {
            format!(
                "{} vs {}: {} regressed, {} improved, {} changed, {} no change, {} not compared",
                r.label,
                c.runs[0].label,
                t.regressed,
                t.improved,
                t.changed,
                t.no_change,
                t.not_compared
            )
        })
        .collect()
}

/// Aligned text table. Text from the runs goes through `terminal::printable`.
pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    for (i, r) in c.runs.iter().enumerate() {
        let role = if i == 0 { "base" } else { "new " };
        let _ = writeln!(
            out,
            "{role} {}: {} (kernel {}, started {}{})",
            printable(&r.label),
            printable(&r.origin),
            printable(&r.kernel),
            printable(&r.started_at),
            if r.interrupted { ", INTERRUPTED" } else { "" }
        );
    }
    if let Some(note) = super::format::by_note(c) {
        let _ = writeln!(out, "{}", printable(&note));
    }
    if c.host_differences.is_empty() {
        let _ = writeln!(out, "host: no differences in the recorded fingerprint");
    } else {
        let _ = writeln!(out, "host differences:");
        for d in &c.host_differences {
            let _ = writeln!(
                out,
                "  {:<16} {}",
                printable(&d.field),
                printable(&d.values.join("  |  "))
            );
        }
    }
    for w in &c.warnings {
        let _ = writeln!(out, "warning: {}", printable(w));
    }
    let _ = writeln!(out, "{}\n", rule(c));
    let (header, rows) = grid(c);
    let cell = |(i, s): (usize, &String)| -> String {
        let s = printable(s);
        if i == 0 {
            truncated(&s, MAX_NAME_CHARS).into_owned()
        } else {
            s.into_owned()
        }
    };
    let header: Vec<String> = header.iter().enumerate().map(cell).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().enumerate().map(cell).collect())
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&width).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            // Text columns left-aligned, numbers right-aligned.
            if i == 0 || i + 1 == cells.len() || (i >= 2 && (i - 2) % 5 == 4) {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&header));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push('\n');
    for t in tallies(c) {
        let _ = writeln!(out, "{}", printable(&t));
    }
    out
}

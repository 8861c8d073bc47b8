//! The Markdown rendering of a comparison (a PR comment, `$GITHUB_STEP_SUMMARY`):
//! regressions first in a short list, then the full table.

use std::fmt::Write;

use super::format::{change, ratio_ci, row_name};
use super::table::{grid, rule, tallies};
use super::{Comparison, Verdict};

/// Escape what would break a table cell or start Markdown/HTML markup, and make control
/// and bidi characters visible (`terminal::printable`: the page may be read in a terminal).
fn cell(s: &str) -> String {
    let s = crate::terminal::printable(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## isobench comparison\n");
    for (i, r) in c.runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "- {} **{}**: `{}` (kernel {}, started {}){}",
            if i == 0 { "base" } else { "new" },
            cell(&r.label),
            cell(&r.origin),
            cell(&r.kernel),
            cell(&r.started_at),
            if r.interrupted {
                " — interrupted"
            } else {
                ""
            }
        );
    }
    if let Some(note) = super::format::by_note(c) {
        let _ = writeln!(out, "\n{}", cell(&note));
    }
    for t in tallies(c) {
        let _ = writeln!(out, "\n**{}**", cell(&t));
    }
    let flagged: Vec<String> = c
        .rows
        .iter()
        .flat_map(|row| {
            row.deltas
                .iter()
                .zip(&c.runs[1..])
                .filter(|(d, _)| d.verdict == Verdict::Regressed)
                .map(move |(d, r)| {
                    format!(
                        "- :red_circle: {} on {}: {} (CI {})",
                        cell(&row_name(row)),
                        cell(&r.label),
                        change(d.change_pct),
                        ratio_ci(d.ratio_ci)
                    )
                })
        })
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(out, "\n### Regressions\n");
        for f in flagged {
            let _ = writeln!(out, "{f}");
        }
    }
    if !c.host_differences.is_empty() {
        let _ = writeln!(out, "\n### Host differences\n");
        let mut header = vec!["field".to_string()];
        header.extend(c.runs.iter().map(|r| cell(&r.label)));
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for d in &c.host_differences {
            let vals: Vec<String> = d.values.iter().map(|v| cell(v)).collect();
            let _ = writeln!(out, "| {} | {} |", cell(&d.field), vals.join(" | "));
        }
    }
    for w in &c.warnings {
        let _ = writeln!(out, "\n> warning: {}", cell(w));
    }
    let _ = writeln!(out, "\n### All measurements\n\n{}\n", cell(&rule(c)));
    let (header, rows) = grid(c);
    let _ = writeln!(
        out,
        "| {} |",
        header
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(header.len() - 1));
    for r in rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
        );
    }
    out
}

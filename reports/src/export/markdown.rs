//! Markdown summary for a PR comment or `$GITHUB_STEP_SUMMARY`: host line, the headline
//! table with its sentences and caveats, the key numbers (ready, total, over_plain,
//! throughput, cpu_share, PSS) and every skip or failure with its reason; the full table
//! folded in a `<details>` block. Text from the run is escaped so that a hostname or label
//! cannot inject Markdown or HTML, nor terminal control sequences.

use std::fmt::Write;

use super::{ExportError, Exporter};
use crate::model::Run;
use crate::report::headline::headline;
use crate::report::tables;

#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

/// Escape text for a Markdown table cell: control and bidi characters made visible
/// (`terminal::printable`: the summary is often read in a terminal), HTML special characters
/// as entities, Markdown punctuation backslashed.
pub fn md(s: &str) -> String {
    let s = crate::terminal::printable(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn is_key_metric(metric: &str) -> bool {
    matches!(
        metric,
        "ready" | "total" | "over_plain" | "throughput" | "cpu_share"
    ) || metric.ends_with("_pss")
}

/// The workload table (`workload::table`): workload × subject ratios to a plain process
/// with their 95% CI, or skipped / failed; nothing when the run has no workload scenario.
fn workload_table(o: &mut String, run: &Run) -> std::fmt::Result {
    use crate::units::{format_value, sig3};
    use crate::workload::Outcome;
    let t = crate::workload::table(run);
    if t.is_empty() {
        return Ok(());
    }
    writeln!(o, "### Workloads: ratio to a plain process (95% CI)")?;
    writeln!(o)?;
    let names: Vec<String> = t.columns.iter().map(|c| md(&c.name)).collect();
    writeln!(o, "| workload | metric | better | {} |", names.join(" | "))?;
    writeln!(o, "|---|---|---|{}", "--:|".repeat(names.len()))?;
    let base = t.base_column();
    for r in &t.rows {
        let cells: Vec<String> = r
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| match &cell.outcome {
                Outcome::Ok { median, .. } if Some(c) == base => {
                    md(&format_value(*median, &r.unit))
                }
                Outcome::Ok { median, .. } => match cell.ratio() {
                    Some((x, Some([lo, hi]))) => {
                        format!("×{} ({}–{})", sig3(x), sig3(lo), sig3(hi))
                    }
                    Some((x, None)) => format!("×{}", sig3(x)),
                    None => md(&format_value(*median, &r.unit)),
                },
                Outcome::Skipped { .. } => "skipped".into(),
                Outcome::Failed { .. } => "failed".into(),
                Outcome::Missing => "—".into(),
            })
            .collect();
        writeln!(
            o,
            "| {} | {} | {} | {} |",
            md(&r.workload),
            md(&r.metric),
            r.better.map_or("—", |b| b.as_str()),
            cells.join(" | ")
        )?;
    }
    writeln!(o)?;
    writeln!(
        o,
        "Ratio = median(subject) ÷ median(process) in the metric's unit; better lower: below 1 \
         beats the process, better higher: above 1 does. The process column is its median."
    )?;
    if t.any_emulated() {
        writeln!(
            o,
            "VMs marked tcg ran under QEMU's software CPU emulator: their figures include the emulation."
        )?;
    }
    writeln!(o)?;
    Ok(())
}

impl Exporter for MarkdownExporter {
    fn serialize(&self, run: &Run) -> Result<Vec<u8>, ExportError> {
        let mut o = String::new();
        let h = &run.host;
        writeln!(o, "## isobench — {}", md(&h.hostname))?;
        writeln!(o)?;
        writeln!(
            o,
            "Linux {} · {} × {} · cgroup {} · {} · started {}{}",
            md(&h.kernel),
            h.cpus,
            md(&h.cpu_model),
            md(&h.cgroup),
            md(&tables::accelerator(run)),
            md(&run.started_at),
            if run.interrupted {
                " · **interrupted: partial results**"
            } else {
                ""
            }
        )?;
        writeln!(o)?;
        let hl = headline(run);
        writeln!(
            o,
            "### Headline: is a container lightweight virtualization?"
        )?;
        writeln!(o)?;
        if hl.rows.is_empty() {
            writeln!(
                o,
                "Nothing in this run can be compared across isolation classes."
            )?;
        } else {
            writeln!(
                o,
                "| aspect | lighter | heavier | ratio | 95% CI | in words |"
            )?;
            writeln!(o, "|---|---|---|--:|--:|---|")?;
            for r in &hl.rows {
                let mut words = md(&r.sentence);
                for c in &r.caveats {
                    words.push_str(&format!(" ⚠ {}", md(c)));
                }
                writeln!(
                    o,
                    "| {} | {} ({}) | {} ({}) | **{}** | {} | {} |",
                    md(&r.aspect),
                    md(&r.lighter),
                    md(&r.lighter_value),
                    md(&r.heavier),
                    md(&r.heavier_value),
                    md(&r.ratio_text),
                    md(&r.ci_text),
                    words
                )?;
            }
        }
        writeln!(o)?;
        for n in &hl.notes {
            writeln!(o, "- {}", md(n))?;
        }
        if !hl.notes.is_empty() {
            writeln!(o)?;
        }
        workload_table(&mut o, run)?;
        let rows = tables::summary_rows(run);
        let key: Vec<&tables::SummaryRow> =
            rows.iter().filter(|r| is_key_metric(&r.metric)).collect();
        let table = |o: &mut String, rows: &[&tables::SummaryRow]| -> std::fmt::Result {
            writeln!(
                o,
                "| scenario | subject | case | metric | labels | n | p50 | 95% CI of p50 | p99 |"
            )?;
            writeln!(o, "|---|---|---|---|---|--:|--:|--:|--:|")?;
            for r in rows {
                writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    md(&r.scenario),
                    md(&r.subject),
                    md(&r.case),
                    md(&r.metric),
                    md(&r.labels),
                    r.n,
                    md(&r.p50),
                    md(&r.ci),
                    md(&r.p99)
                )?;
            }
            Ok(())
        };
        if !key.is_empty() {
            writeln!(o, "### Key numbers")?;
            writeln!(o)?;
            table(&mut o, &key)?;
            writeln!(o)?;
        }
        let problems = tables::problem_rows(run);
        if !problems.is_empty() {
            writeln!(o, "### Skipped and failed")?;
            writeln!(o)?;
            for p in &problems {
                writeln!(
                    o,
                    "- **{}** {} {}/{} {}{}: {}",
                    md(&p.status),
                    md(&p.scenario),
                    md(&p.subject),
                    md(&p.case),
                    md(&p.metric),
                    if p.labels.is_empty() {
                        String::new()
                    } else {
                        format!(" \\[{}\\]", md(&p.labels))
                    },
                    md(&p.reason)
                )?;
            }
            writeln!(o)?;
        }
        writeln!(
            o,
            "<details><summary>All {} measurements</summary>",
            rows.len()
        )?;
        writeln!(o)?;
        let all: Vec<&tables::SummaryRow> = rows.iter().collect();
        table(&mut o, &all)?;
        writeln!(o)?;
        writeln!(o, "</details>")?;
        Ok(o.into_bytes())
    }

    fn extension(&self) -> &'static str {
        "md"
    }
}

//! A self-contained HTML page of a comparison: the runs side by side, every value
//! escaped, no scripts, no external resources (it is opened from CI artifacts).

use std::fmt::Write;

use super::format::{change, opt_value, p_value, ratio_ci, row_name, verdict_text};
use super::table::{rule, tallies};
use super::{Comparison, Verdict};

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\
tr.regressed td{background:#fde2e2}tr.improved td{background:#e2f5e2}\
tr.changed td{background:#fff4d6}.muted{color:#888}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}";

pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>isobench comparison</title><style>{STYLE}</style></head><body>\n\
         <h1>isobench comparison</h1>\n<ul>\n"
    );
    for (i, r) in c.runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "<li>{} <b>{}</b>: <code>{}</code> (kernel {}, started {}){}</li>",
            if i == 0 { "base" } else { "new" },
            escape(&r.label),
            escape(&r.origin),
            escape(&r.kernel),
            escape(&r.started_at),
            if r.interrupted {
                " — interrupted"
            } else {
                ""
            }
        );
    }
    out.push_str("</ul>\n");
    if let Some(note) = super::format::by_note(c) {
        let _ = writeln!(out, "<p>{}</p>", escape(&note));
    }
    for t in tallies(c) {
        let _ = writeln!(out, "<p><b>{}</b></p>", escape(&t));
    }
    for w in &c.warnings {
        let _ = writeln!(out, "<p class=\"muted\">warning: {}</p>", escape(w));
    }
    if !c.host_differences.is_empty() {
        out.push_str("<h2>Host differences</h2>\n<table><tr><th>field</th>");
        for r in &c.runs {
            let _ = write!(out, "<th>{}</th>", escape(&r.label));
        }
        out.push_str("</tr>\n");
        for d in &c.host_differences {
            let _ = write!(out, "<tr><td>{}</td>", escape(&d.field));
            for v in &d.values {
                let _ = write!(out, "<td>{}</td>", escape(v));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    match crate::chart::forest::chart(c) {
        // plotters escapes the text it draws; the title and desc are escaped by `titled`.
        Ok(Some(svg)) => {
            let _ = writeln!(out, "<h2>Changes</h2>\n<figure>{svg}</figure>");
        }
        Ok(None) => {}
        Err(e) => {
            let _ = writeln!(out, "<p class=\"muted\">{}</p>", escape(&e.to_string()));
        }
    }
    let _ = writeln!(
        out,
        "<h2>Measurements</h2>\n<p class=\"muted\">{}</p>\n<table>\n<tr><th>measurement</th><th>{} median</th>",
        escape(&rule(c)),
        escape(&c.runs[0].label)
    );
    for r in &c.runs[1..] {
        let l = escape(&r.label);
        let _ = write!(
            out,
            "<th>{l} median</th><th>change</th><th>95% CI of ratio</th><th>p (adj.)</th><th>verdict</th>"
        );
    }
    out.push_str("</tr>\n");
    for row in &c.rows {
        let worst = row
            .deltas
            .iter()
            .map(|d| d.verdict)
            .find(|v| matches!(v, Verdict::Regressed))
            .or_else(|| {
                row.deltas
                    .iter()
                    .map(|d| d.verdict)
                    .find(|v| *v != Verdict::NoChange && *v != Verdict::NotCompared)
            })
            .map_or("", |v| match v {
                Verdict::Regressed => "regressed",
                Verdict::Improved => "improved",
                Verdict::Changed => "changed",
                _ => "",
            });
        let base = match row.base.median {
            Some(m) if row.base.status == "ok" => opt_value(Some(m), &row.unit),
            _ => row.base.status.clone(),
        };
        let _ = write!(
            out,
            "<tr class=\"{worst}\"><td>{}</td><td class=\"n\">{}</td>",
            escape(&row_name(row)),
            escape(&base)
        );
        for d in &row.deltas {
            let med = match d.side.median {
                Some(m) if d.side.status == "ok" => opt_value(Some(m), &row.unit),
                _ => d.side.status.clone(),
            };
            let title = d
                .side
                .reason
                .as_deref()
                .or(row.base.reason.as_deref())
                .unwrap_or("");
            let _ = write!(
                out,
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td title=\"{}\">{}</td>",
                escape(&med),
                escape(&change(d.change_pct)),
                escape(&ratio_ci(d.ratio_ci)),
                escape(&p_value(d.p_adjusted)),
                escape(title),
                escape(&verdict_text(d))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>\"x\" & 'y'"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
    }
}

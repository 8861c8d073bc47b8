//! Human forms of values, changes, p-values and CIs shared by the table, Markdown and
//! HTML renderings.

/// Human form of a value in `unit` (`units::format_value`, so comparisons print numbers
/// as the report does); "-" for a missing value.
pub fn human(value: f64, unit: &str) -> String {
    if value.is_finite() {
        crate::units::format_value(value, unit)
    } else {
        "-".into()
    }
}

pub(crate) fn opt_value(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |v| human(v, unit))
}

pub(crate) fn change(pct: Option<f64>) -> String {
    pct.map_or_else(|| "-".into(), crate::units::percent)
}

/// The ratio CI as a change range, e.g. "+3.1 … +9.8 %".
pub(crate) fn ratio_ci(ci: Option<[f64; 2]>) -> String {
    ci.map_or_else(
        || "-".into(),
        |[lo, hi]| {
            let (lo, hi) = (
                crate::units::percent((lo - 1.0) * 100.0),
                crate::units::percent((hi - 1.0) * 100.0),
            );
            format!("{} … {hi}", lo.trim_end_matches(" %"))
        },
    )
}

pub(crate) fn p_value(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 1e-4 => "<0.0001".into(),
        Some(p) => format!("{p:.4}"),
    }
}

/// "scenario subject case metric [labels]" on one line.
pub(crate) fn row_name(r: &super::Row) -> String {
    let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut s = format!("{} {} {} {}", r.scenario, r.subject, r.case, r.metric);
    if !labels.is_empty() {
        s.push_str(&format!(" [{}]", labels.join(",")));
    }
    s
}

/// What a `not compared` or `no change` verdict owes the reader.
pub(crate) fn verdict_text(d: &super::Delta) -> String {
    match (&d.note, d.verdict) {
        (Some(n), super::Verdict::NotCompared) => format!("not compared ({n})"),
        _ => d.verdict.as_str().to_string(),
    }
}

/// With `--by LABEL`: what the columns are (shown under the list of runs).
pub(crate) fn by_note(c: &super::Comparison) -> Option<String> {
    c.by.as_ref().map(|label| {
        format!(
            "columns: the groups of label {label} inside one run file, measured interleaved on one host \
             (the kernel named per column is the host's); the first group is the base"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(1_500.0, "ns"), "1.50 µs");
        assert_eq!(human(2_500_000.0, "ns"), "2.50 ms");
        assert_eq!(human(3.0 * 1024.0 * 1024.0, "bytes"), "3.00 MiB");
        assert_eq!(human(f64::NAN, "ns"), "-");
        assert_eq!(change(Some(12.345)), "+12.3 %");
        assert_eq!(ratio_ci(Some([0.9, 1.1])), "-10.0 … +10.0 %");
    }
}

//! Reading one launch's probe output (the workload protocol's `wl.W.*` lines) into a
//! result per workload. Anything that is not exactly what the protocol says — a missing
//! line, a workload without its `.done`, a value that is not a finite number above 0 —
//! makes that workload `failed` with the reason, never a zero.

use super::metrics::Workload;

/// What one launch says about one workload.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every metric, in the table's order, and the probe's `fstype` line if it has one.
    Ok {
        values: Vec<(&'static str, f64)>,
        fstype: Option<String>,
    },
    /// `wl.W.skipped=REASON`: it cannot run in this subject.
    Skipped(String),
    /// `wl.W.failed=REASON`, or output the harness refuses (the reason says which).
    Failed(String),
}

/// The longest reason or value kept from the probe's output (a reason is one line).
const MAX_TEXT: usize = 300;

/// Printable ASCII only, at most [`MAX_TEXT`] characters: the probe's text goes into
/// run files and terminals.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(MAX_TEXT)
        .collect();
    if s.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out.trim().to_string()
}

/// The outcome of workload `w` in `output` (the probe's whole stdout or console text).
pub fn workload(output: &str, w: &Workload) -> Outcome {
    let prefix = format!("wl.{}.", w.name);
    // Key (after the prefix) → value, first occurrence wins; a second, different one is
    // garbled output.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for line in output.lines() {
        // A console line can carry a carriage return.
        let line = line.trim_end_matches('\r').trim();
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let Some((key, value)) = rest.split_once('=') else {
            return Outcome::Failed(format!("garbled line {:?} (no '=')", clean(line)));
        };
        match seen.iter().find(|(k, _)| *k == key) {
            Some((_, v)) if *v != value => {
                return Outcome::Failed(format!(
                    "wl.{}.{} printed twice with different values ({:?}, {:?})",
                    w.name,
                    clean(key),
                    clean(v),
                    clean(value)
                ))
            }
            Some(_) => {}
            None => seen.push((key, value)),
        }
    }
    let get = |k: &str| seen.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if let Some(r) = get("skipped") {
        return Outcome::Skipped(clean(r));
    }
    if let Some(r) = get("failed") {
        return Outcome::Failed(format!("the probe says: {}", clean(r)));
    }
    if seen.is_empty() {
        return Outcome::Failed(format!(
            "no wl.{}.* line in the probe's output (it did not run, or its output was lost)",
            w.name
        ));
    }
    if get("done") != Some("1") {
        return Outcome::Failed(format!(
            "truncated: wl.{}.* lines but no wl.{}.done=1 (the probe stopped or its output was cut)",
            w.name, w.name
        ));
    }
    let mut values = Vec::with_capacity(w.metrics.len());
    for m in w.metrics {
        let Some(text) = get(m.name) else {
            return Outcome::Failed(format!("no wl.{}.{} line", w.name, m.name));
        };
        let v = match text.parse::<f64>() {
            Ok(v) => v,
            Err(_) => {
                return Outcome::Failed(format!(
                    "wl.{}.{}={:?} is not a number",
                    w.name,
                    m.name,
                    clean(text)
                ))
            }
        };
        if !v.is_finite() || v <= 0.0 {
            return Outcome::Failed(format!(
                "wl.{}.{}={} is not a finite number above 0",
                w.name,
                m.name,
                clean(text)
            ));
        }
        values.push((m.name, v));
    }
    let fstype = if w.uses_dir {
        match get("fstype") {
            Some(f)
                if !f.is_empty()
                    && f.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) =>
            {
                Some(f.to_string())
            }
            Some(f) => {
                return Outcome::Failed(format!(
                    "wl.{}.fstype={:?} is not a file system type name",
                    w.name,
                    clean(f)
                ))
            }
            None => {
                return Outcome::Failed(format!("no wl.{}.fstype line", w.name));
            }
        }
    } else {
        None
    };
    Outcome::Ok { values, fstype }
}

/// How many calls a budgeted loop made (`wl.W.KEY=N`, a whole number), when the probe
/// said; anything else is `None` (the figure itself was checked by [`workload`]).
pub fn calls(output: &str, w: &Workload, key: &str) -> Option<u64> {
    let prefix = format!("wl.{}.{key}=", w.name);
    output.lines().find_map(|l| {
        let v = l.trim_end_matches('\r').trim().strip_prefix(&prefix)?;
        let n = v.parse::<f64>().ok()?;
        (n.is_finite() && n >= 1.0 && n.fract() == 0.0 && n < 1e15).then_some(n as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::super::metrics::workload as named;
    use super::*;

    fn syscall() -> &'static Workload {
        named("syscall").expect("syscall")
    }

    const OK: &str =
        "ISOBENCH-READY\nwl.syscall.getppid_ns=61.5\nwl.syscall.openat_close_ns=1204\n\
                      wl.syscall.fstype=overlay\nwl.syscall.done=1\nISOBENCH-DONE status=0\n";

    #[test]
    fn ok_lines_give_every_metric_and_the_fstype() {
        assert_eq!(
            workload(OK, syscall()),
            Outcome::Ok {
                values: vec![("getppid_ns", 61.5), ("openat_close_ns", 1204.0)],
                fstype: Some("overlay".into()),
            }
        );
        // A VM console's CRLF and lines of other workloads change nothing.
        let crlf = format!("wl.memory.done=1\r\n{}", OK.replace('\n', "\r\n"));
        assert!(matches!(workload(&crlf, syscall()), Outcome::Ok { .. }));
    }

    #[test]
    fn a_budgeted_loop_says_how_many_calls_it_made() {
        let out = format!("{OK}wl.syscall.getppid_calls=9000\nwl.syscall.openat_calls=2.5\n");
        assert_eq!(calls(&out, syscall(), "getppid_calls"), Some(9000));
        // Not a whole number, absent, or hostile: no count, never a panic.
        assert_eq!(calls(&out, syscall(), "openat_calls"), None);
        assert_eq!(calls(OK, syscall(), "getppid_calls"), None);
        assert_eq!(
            calls(
                "wl.syscall.getppid_calls=1e300\n",
                syscall(),
                "getppid_calls"
            ),
            None
        );
        assert_eq!(
            calls("wl.syscall.getppid_calls=-3\n", syscall(), "getppid_calls"),
            None
        );
    }

    #[test]
    fn skipped_and_failed_lines_keep_their_reason() {
        let s = "wl.fileio.skipped=read-only file system (EROFS) at /isobench-wl\n";
        assert_eq!(
            workload(s, named("fileio").expect("fileio")),
            Outcome::Skipped("read-only file system (EROFS) at /isobench-wl".into())
        );
        // A reason may hold '=' and is made printable.
        let f = "wl.net.failed=connect: ECONNREFUSED a=b\x1b[2J\n";
        assert_eq!(
            workload(f, named("net").expect("net")),
            Outcome::Failed("the probe says: connect: ECONNREFUSED a=b?[2J".into())
        );
    }

    fn failed(output: &str) -> String {
        match workload(output, syscall()) {
            Outcome::Failed(r) => r,
            other => panic!("{output:?} gave {other:?}"),
        }
    }

    #[test]
    fn truncated_missing_and_garbled_output_is_a_failure_with_the_reason() {
        assert!(failed("").contains("no wl.syscall.* line"));
        let truncated = "wl.syscall.getppid_ns=61.5\nwl.syscall.openat_close_ns=12";
        assert!(
            failed(truncated).starts_with("truncated"),
            "{}",
            failed(truncated)
        );
        let missing = "wl.syscall.getppid_ns=61.5\nwl.syscall.fstype=ext4\nwl.syscall.done=1\n";
        assert_eq!(failed(missing), "no wl.syscall.openat_close_ns line");
        let garbled = OK.replace("=1204", "=12o4");
        assert_eq!(
            failed(&garbled),
            "wl.syscall.openat_close_ns=\"12o4\" is not a number"
        );
        assert!(failed("wl.syscall.getppid_ns 61\n").contains("no '='"));
        let twice = format!("{OK}wl.syscall.getppid_ns=70\n");
        assert!(
            failed(&twice).contains("printed twice"),
            "{}",
            failed(&twice)
        );
        let bad_fs = OK.replace("=overlay", "=over lay");
        assert!(failed(&bad_fs).contains("not a file system type name"));
        let no_fs = OK.replace("wl.syscall.fstype=overlay\n", "");
        assert_eq!(failed(&no_fs), "no wl.syscall.fstype line");
    }

    #[test]
    fn zero_negative_and_non_finite_values_are_never_measurements() {
        for bad in ["0", "-3", "0.0", "NaN", "inf", "-inf", "1e400"] {
            let out = OK.replace("=61.5", &format!("={bad}"));
            let r = failed(&out);
            assert!(
                r.starts_with("wl.syscall.getppid_ns=") && r.contains("not a"),
                "{bad}: {r}"
            );
        }
    }
}

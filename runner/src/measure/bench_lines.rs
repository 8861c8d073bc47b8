//! Reading the probe's `bench` output (format: fixtures/probe/src/modes/bench.rs): one
//! line per result, each ending in the FNV-1a 32-bit hash of the text before it, and an
//! end line counting the lines. A line whose hash, field count, value count or values
//! do not check out is *rejected* with the reason — never read as a number — and so is
//! output without its end line (cut short) or whose count disagrees (a line lost).
//!
//! Lines that start with none of the line kinds (kernel messages on a VM console, the
//! probe's `ISOBENCH-DONE`) are not the probe's results and are passed over; the end
//! line's count catches a result line so garbled that its kind letter is gone.

use std::collections::BTreeMap;

/// One checked result line: `n` values of (case, metric, labels) in `unit`.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    pub case: String,
    pub metric: String,
    pub unit: &'static str,
    pub labels: BTreeMap<String, String>,
    pub values: Vec<f64>,
}

/// A case the probe could not measure (`S`: skipped, `F`: failed mid-run).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchProblem {
    pub case: String,
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    pub failed: bool,
    pub reason: String,
}

/// A line that did not check out.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// 1-based line number in the probe's output.
    pub line: usize,
    /// Why (the hash, a count, a value).
    pub why: String,
    /// The (case, metric, labels) the line claims, when its leading fields are well
    /// formed (the measurement it would have fed is marked failed).
    pub claims: Option<(String, String, BTreeMap<String, String>)>,
}

/// Everything one bench run printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchOutput {
    /// The kernel's release (`uname -r`), from the `U` line.
    pub release: Option<String>,
    pub results: Vec<BenchResult>,
    pub problems: Vec<BenchProblem>,
    pub rejected: Vec<Rejected>,
    /// Why the output as a whole is incomplete (no end line, a count that disagrees).
    pub incomplete: Option<String>,
}

/// FNV-1a, 32 bits (the probe's line hash).
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn parse_labels(s: &str) -> Option<BTreeMap<String, String>> {
    if s == "-" {
        return Some(BTreeMap::new());
    }
    s.split(';')
        .map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (is_word(k) && is_word(v)).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Parse the probe's output (everything after its ready line).
pub fn parse(text: &str) -> BenchOutput {
    let mut out = BenchOutput::default();
    let mut counted = 0usize;
    let mut end: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim_end_matches('\r');
        let kind = match l.get(..2) {
            Some(k @ ("U " | "B " | "S " | "F " | "E ")) => &k[..1],
            _ => continue,
        };
        let fields: Vec<&str> = l.split(' ').collect();
        let claims = || {
            (kind == "B" && fields.len() >= 5 && is_word(fields[1]) && is_word(fields[2]))
                .then(|| {
                    parse_labels(fields[4]).map(|lab| (fields[1].into(), fields[2].into(), lab))
                })
                .flatten()
        };
        let reject = |out: &mut BenchOutput, why: String| {
            out.rejected.push(Rejected {
                line: i + 1,
                why,
                claims: claims(),
            });
        };
        let Some((body, hash)) = l.rsplit_once(' ') else {
            reject(&mut out, "no hash field".into());
            continue;
        };
        let want = format!("{:08x}", fnv1a32(body.as_bytes()));
        if hash != want {
            reject(
                &mut out,
                format!("hash mismatch (line says {hash:.8}, its text hashes to {want}): garbled or cut short"),
            );
            continue;
        }
        if kind != "E" {
            counted += 1;
        }
        let f = &fields[..fields.len() - 1];
        match kind {
            "U" if f.len() == 2 => out.release = Some(f[1].to_string()),
            "E" if f.len() == 2 => match f[1].parse::<usize>() {
                Ok(n) => end = Some(n),
                Err(_) => reject(
                    &mut out,
                    format!("end line count {:?} is not a number", f[1]),
                ),
            },
            "B" if f.len() == 7 => match check_result(f) {
                Ok(r) => out.results.push(r),
                Err(why) => reject(&mut out, why),
            },
            "S" | "F" if f.len() >= 5 => {
                match (is_word(f[1]) && is_word(f[2]), parse_labels(f[3])) {
                    (true, Some(labels)) => out.problems.push(BenchProblem {
                        case: f[1].into(),
                        metric: f[2].into(),
                        labels,
                        failed: kind == "F",
                        reason: f[4..].join(" "),
                    }),
                    _ => reject(&mut out, "malformed case, metric or labels".into()),
                }
            }
            _ => reject(
                &mut out,
                format!("{} fields, not what a {kind} line has", fields.len()),
            ),
        }
    }
    out.incomplete = match end {
        None => Some("the output has no end line (E): it was cut short".into()),
        Some(n) if n != counted => Some(format!(
            "the end line counts {n} lines but {counted} checked out: {} lost or garbled beyond recognition",
            n.abs_diff(counted)
        )),
        Some(_) => None,
    };
    out
}

/// The fields of a `B` line (without the hash): kind, case, metric, unit, labels, n, values.
fn check_result(f: &[&str]) -> Result<BenchResult, String> {
    if !is_word(f[1]) || !is_word(f[2]) {
        return Err(format!("malformed case {:?} or metric {:?}", f[1], f[2]));
    }
    let unit = match f[3] {
        "ns" => "ns",
        u => return Err(format!("unknown unit {u:?}")),
    };
    let labels = parse_labels(f[4]).ok_or_else(|| format!("malformed labels {:?}", f[4]))?;
    let n: usize = f[5]
        .parse()
        .map_err(|_| format!("value count {:?} is not a number", f[5]))?;
    let values: Vec<f64> = f[6]
        .split(',')
        .map(|v| match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => Err(format!("value {v:?} is not a finite number > 0")),
        })
        .collect::<Result<_, _>>()?;
    if values.len() != n {
        return Err(format!("says {n} values but has {}", values.len()));
    }
    Ok(BenchResult {
        case: f[1].into(),
        metric: f[2].into(),
        unit,
        labels,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> String {
        format!("{text} {:08x}\n", fnv1a32(text.as_bytes()))
    }

    fn sample() -> String {
        [
            line("U 6.1.0-57-cloud-amd64"),
            "[    3.1] a kernel message\n".into(),
            line("B none total ns semantics=vm 3 1000,1100,1200"),
            line("B syscall getppid ns - 2 250.5,251.0"),
            line("S time setns - EINVAL (errno 22)"),
            line("E 4"),
            "ISOBENCH-DONE status=0\n".into(),
        ]
        .concat()
    }

    #[test]
    fn checked_lines_are_read() {
        let o = parse(&sample());
        assert_eq!(o.release.as_deref(), Some("6.1.0-57-cloud-amd64"));
        assert_eq!(o.results.len(), 2);
        assert_eq!(o.results[0].values, vec![1000.0, 1100.0, 1200.0]);
        assert_eq!(o.results[0].labels["semantics"], "vm");
        assert_eq!(o.problems[0].reason, "EINVAL (errno 22)");
        assert!(!o.problems[0].failed);
        assert!(o.rejected.is_empty() && o.incomplete.is_none(), "{o:?}");
    }

    #[test]
    fn garbled_truncated_and_lost_lines_are_rejected() {
        // A changed digit: the hash no longer matches; the line's claim is kept.
        let s = sample().replace("1000,1100", "1000,1180");
        let o = parse(&s);
        assert_eq!(o.results.len(), 1);
        assert_eq!(o.rejected.len(), 1);
        assert!(
            o.rejected[0].why.contains("hash mismatch"),
            "{:?}",
            o.rejected
        );
        let (case, metric, labels) = o.rejected[0].claims.clone().expect("claims");
        assert_eq!((case.as_str(), metric.as_str()), ("none", "total"));
        assert_eq!(labels["semantics"], "vm");
        assert!(o.incomplete.as_deref().unwrap_or("").contains("counts 4"));

        // Cut short: no end line.
        let s = sample();
        let cut = &s[..s.find("B syscall").expect("line") + 20];
        let o = parse(cut);
        assert_eq!(o.rejected.len(), 1, "{o:?}");
        assert!(o.incomplete.as_deref().unwrap_or("").contains("cut short"));

        // A kernel message spliced into a line.
        let s = sample().replace("semantics=vm 3", "semantics=vm[  4.2] oops 3");
        let o = parse(&s);
        assert_eq!(o.results.len(), 1);
        assert_eq!(o.rejected.len(), 1);

        // A line that checks its hash but lies about its count, or holds a zero.
        let bad = [
            line("U r"),
            line("B none total ns - 3 1,2"),
            line("B none ready ns - 2 0,2"),
            line("E 3"),
        ]
        .concat();
        let o = parse(&bad);
        assert!(o.results.is_empty());
        assert_eq!(o.rejected.len(), 2, "{o:?}");
        assert!(o.rejected[0].why.contains("says 3 values"));
        assert!(o.rejected[1].why.contains("> 0"));
        assert!(o.incomplete.is_none());

        // A line lost entirely.
        let s = sample().replace(&line("B syscall getppid ns - 2 250.5,251.0"), "");
        assert!(parse(&s)
            .incomplete
            .as_deref()
            .unwrap_or("")
            .contains("lost"));
    }

    #[test]
    fn the_probe_and_the_harness_hash_alike() {
        // The same reference values the probe's own test checks.
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }
}

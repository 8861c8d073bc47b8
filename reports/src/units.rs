//! Human formatting of values by their unit ("ns", "bytes", "ops/s", "ratio", ...), and the
//! axis scale a chart uses for them. One place, so the HTML, the Markdown and the charts
//! print the same number the same way.

/// Beyond this magnitude numbers print with an exponent: nothing a run measures reaches
/// 10^15 in the unit it is shown in (10^15 ns is 11 days; GAB prints raw ns), and a file
/// that says 1.7e308 must not print a 309-digit number.
pub const PLAIN_MAX: f64 = 1e15;

/// Three significant digits, no exponent (2.35, 52.7, 636) up to `PLAIN_MAX`, then
/// "1.70e308".
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= PLAIN_MAX {
        format!("{v:.2e}")
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A duration given in nanoseconds: "2.5 µs", "1.73 ms", "4.21 s".
pub fn format_ns(ns: f64) -> String {
    let s = scale_for("ns", ns.abs());
    format!("{} {}", sig3(ns / s.div), s.suffix)
}

/// A size in bytes, binary prefixes: "812 KiB", "1.25 MiB".
pub fn format_bytes(b: f64) -> String {
    let s = scale_for("bytes", b.abs());
    format!("{} {}", sig3(b / s.div), s.suffix)
}

/// A value in `unit`, human-scaled.
pub fn format_value(v: f64, unit: &str) -> String {
    match unit {
        "ns" => format_ns(v),
        "us" | "µs" => format_ns(v * 1e3),
        "bytes" => format_bytes(v),
        "ratio" => sig3(v),
        "ops/s" => format!("{}/s", sig3(v)),
        other => format!("{} {other}", sig3(v)),
    }
}

/// A ratio as a factor: "38×", "3.1×", "1.04×".
pub fn format_factor(r: f64) -> String {
    if !r.is_finite() {
        "–".into()
    } else if r.abs() >= PLAIN_MAX {
        format!("{r:.2e}×")
    } else if r >= 10.0 {
        format!("{r:.0}×")
    } else if r >= 2.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// A change in percent with its sign and one decimal ("+9.7 %"), "+1.00e296 %" beyond
/// `PLAIN_MAX`.
pub fn percent(p: f64) -> String {
    if p.abs() >= PLAIN_MAX {
        format!("{p:+.2e} %")
    } else {
        format!("{p:+.1} %")
    }
}

/// A number in full (`Display`: the shortest form that reads back the same) up to
/// `PLAIN_MAX`, with an exponent beyond; for error messages that quote a value.
pub fn number(v: f64) -> String {
    if v.abs() >= PLAIN_MAX {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// How a chart axis shows values of one unit: divide by `div`, print `suffix`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub div: f64,
    pub suffix: &'static str,
}

/// The scale that keeps values up to `max_abs` readable (ns → µs/ms/s, bytes → KiB/MiB/GiB).
pub fn scale_for(unit: &str, max_abs: f64) -> Scale {
    let pick = |steps: &[(f64, &'static str)]| -> Scale {
        let mut best = Scale {
            div: steps[0].0,
            suffix: steps[0].1,
        };
        for &(div, suffix) in steps {
            if max_abs >= div {
                best = Scale { div, suffix };
            }
        }
        best
    };
    match unit {
        "ns" => pick(&[(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")]),
        "bytes" => pick(&[
            (1.0, "B"),
            (1024.0, "KiB"),
            (1024.0 * 1024.0, "MiB"),
            (1024.0 * 1024.0 * 1024.0, "GiB"),
        ]),
        "ratio" => Scale {
            div: 1.0,
            suffix: "",
        },
        _ => Scale {
            div: 1.0,
            suffix: "",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_unit() {
        assert_eq!(format_ns(2_500.0), "2.50 µs");
        assert_eq!(format_ns(1_734_000.0), "1.73 ms");
        assert_eq!(format_ns(4_210_000_000.0), "4.21 s");
        assert_eq!(format_ns(635_900.0), "636 µs");
        assert_eq!(format_bytes(1_310_720.0), "1.25 MiB");
        assert_eq!(format_value(2046.0, "ops/s"), "2046/s");
        // The workload scenario's units.
        assert_eq!(format_value(48.1, "us"), "48.1 µs");
        assert_eq!(format_value(1400.0, "us"), "1.40 ms");
        assert_eq!(format_value(9.58, "GB/s"), "9.58 GB/s");
        assert_eq!(format_value(2781.0, "tx/s"), "2781 tx/s");
        assert_eq!(format_factor(38.2), "38×");
        assert_eq!(format_factor(3.12), "3.1×");
        assert_eq!(format_factor(1.044), "1.04×");
        assert_eq!(format_factor(f64::NAN), "–");
        assert_eq!(format_ns(1.7e308), "1.70e299 s");
        assert_eq!(format_factor(1e300), "1.00e300×");
        assert_eq!(percent(12.345), "+12.3 %");
        assert_eq!(percent(-1e296), "-1.00e296 %");
        assert_eq!(number(453221.0), "453221");
        assert_eq!(number(1.7e308), "1.7e308");
    }
}

//! Text from a run file on its way to a terminal, a Markdown page or a CSV cell.
//!
//! A run file is input like any other: its hostname, case names, labels and reasons can
//! hold ESC (an escape sequence retitles the terminal, moves the cursor, rewrites what was
//! printed), CR (overwrites a line), BEL, NUL, or a Unicode bidi control such as U+202E
//! (shows "regressed" where the bytes say "dessergeR", the Trojan Source trick,
//! CVE-2021-42574). `printable` makes every such character visible instead; every text
//! rendering applies it to each value it takes from a run, as the HTML escapes markup.
//! `truncated` bounds a value's width so one absurd name cannot blow up a table.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1), Unicode bidi control (U+061C,
/// U+200E/F, U+202A–U+202E, U+2066–U+2069) and line/paragraph separator (U+2028/9)
/// replaced by a visible escape: `\n`, `\r`, `\t`, `\x1b` for ASCII, `\u{202e}` beyond.
/// Borrowed, without copying, when there is nothing to escape (the usual case).
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal or a bidi-aware viewer interprets instead of showing.
fn needs_escape(c: char) -> bool {
    // `is_control` is Unicode category Cc: U+0000–U+001F, U+007F–U+009F.
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `s` cut to at most `max_chars` characters, the last one an ellipsis when cut.
pub fn truncated(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => Cow::Borrowed(s),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let keep = s
                .char_indices()
                .nth(max_chars - 1)
                .map_or(s.len(), |(i, _)| i);
            Cow::Owned(format!("{}…", &s[..keep]))
        }
    }
}

/// True when `s` holds a character `printable` would escape (tests of every renderer).
pub fn has_unprintable(s: &str) -> bool {
    s.chars().any(needs_escape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible() {
        assert_eq!(
            printable("a\x1b]0;pwned\x07b\rc\0d\u{7f}e\u{9b}f"),
            "a\\x1b]0;pwned\\x07b\\rc\\x00d\\x7fe\\u{9b}f"
        );
        assert_eq!(
            printable("\u{202e}dessergeR\u{2066}x\u{2069}\u{200f}\u{061c}"),
            "\\u{202e}dessergeR\\u{2066}x\\u{2069}\\u{200f}\\u{61c}"
        );
        assert_eq!(printable("two\nlines\tand tab"), "two\\nlines\\tand tab");
        for ok in ["plain", "µs – ×12 ⚠ 日本", "a\\x1b literal", ""] {
            assert!(matches!(printable(ok), Cow::Borrowed(_)), "{ok}");
        }
        assert!(!has_unprintable(&printable("\u{1b}\u{202e}\u{85}\u{2028}")));
    }

    #[test]
    fn truncation_keeps_width_and_says_so() {
        assert_eq!(truncated("abcdef", 10), "abcdef");
        assert_eq!(truncated("abcdef", 6), "abcdef");
        assert_eq!(truncated("abcdef", 4), "abc…");
        assert_eq!(truncated("µµµµµ", 3), "µµ…");
        assert_eq!(truncated("abc", 0), "");
        assert_eq!(truncated(&"x".repeat(70_000), 60).chars().count(), 60);
    }
}

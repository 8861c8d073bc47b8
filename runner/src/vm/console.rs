//! The console markers of a boot and how a console chunk is stamped: each marker gets
//! the `Instant` at which `read(2)` returned the chunk that completed it (see `vm::boot`
//! for the timer points).

use std::time::Instant;

/// The kernel's first line on the console.
pub const KERNEL_MARKER: &str = "Linux version ";
/// The probe's ready line (fixtures/probe/src/marker.rs).
pub const READY_MARKER: &str = "ISOBENCH-READY";
/// The probe's last line (fixtures/probe/src/main.rs).
pub const DONE_MARKER: &str = "ISOBENCH-DONE status=";

/// The console markers, in boot order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    FirstOutput,
    Kernel,
    Ready,
    Done,
}

impl Marker {
    pub const ALL: [Marker; 4] = [
        Marker::FirstOutput,
        Marker::Kernel,
        Marker::Ready,
        Marker::Done,
    ];

    pub(super) fn needle(self) -> &'static str {
        match self {
            Marker::FirstOutput => "",
            Marker::Kernel => KERNEL_MARKER,
            Marker::Ready => READY_MARKER,
            Marker::Done => DONE_MARKER,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Marker::FirstOutput => "console output",
            Marker::Kernel => "kernel start (\"Linux version\")",
            Marker::Ready => "the probe's ISOBENCH-READY",
            Marker::Done => "the probe's ISOBENCH-DONE",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// Append a console chunk read at `at` and stamp the markers it completes. Only the new
/// text plus a margin is searched, so a marker split across two reads is found once, with
/// the second read's instant.
pub(super) fn stamp(text: &mut String, chunk: &[u8], seen: &mut [Option<Instant>; 4], at: Instant) {
    let longest = Marker::ALL
        .iter()
        .map(|m| m.needle().len())
        .max()
        .unwrap_or(0);
    let mut from = text.len().saturating_sub(longest);
    text.push_str(&String::from_utf8_lossy(chunk));
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    for m in Marker::ALL {
        if seen[m.index()].is_none() && text[from..].contains(m.needle()) {
            seen[m.index()] = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn markers_stamped_with_the_chunk_that_completes_them() {
        let t = Instant::now();
        let at = |ms: u64| t + Duration::from_millis(ms);
        let mut text = String::new();
        let mut seen = [None; 4];
        stamp(&mut text, b"SeaBIOS\r\n", &mut seen, at(1));
        assert_eq!(seen, [Some(at(1)), None, None, None]);
        stamp(&mut text, "[0.0] Linux ver".as_bytes(), &mut seen, at(2));
        assert_eq!(seen[1], None);
        stamp(
            &mut text,
            b"sion 6.1\nISOBENCH-READY\nISOBENCH-DO",
            &mut seen,
            at(3),
        );
        assert_eq!(seen[1], Some(at(3)));
        assert_eq!(seen[2], Some(at(3)));
        assert_eq!(seen[3], None);
        stamp(&mut text, b"NE status=0\n", &mut seen, at(4));
        assert_eq!(seen[3], Some(at(4)));
        // A later repeat does not move a stamp.
        stamp(&mut text, b"ISOBENCH-READY\n", &mut seen, at(5));
        assert_eq!(seen[2], Some(at(3)));
        assert_eq!(seen[0], Some(at(1)));
    }
}

//! Waiting for a ready marker, with a deadline and Ctrl-C awareness.

use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use crate::sys::{self, PollOutcome};

#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("no ready marker within {0:?}")]
    Timeout(Duration),
    #[error("the payload closed its end without sending the ready marker (it exited or failed to start){0}")]
    Eof(String),
    #[error("interrupted by {0}")]
    Interrupted(&'static str),
    #[error("reading the ready marker failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Slice of a wait between checks for Ctrl-C.
const SLICE: Duration = Duration::from_millis(250);

/// Wait for one byte on `fd`; returns the instant it was read.
pub fn wait_byte(fd: BorrowedFd<'_>, deadline: Instant) -> Result<Instant, MarkerError> {
    let start = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(MarkerError::Timeout(deadline - start));
        }
        match sys::poll_readable(fd.as_raw_fd(), (deadline - now).min(SLICE))? {
            PollOutcome::Readable => {
                let mut b = [0u8; 1];
                let n = sys::read(fd.as_raw_fd(), &mut b)?;
                let t = Instant::now();
                return if n == 1 {
                    Ok(t)
                } else {
                    Err(MarkerError::Eof(String::new()))
                };
            }
            PollOutcome::TimedOut | PollOutcome::Interrupted => {}
        }
        if let Some(sig) = sys::signals::interrupted() {
            return Err(MarkerError::Interrupted(sys::signals::name(sig)));
        }
    }
}

/// Reads a child's stdout (or a VM console) and finds marker lines in it, keeping all
/// the text for the caller (probe results follow the marker).
#[derive(Debug)]
pub struct LineWaiter<R> {
    reader: R,
    pub text: String,
    scanned: usize,
    eof: bool,
}

impl<R: Read + AsRawFd> LineWaiter<R> {
    pub fn new(reader: R) -> Self {
        LineWaiter {
            reader,
            text: String::new(),
            scanned: 0,
            eof: false,
        }
    }

    /// Wait until a line containing `needle` arrives (after what earlier calls consumed).
    /// Returns the instant the chunk holding it was read.
    pub fn wait_for(&mut self, needle: &str, deadline: Instant) -> Result<Instant, MarkerError> {
        let start = Instant::now();
        loop {
            if let Some(pos) = self.text[self.scanned..].find(needle) {
                self.scanned += pos + needle.len();
                return Ok(Instant::now());
            }
            if self.eof {
                return Err(MarkerError::Eof(tail(&self.text)));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(MarkerError::Timeout(deadline - start));
            }
            match sys::poll_readable(self.reader.as_raw_fd(), (deadline - now).min(SLICE))? {
                PollOutcome::Readable => {
                    let mut buf = [0u8; 8192];
                    let n = match self.reader.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if n == 0 {
                        self.eof = true;
                    } else {
                        // Keep a margin so a needle split across reads is still found.
                        self.scanned = self.scanned.saturating_sub(needle.len());
                        self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while !self.text.is_char_boundary(self.scanned) {
                            self.scanned -= 1;
                        }
                    }
                }
                PollOutcome::TimedOut | PollOutcome::Interrupted => {}
            }
            if let Some(sig) = sys::signals::interrupted() {
                return Err(MarkerError::Interrupted(sys::signals::name(sig)));
            }
        }
    }

    /// Read everything until EOF; a deadline reached first is an error.
    pub fn read_to_end(&mut self, deadline: Instant) -> Result<(), MarkerError> {
        let start = Instant::now();
        while !self.eof {
            let now = Instant::now();
            if now >= deadline {
                return Err(MarkerError::Timeout(deadline - start));
            }
            if let PollOutcome::Readable =
                sys::poll_readable(self.reader.as_raw_fd(), (deadline - now).min(SLICE))?
            {
                let mut buf = [0u8; 8192];
                match self.reader.read(&mut buf) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if let Some(sig) = sys::signals::interrupted() {
                return Err(MarkerError::Interrupted(sys::signals::name(sig)));
            }
        }
        Ok(())
    }

    pub fn into_inner(self) -> R {
        self.reader
    }
}

fn tail(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        return String::new();
    }
    let start = t.char_indices().rev().nth(400).map(|(i, _)| i).unwrap_or(0);
    format!("; last output: {}", &t[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn finds_marker_split_across_writes_and_reads_the_rest() {
        let (rd, wr) = std::os::unix::net::UnixStream::pair().expect("pair");
        let mut wr = wr;
        let t = std::thread::spawn(move || {
            wr.write_all(b"boot noise ISOBENCH-RE").expect("write");
            std::thread::sleep(std::time::Duration::from_millis(20));
            wr.write_all(b"ADY\nunits=3\n").expect("write");
        });
        let mut w = LineWaiter::new(rd);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        w.wait_for("ISOBENCH-READY", deadline).expect("marker");
        t.join().expect("writer");
        w.read_to_end(deadline).expect("eof");
        assert!(w.text.ends_with("units=3\n"), "{:?}", w.text);
    }

    #[test]
    fn times_out_without_marker() {
        let (rd, _wr) = std::os::unix::net::UnixStream::pair().expect("pair");
        let mut w = LineWaiter::new(rd);
        let r = w.wait_for("X", Instant::now() + std::time::Duration::from_millis(50));
        assert!(matches!(r, Err(MarkerError::Timeout(_))), "{r:?}");
    }
}

//! A writer (and, for verification, a reader) of the cpio "newc" format, the format the
//! Linux kernel unpacks an initramfs from.
//!
//! Format (see the kernel's `Documentation/driver-api/early-userspace/buffer-format.rst`
//! and `man 5 cpio`): each entry is a 110-byte ASCII header — magic `070701` and thirteen
//! 8-digit hexadecimal fields (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
//! devminor, rdevmajor, rdevminor, namesize including the NUL, check = 0) — then the
//! NUL-terminated name padded to a multiple of 4 bytes, then the data padded to a multiple
//! of 4. The archive ends with an entry named `TRAILER!!!`. The kernel accepts it
//! uncompressed, so no gzip is needed.
//!
//! Every entry gets uid/gid 0 and mtime 0, so the same inputs give byte-identical
//! archives.

/// `S_IFMT` bits of a cpio mode (the same values as Linux's `st_mode`).
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFLNK: u32 = 0o120_000;
const S_IFMT: u32 = 0o170_000;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CpioError {
    #[error("cpio entry name {0:?} is empty, absolute, or contains a NUL byte; use a relative path such as \"dev/console\"")]
    BadName(String),
    #[error("cpio entry {name:?} is {len} bytes; newc stores sizes in 32 bits (at most 4 GiB)")]
    TooLarge { name: String, len: usize },
    #[error("cpio archive is malformed at byte {offset}: {what}")]
    Malformed { offset: usize, what: String },
}

/// One entry as read back by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub data: Vec<u8>,
}

impl Entry {
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
}

/// An archive being built in memory (an initramfs is a few MiB at most).
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    next_ino: u32,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            buf: Vec::new(),
            next_ino: 1,
        }
    }

    /// A directory, e.g. `dir("proc", 0o755)`.
    pub fn dir(&mut self, name: &str, perm: u32) -> Result<(), CpioError> {
        self.entry(name, S_IFDIR | (perm & 0o7777), 2, (0, 0), &[])
    }

    /// A regular file with `data`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<(), CpioError> {
        self.entry(name, S_IFREG | (perm & 0o7777), 1, (0, 0), data)
    }

    /// A character device node (`/dev/console` is 5:1, `/dev/null` 1:3).
    pub fn char_dev(
        &mut self,
        name: &str,
        perm: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), CpioError> {
        self.entry(name, S_IFCHR | (perm & 0o7777), 1, (major, minor), &[])
    }

    /// A symbolic link to `target` (stored as the entry's data).
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<(), CpioError> {
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes())
    }

    /// Append the trailer and return the archive's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        // The trailer's name is fixed and valid, its size zero: this cannot fail.
        let _ = self.raw_entry(TRAILER, 0, 1, (0, 0), &[], 0);
        self.buf
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> Result<(), CpioError> {
        if name.is_empty() || name.starts_with('/') || name.contains('\0') || name == TRAILER {
            return Err(CpioError::BadName(name.to_string()));
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.raw_entry(name, mode, nlink, rdev, data, ino)
    }

    fn raw_entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        (rmaj, rmin): (u32, u32),
        data: &[u8],
        ino: u32,
    ) -> Result<(), CpioError> {
        let size = u32::try_from(data.len()).map_err(|_| CpioError::TooLarge {
            name: name.to_string(),
            len: data.len(),
        })?;
        let namesize = name.len() + 1;
        let namesize32 = u32::try_from(namesize).map_err(|_| CpioError::TooLarge {
            name: name.to_string(),
            len: namesize,
        })?;
        let fields = [
            ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, namesize32, 0,
        ];
        self.buf.extend_from_slice(MAGIC);
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        pad4(&mut self.buf);
        self.buf.extend_from_slice(data);
        pad4(&mut self.buf);
        Ok(())
    }
}

fn pad4(buf: &mut Vec<u8>) {
    while buf.len() & 3 != 0 {
        buf.push(0);
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Read a newc archive back (up to its trailer). Used by the tests and to check an
/// initramfs before a boot is spent on it.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, CpioError> {
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let bad = |what: &str| CpioError::Malformed {
            offset: off,
            what: what.to_string(),
        };
        let header = bytes
            .get(off..off + HEADER_LEN)
            .ok_or_else(|| bad("truncated header (no TRAILER!!! entry?)"))?;
        if &header[..6] != MAGIC {
            return Err(bad("magic is not 070701 (newc)"));
        }
        let mut fields = [0u32; 13];
        for (i, f) in fields.iter_mut().enumerate() {
            let hex = std::str::from_utf8(&header[6 + i * 8..14 + i * 8])
                .map_err(|_| bad("header field is not ASCII"))?;
            *f = u32::from_str_radix(hex, 16)
                .map_err(|_| bad(&format!("header field {i} {hex:?} is not hexadecimal")))?;
        }
        let [_ino, mode, uid, gid, nlink, _mtime, size, _maj, _min, rmaj, rmin, namesize, _check] =
            fields;
        let name_start = off + HEADER_LEN;
        let name_end = name_start + namesize as usize;
        let raw_name = bytes
            .get(name_start..name_end)
            .ok_or_else(|| bad("truncated name"))?;
        let (last, name) = raw_name
            .split_last()
            .ok_or_else(|| bad("name size is zero"))?;
        if *last != 0 {
            return Err(bad("name is not NUL-terminated"));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let data_start = align4(name_end);
        let data_end = data_start + size as usize;
        let data = bytes
            .get(data_start..data_end)
            .ok_or_else(|| bad("truncated data"))?
            .to_vec();
        off = align4(data_end);
        if name == TRAILER {
            return Ok(out);
        }
        out.push(Entry {
            name,
            mode,
            uid,
            gid,
            nlink,
            rdev_major: rmaj,
            rdev_minor: rmin,
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.dir("dev", 0o755).expect("dir");
        w.char_dev("dev/console", 0o600, 5, 1).expect("chr");
        w.file("init", 0o755, b"hello, odd length").expect("file");
        w.file("empty", 0o644, b"").expect("file");
        w.symlink("sbin", "init").expect("symlink");
        w.finish()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        assert_eq!(bytes.len() % 4, 0);
        let e = parse(&bytes).expect("parse");
        let names: Vec<&str> = e.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "empty", "sbin"]);
        assert_eq!(e[0].file_type(), S_IFDIR);
        assert_eq!(e[0].mode & 0o7777, 0o755);
        assert_eq!(e[1].file_type(), S_IFCHR);
        assert_eq!((e[1].rdev_major, e[1].rdev_minor), (5, 1));
        assert_eq!(e[2].file_type(), S_IFREG);
        assert_eq!(e[2].data, b"hello, odd length");
        assert!(e[3].data.is_empty());
        assert_eq!(e[4].file_type(), S_IFLNK);
        assert_eq!(e[4].data, b"init");
        assert!(e.iter().all(|x| x.uid == 0 && x.gid == 0));
    }

    #[test]
    fn header_layout_is_newc() {
        let mut w = Writer::new();
        w.file("a", 0o644, b"xyz").expect("file");
        let b = w.finish();
        // magic, ino=1, mode=0100644, uid, gid, nlink=1, mtime, filesize=3, ...
        let h = std::str::from_utf8(&b[..110]).expect("ascii header");
        assert_eq!(&h[..6], "070701");
        assert_eq!(&h[6..14], "00000001");
        assert_eq!(&h[14..22], "000081a4");
        assert_eq!(&h[38..46], "00000001");
        assert_eq!(&h[54..62], "00000003");
        assert_eq!(&h[94..102], "00000002"); // namesize "a\0"
                                             // name at 110..112, padded to 112; data at 112..115, padded to 116.
        assert_eq!(&b[110..112], b"a\0");
        assert_eq!(&b[112..115], b"xyz");
        assert_eq!(&b[116..122], b"070701");
    }

    #[test]
    fn rejects_bad_names_and_truncation() {
        let mut w = Writer::new();
        assert!(matches!(
            w.file("/abs", 0o644, b""),
            Err(CpioError::BadName(_))
        ));
        assert!(matches!(w.dir("", 0o755), Err(CpioError::BadName(_))));
        assert!(matches!(w.dir("a\0b", 0o755), Err(CpioError::BadName(_))));
        assert!(matches!(w.dir(TRAILER, 0o755), Err(CpioError::BadName(_))));
        let bytes = sample();
        assert!(matches!(
            parse(&bytes[..bytes.len() - 120]),
            Err(CpioError::Malformed { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'9';
        assert!(matches!(
            parse(&bad),
            Err(CpioError::Malformed { offset: 0, .. })
        ));
    }

    /// Cross-check with GNU cpio when the host has it.
    #[test]
    fn gnu_cpio_lists_it() {
        if crate::subprocess::which("cpio").is_none() {
            eprintln!("skipping: cpio(1) is not installed (apt-get install cpio); the round-trip test covers the format");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.cpio");
        std::fs::write(&path, sample()).expect("write");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("cpio -t < {}", path.display()))
            .output()
            .expect("cpio -t");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = String::from_utf8_lossy(&out.stdout);
        let names: Vec<&str> = listed.lines().collect();
        assert_eq!(names, ["dev", "dev/console", "init", "empty", "sbin"]);
    }
}

//! Content hashes a cache names its files by: sha256 for LFS/Xet blobs, git's blob sha1
//! (`sha1("blob <len>\0" + bytes)`) for regular git files.
//!
//! The algorithm follows from the expected id alone (64 hex digits or 40), which is how
//! huggingface_hub names blobs by their ETag. Streaming implementations live here too,
//! for the builds that hash inside the module (native, and the `pure-hash` wasm).

use std::io::{self, Read};

use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// Which hash proves a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// sha256 of the bytes (LFS and Xet files).
    Sha256,
    /// sha1 of `"blob <len>\0"` followed by the bytes (regular git files).
    GitSha1,
}

impl Algo {
    /// The algorithm an id of this shape is computed with, if it is an id at all.
    pub fn for_id(id: &str) -> Option<Self> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        match id.len() {
            64 => Some(Self::Sha256),
            40 => Some(Self::GitSha1),
            _ => None,
        }
    }

    /// The wire number of the algorithm in the host ABI.
    pub fn code(self) -> u32 {
        match self {
            Self::Sha256 => 0,
            Self::GitSha1 => 1,
        }
    }

    /// From the wire number.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::Sha256),
            1 => Some(Self::GitSha1),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::GitSha1 => 20,
        }
    }

    /// Its name in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::GitSha1 => "git-sha1",
        }
    }
}

/// A computed digest and how many bytes went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Lower-case hex.
    pub hex: String,
    /// Bytes read (the file's size at the time it was hashed).
    pub bytes: u64,
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Read size for streaming: large enough that the per-call cost vanishes, small enough
/// that a chunk is still in the CPU cache when it is hashed (with 1 MiB chunks the
/// kernel's copy into a cold buffer cost as much as the hash itself).
pub const CHUNK: usize = 128 << 10;

enum State {
    Sha256(Sha256),
    GitSha1(Sha1),
}

/// An incremental digest of content whose length is known up front (git's header needs
/// it): feed it bytes as they arrive, then read the id.
pub struct Hasher(State);

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// A hasher for `len` bytes under `algo`.
    pub fn new(algo: Algo, len: u64) -> Self {
        Self(match algo {
            Algo::Sha256 => State::Sha256(Sha256::new()),
            Algo::GitSha1 => {
                let mut h = Sha1::new();
                h.update(format!("blob {len}\0").as_bytes());
                State::GitSha1(h)
            }
        })
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Sha256(h) => h.update(bytes),
            State::GitSha1(h) => h.update(bytes),
        }
    }

    /// The lower-case hex id.
    pub fn finish(self) -> String {
        match self.0 {
            State::Sha256(h) => to_hex(&h.finalize()),
            State::GitSha1(h) => to_hex(&h.finalize()),
        }
    }
}

/// Hashes `reader`, whose length is `len` (git's header needs it up front). A reader
/// that yields a different number of bytes (a file changing under us) still gets a
/// digest, over what was read; the caller compares [`FileDigest::bytes`].
pub fn hash_reader(algo: Algo, len: u64, reader: impl Read) -> io::Result<FileDigest> {
    hash_reader_with(algo, len, reader, &mut vec![0u8; CHUNK], &mut |_| {})
}

/// [`hash_reader`] with a caller's buffer and a callback per chunk read (progress).
pub fn hash_reader_with(
    algo: Algo,
    len: u64,
    mut reader: impl Read,
    buf: &mut [u8],
    on_chunk: &mut dyn FnMut(u64),
) -> io::Result<FileDigest> {
    let mut hasher = Hasher::new(algo, len);
    let mut total = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        on_chunk(n as u64);
        hasher.update(&buf[..n]);
    }
    Ok(FileDigest {
        hex: hasher.finish(),
        bytes: total,
    })
}

/// The id huggingface_hub would name `bytes` by under `algo`.
pub fn id_of(algo: Algo, bytes: &[u8]) -> String {
    hash_reader(algo, bytes.len() as u64, bytes)
        .map(|d| d.hex)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_follow_the_id_shape() {
        assert_eq!(Algo::for_id(&"a".repeat(64)), Some(Algo::Sha256));
        assert_eq!(Algo::for_id(&"0".repeat(40)), Some(Algo::GitSha1));
        assert_eq!(Algo::for_id("abc"), None);
        assert_eq!(Algo::for_id(&"g".repeat(64)), None);
        assert_eq!(
            Algo::for_id(&format!("{}.incomplete", "a".repeat(64))),
            None
        );
    }

    #[test]
    fn known_digests() {
        // `echo -n hello | sha256sum`; `echo -n hello | git hash-object --stdin`.
        assert_eq!(
            id_of(Algo::Sha256, b"hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(
            id_of(Algo::GitSha1, b"hello"),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        assert_eq!(
            id_of(Algo::GitSha1, b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn counts_what_it_read() {
        let d = hash_reader(Algo::Sha256, 3, &b"abcdef"[..]).unwrap();
        assert_eq!(d.bytes, 6);
    }
}

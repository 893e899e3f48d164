//! Folder listings the host answers in one call (`mlxk_host_v1.list_dirs`): for many
//! folders at once, every entry's name, kind, size, mtime and, for a link, its text.
//!
//! Under WASI preview1 a listing costs the runtime a `stat` per entry, and every `lstat`
//! or `readlink` the guest then makes costs two or three more host calls; one batched
//! answer costs about what `find` pays (one `statx` per file, one `readlinkat` per link),
//! and the host may list folders in parallel. The host only reads: what the entries mean
//! is decided here, from the same rules as the per-name calls (a listed folder is a real
//! folder reached without following any link; links are never followed; a link's own
//! `stat` is not taken, so `lstat` of a link falls back to the per-name call).
//!
//! # Wire format (all integers little-endian)
//!
//! Request: records `flags: u32` (bit 0: also every real sub-folder, recursively),
//! `path_len: u32`, `path` (the capability path rule: relative, `/`-separated, no empty,
//! `.` or `..` component).
//!
//! Answer: records `path_len: u32`, `path`, `status: u32` (the capability status; 0 ok),
//! `count: u32`, then `count` entries: `kind: u8` (0 file, 1 folder, 2 link, 3 other),
//! `has_stat: u8`, `name_len: u16`, `size: u64`, `mtime_ns: i64` (`i64::MIN`: unknown),
//! `link_len: u32` (`u32::MAX`: no link text), `name`, `link`. A recursive request
//! answers the folder's record, then its sub-folders' records, depth first. A folder
//! with a name that is not UTF-8 in it answers status 4 (the per-name path says why).

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use super::{Kind, Stat};
use crate::capability::CapError;

/// One entry of a listed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The entry's name.
    pub name: String,
    /// What it is, not following it.
    pub kind: Kind,
    /// Its `lstat` (not taken for links).
    pub stat: Option<Stat>,
    /// A link's text, when the host could read it.
    pub link: Option<String>,
}

/// A listed folder: its entries sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    entries: Vec<Listed>,
}

impl Listing {
    /// A listing of these entries (sorted here).
    pub fn new(mut entries: Vec<Listed>) -> Self {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Self { entries }
    }

    /// Every entry, sorted by name.
    pub fn entries(&self) -> &[Listed] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Listed> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

/// A request record.
pub fn encode_request(out: &mut Vec<u8>, path: &str, recursive: bool) {
    out.extend_from_slice(&u32::from(recursive).to_le_bytes());
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
}

/// The records of a request: `(path, recursive)`; `None` when it is truncated.
pub fn decode_request(mut bytes: &[u8]) -> Option<Vec<(String, bool)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let flags = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?) as usize;
        let path = bytes.get(8..8 + len)?;
        // A path that is not UTF-8 is kept as an empty one, which the path rule refuses.
        out.push((
            String::from_utf8(path.to_vec()).unwrap_or_default(),
            flags & 1 == 1,
        ));
        bytes = &bytes[8 + len..];
    }
    Some(out)
}

/// An answer record: the listing of `path`, or why there is none.
pub fn encode_answer(out: &mut Vec<u8>, path: &str, result: Result<&[Listed], CapError>) {
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    let entries = match result {
        Ok(entries) => entries,
        Err(e) => {
            out.extend_from_slice(&e.code().to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            return;
        }
    };
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.push(match e.kind {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
            Kind::Other => 3,
        });
        out.push(u8::from(e.stat.is_some()));
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        let (size, mtime) = e.stat.map_or((0, i64::MIN), |s| {
            let ns = s
                .modified
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_nanos()).ok())
                .unwrap_or(i64::MIN);
            (s.size, ns)
        });
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&mtime.to_le_bytes());
        let link_len = e.link.as_ref().map_or(u32::MAX, |l| l.len() as u32);
        out.extend_from_slice(&link_len.to_le_bytes());
        out.extend_from_slice(e.name.as_bytes());
        if let Some(l) = &e.link {
            out.extend_from_slice(l.as_bytes());
        }
    }
}

/// The listings of an answer by folder path; folders the host could not list are left
/// out (the per-name calls then say why). `None` when the answer is malformed.
pub fn decode_answer(mut bytes: &[u8]) -> Option<HashMap<String, Listing>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    fn u32_of(bytes: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?))
    }
    fn text(bytes: &mut &[u8], n: usize) -> Option<String> {
        String::from_utf8(take(bytes, n)?.to_vec()).ok()
    }
    let mut out = HashMap::new();
    while !bytes.is_empty() {
        let len = u32_of(&mut bytes)? as usize;
        let path = text(&mut bytes, len)?;
        let status = u32_of(&mut bytes)?;
        let count = u32_of(&mut bytes)? as usize;
        let mut entries = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            let head = take(&mut bytes, 24)?;
            let kind = match head[0] {
                0 => Kind::File,
                1 => Kind::Dir,
                2 => Kind::Symlink,
                _ => Kind::Other,
            };
            let has_stat = head[1] == 1;
            let name_len = usize::from(u16::from_le_bytes(head[2..4].try_into().ok()?));
            let size = u64::from_le_bytes(head[4..12].try_into().ok()?);
            let mtime = i64::from_le_bytes(head[12..20].try_into().ok()?);
            let link_len = u32::from_le_bytes(head[20..24].try_into().ok()?);
            let name = text(&mut bytes, name_len)?;
            let link = if link_len == u32::MAX {
                None
            } else {
                Some(text(&mut bytes, link_len as usize)?)
            };
            let modified = u64::try_from(mtime)
                .ok()
                .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns));
            entries.push(Listed {
                name,
                kind,
                stat: has_stat.then_some(Stat {
                    kind,
                    size,
                    modified,
                }),
                link,
            });
        }
        if status == 0 {
            out.insert(path, Listing::new(entries));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        let entries = vec![
            Listed {
                name: "b".into(),
                kind: Kind::Symlink,
                stat: None,
                link: Some("../../blobs/x".into()),
            },
            Listed {
                name: "a".into(),
                kind: Kind::File,
                stat: Some(Stat {
                    kind: Kind::File,
                    size: 7,
                    modified: Some(UNIX_EPOCH + Duration::from_nanos(1_234_567_891)),
                }),
                link: None,
            },
        ];
        let mut wire = Vec::new();
        encode_answer(&mut wire, "m/snapshots/c", Ok(&entries));
        encode_answer(&mut wire, "m/blobs", Err(CapError::Refused));
        let back = decode_answer(&wire).unwrap();
        assert_eq!(back.len(), 1, "a refused folder is left out");
        let listing = &back["m/snapshots/c"];
        assert_eq!(listing.entries()[0].name, "a");
        assert_eq!(listing.get("a").unwrap().stat, entries[1].stat);
        assert_eq!(
            listing.get("b").unwrap().link.as_deref(),
            Some("../../blobs/x")
        );
        assert!(listing.get("c").is_none());
        assert!(decode_answer(&wire[..wire.len() - 1]).is_none());
    }

    #[test]
    fn requests_round_trip() {
        let mut wire = Vec::new();
        encode_request(&mut wire, "m/snapshots", true);
        encode_request(&mut wire, "m/blobs", false);
        assert_eq!(
            decode_request(&wire).unwrap(),
            [
                ("m/snapshots".to_owned(), true),
                ("m/blobs".to_owned(), false)
            ]
        );
        assert!(decode_request(&wire[..5]).is_none());
    }
}

//! The host side of `mlxk_host_v1.list_dirs` (format: `core_wasm::fs::listing`): many
//! cache folders listed in one call, on a thread per core. It only reads, and only
//! through the cap-std handle on the cache: every folder on a path is opened without
//! following a link (a linked folder is refused, as the guest's own reads refuse it),
//! entries are `lstat`ed, links are read, never followed.

use std::path::Path;

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;
use core_wasm::capability::{self, CapError};
use core_wasm::fs::listing::{self, Listed};
use core_wasm::fs::{Kind, Stat};

/// Folders nested deeper than this are not descended (the guest stops earlier).
const MAX_DEPTH: usize = 64;
/// Most threads listing at once.
const MAX_THREADS: usize = 8;

/// The answer to a request, records in request order (a recursive folder's sub-folders
/// follow it, depth first).
pub fn list_dirs(root: &Dir, request: &[(String, bool)]) -> Vec<u8> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_THREADS)
        .min(request.len().max(1));
    if threads <= 1 {
        let mut out = Vec::new();
        for (path, recursive) in request {
            answer(root, path, *recursive, &mut out);
        }
        return out;
    }
    // Contiguous parts, one per thread, joined in order.
    let per = request.len().div_ceil(threads);
    let parts: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = request
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (path, recursive) in part {
                        answer(root, path, *recursive, &mut out);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    parts.concat()
}

/// One requested folder's records.
fn answer(root: &Dir, path: &str, recursive: bool, out: &mut Vec<u8>) {
    if !capability::is_valid_path(path) {
        listing::encode_answer(out, path, Err(CapError::Refused));
        return;
    }
    match open(root, path) {
        Ok(dir) => list_into(&dir, path, recursive, 0, out),
        Err(e) => listing::encode_answer(out, path, Err(e)),
    }
}

/// Opens `path` one component at a time, refusing a link anywhere on it.
fn open(root: &Dir, path: &str) -> Result<Dir, CapError> {
    let mut parts = path.split('/');
    let first = parts.next().ok_or(CapError::Refused)?;
    let mut dir = open_child(root, first)?;
    for part in parts {
        dir = open_child(&dir, part)?;
    }
    Ok(dir)
}

/// The real folder `name` in `dir`: a link there is refused (Linux says ENOTDIR or ELOOP
/// for `O_NOFOLLOW | O_DIRECTORY` on a link; its `lstat` says which it was).
fn open_child(dir: &Dir, name: &str) -> Result<Dir, CapError> {
    dir.open_dir_nofollow(name)
        .map_err(|e| match dir.symlink_metadata(name) {
            Ok(m) if m.file_type().is_symlink() => CapError::Refused,
            Ok(m) if !m.is_dir() => CapError::NotAFile,
            _ => CapError::from_io(&e),
        })
}

fn list_into(dir: &Dir, path: &str, recursive: bool, depth: usize, out: &mut Vec<u8>) {
    let entries = match entries(dir) {
        Ok(e) => e,
        Err(e) => {
            listing::encode_answer(out, path, Err(e));
            return;
        }
    };
    listing::encode_answer(out, path, Ok(&entries));
    if !recursive || depth >= MAX_DEPTH {
        return;
    }
    for e in entries.iter().filter(|e| e.kind == Kind::Dir) {
        let sub = format!("{path}/{}", e.name);
        match open_child(dir, &e.name) {
            Ok(child) => list_into(&child, &sub, true, depth + 1, out),
            Err(err) => listing::encode_answer(out, &sub, Err(err)),
        }
    }
}

/// Every entry but `.` and `..`; a name that is not UTF-8 fails the folder (the guest's
/// own listing says why).
fn entries(dir: &Dir) -> Result<Vec<Listed>, CapError> {
    let mut out = Vec::new();
    for entry in dir.entries().map_err(|e| CapError::from_io(&e))? {
        let entry = entry.map_err(|e| CapError::from_io(&e))?;
        let name = entry.file_name().into_string().map_err(|_| CapError::Io)?;
        let file_type = entry.file_type().map_err(|e| CapError::from_io(&e))?;
        let kind = if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        let (stat, link) = if kind == Kind::Symlink {
            // The text as stored (absolute ones too: the guest decides they escape).
            let link = dir
                .read_link_contents(Path::new(&name))
                .ok()
                .and_then(|t| t.into_os_string().into_string().ok());
            (None, link)
        } else {
            // Vanished since the listing: left for the per-name call to report.
            let stat = entry.metadata().ok().map(|m| Stat {
                kind,
                size: m.len(),
                modified: m.modified().ok().map(cap_std::time::SystemTime::into_std),
            });
            (stat, None)
        };
        out.push(Listed {
            name,
            kind,
            stat,
            link,
        });
    }
    Ok(out)
}

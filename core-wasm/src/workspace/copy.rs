//! Copying model files into a workspace: regular files only, byte for byte, with the
//! source's mtime, never a link or a hard link (editing a workspace can never change the
//! cache it came from). Both sides are sandboxed folders; nothing is followed out of them.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::SystemTime;

use crate::fs::CacheFs;

/// Bytes read and written per call (large enough that the WASI call cost vanishes).
const CHUNK: usize = 4 << 20;

/// Copies the regular file `from` (in `src`) to the new file `to` (in `dst`), creating
/// `to`'s folders; returns the bytes copied. `to` must not exist.
pub fn copy_file(
    src: &CacheFs,
    from: &Path,
    dst: &CacheFs,
    to: &Path,
    modified: Option<SystemTime>,
    buf: &mut Vec<u8>,
) -> io::Result<u64> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        dst.create_dirs(parent)?;
    }
    let mut input = src.open_file(from)?;
    let mut output = dst.create_file(to)?;
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut total = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        output.write_all(&buf[..n])?;
        total += n as u64;
    }
    output.sync_all()?;
    if let Some(t) = modified {
        // 2.0.8 copies with `shutil.copy2`: the workspace keeps the blobs' mtimes. A file
        // system that cannot set times still has the right bytes.
        let _ = output.set_modified(t);
    }
    Ok(total)
}

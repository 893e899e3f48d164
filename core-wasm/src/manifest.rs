//! The files that describe a model: config.json, tokenizer files, the README front matter,
//! safetensors indexes. Read bounded, parsed once, never read whole when large.

use std::path::Path;

use serde_json::{Map, Value};

use crate::fs::CacheFs;
use crate::snapshot::Manifest;

/// Largest JSON file (config, index, tokenizer_config) parsed; larger ones are invalid.
pub const MAX_JSON_BYTES: usize = 32 << 20;
/// How much of README.md is read to find its front matter.
pub const MAX_README_BYTES: usize = 64 << 10;
/// Bytes scanned per read when probing a large file for a literal.
const PROBE_CHUNK: usize = 256 << 10;

/// A JSON file of the snapshot, as far as it could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonFile {
    /// Not present (or a link that leads nowhere).
    Missing,
    /// Present but not JSON.
    Invalid,
    /// Larger than [`MAX_JSON_BYTES`]: not parsed.
    TooLarge(u64),
    /// Present but the read failed (permissions, I/O).
    Unreadable(String),
    /// Parsed.
    Parsed(Value),
}

/// Why a JSON file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON.
    Invalid,
    /// Over the size limit.
    TooLarge(u64),
    /// The read failed.
    Unreadable(String),
}

impl JsonFile {
    /// Reads and parses `path` of the manifest.
    pub fn load(fs: &CacheFs, manifest: &Manifest, path: &str) -> Self {
        let Some(entry) = manifest.get(path) else {
            return Self::Missing;
        };
        // Never opened: a FIFO blocks a reader until someone writes, a device never ends.
        if entry.state == crate::fs::Resolved::Special {
            return Self::Unreadable("not a regular file: a FIFO, socket or device".into());
        }
        let (Some(real), size) = (entry.real_path(), entry.file_size()) else {
            return Self::Missing;
        };
        match read_json_sized(fs, real, size) {
            Ok(v) => Self::Parsed(v),
            Err(JsonError::Invalid) => Self::Invalid,
            Err(JsonError::TooLarge(n)) => Self::TooLarge(n),
            Err(JsonError::Unreadable(e)) => Self::Unreadable(e),
        }
    }

    /// Why the file is unusable, in the words health reports (`None` when parsed or
    /// missing; `Invalid` is left to the caller's reference wording).
    pub fn problem(&self, name: &str) -> Option<String> {
        match self {
            Self::TooLarge(n) => Some(format!(
                "{name} too large to check ({n} bytes, limit {MAX_JSON_BYTES})"
            )),
            Self::Unreadable(e) => Some(format!("{name} unreadable ({e})")),
            _ => None,
        }
    }

    /// The parsed top-level object, if it is one.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        match self {
            Self::Parsed(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Whether the file is present in any form.
    pub fn exists(&self) -> bool {
        !matches!(self, Self::Missing)
    }
}

/// Reads and parses a JSON file at a link-free cache path (its size known from the
/// manifest when `size` is given), refusing oversized files.
pub fn read_json_sized(fs: &CacheFs, real: &Path, size: Option<u64>) -> Result<Value, JsonError> {
    if let Some(n) = size.filter(|s| *s > MAX_JSON_BYTES as u64) {
        return Err(JsonError::TooLarge(n));
    }
    let bytes = match size {
        Some(_) => fs.read_prefix_sized(real, MAX_JSON_BYTES + 1, size),
        None => fs.read_prefix(real, MAX_JSON_BYTES + 1),
    }
    .map_err(|e| JsonError::Unreadable(crate::fs::describe(&e)))?;
    if bytes.len() > MAX_JSON_BYTES {
        return Err(JsonError::TooLarge(bytes.len() as u64));
    }
    serde_json::from_slice(&bytes).map_err(|_| JsonError::Invalid)
}

/// The model's config.json and the other small descriptors classification needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    /// config.json
    pub config: JsonFile,
    /// tokenizer_config.json
    pub tokenizer_config: JsonFile,
    /// preprocessor_config.json
    pub preprocessor: JsonFile,
    /// processor_config.json
    pub processor: JsonFile,
    /// `chat_template` found in tokenizer.json (probed, not parsed, when large).
    pub tokenizer_json_chat_template: bool,
    /// README.md front matter says MLX.
    pub readme_says_mlx: bool,
}

impl ModelFiles {
    /// Loads the descriptors present in a manifest.
    pub fn load(fs: &CacheFs, manifest: &Manifest) -> Self {
        let tokenizer_config = JsonFile::load(fs, manifest, "tokenizer_config.json");
        let has_tc_template = chat_template_in(tokenizer_config.object());
        Self {
            config: JsonFile::load(fs, manifest, "config.json"),
            preprocessor: JsonFile::load(fs, manifest, "preprocessor_config.json"),
            processor: JsonFile::load(fs, manifest, "processor_config.json"),
            // tokenizer.json only matters when tokenizer_config.json has no template.
            tokenizer_json_chat_template: !has_tc_template && probe_tokenizer_json(fs, manifest),
            readme_says_mlx: readme_says_mlx(fs, manifest),
            tokenizer_config,
        }
    }

    /// The config object, if config.json parsed to one.
    pub fn config(&self) -> Option<&Map<String, Value>> {
        self.config.object()
    }

    /// `config.model_type` as a string.
    pub fn config_model_type(&self) -> Option<&str> {
        self.config()?.get("model_type")?.as_str()
    }

    /// Whether some tokenizer file carries a non-empty chat template.
    pub fn has_chat_template(&self) -> bool {
        chat_template_in(self.tokenizer_config.object()) || self.tokenizer_json_chat_template
    }

    /// The preprocessor descriptor that applies (preprocessor_config.json wins).
    pub fn preprocessor(&self) -> Option<&Map<String, Value>> {
        self.preprocessor
            .object()
            .or_else(|| self.processor.object())
    }
}

fn chat_template_in(obj: Option<&Map<String, Value>>) -> bool {
    obj.and_then(|o| o.get("chat_template"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// tokenizer.json can be many MB: look for the literal `"chat_template"` in chunks, and
/// parse only when it is there (the reference's byte gate).
fn probe_tokenizer_json(fs: &CacheFs, manifest: &Manifest) -> bool {
    let Some(entry) = manifest.get("tokenizer.json") else {
        return false;
    };
    let (Some(real), size) = (entry.real_path(), entry.file_size()) else {
        return false;
    };
    if !file_contains(fs, real, size, b"\"chat_template\"") {
        return false;
    }
    read_json_sized(fs, real, size)
        .ok()
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|o| chat_template_in(Some(o)))
}

/// Streams a file looking for `needle`, holding at most one chunk (sized to the file
/// when its size is known, so small files cost a small buffer).
pub fn file_contains(fs: &CacheFs, real: &Path, size: Option<u64>, needle: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut file) = fs.open_file(real) else {
        return false;
    };
    let chunk = size.map_or(PROBE_CHUNK, |s| {
        usize::try_from(s)
            .unwrap_or(PROBE_CHUNK)
            .clamp(1, PROBE_CHUNK)
    });
    let mut buf = vec![0u8; chunk + needle.len()];
    let mut carry = 0;
    loop {
        let Ok(n) = file.read(&mut buf[carry..]) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        let filled = carry + n;
        if buf[..filled].windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        carry = (needle.len() - 1).min(filled);
        buf.copy_within(filled - carry..filled, 0);
    }
}

/// README.md front matter with `library_name: mlx`, or `mlx` among its tags.
fn readme_says_mlx(fs: &CacheFs, manifest: &Manifest) -> bool {
    let Some(entry) = manifest.get("README.md") else {
        return false;
    };
    let Some(real) = entry.real_path() else {
        return false;
    };
    let Ok(bytes) = fs.read_prefix_sized(real, MAX_README_BYTES, entry.file_size()) else {
        return false;
    };
    front_matter_says_mlx(&String::from_utf8_lossy(&bytes))
}

/// Parses the `---` block at the very top of a model card for the MLX markers.
pub fn front_matter_says_mlx(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return false;
    }
    let mut in_tags = false;
    for line in lines {
        let trimmed = line.trim();
        if trimmed == "---" {
            break;
        }
        let unquote = |s: &str| {
            s.trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_lowercase()
        };
        if let Some((key, value)) = line.split_once(':')
            && !line.starts_with([' ', '\t', '-'])
        {
            let key = key.trim();
            in_tags = false;
            if key == "library_name" && unquote(value) == "mlx" {
                return true;
            }
            if key == "tags" {
                let value = value.trim();
                if let Some(inline) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
                    if inline.split(',').any(|t| unquote(t) == "mlx") {
                        return true;
                    }
                } else if value.is_empty() {
                    in_tags = true;
                }
            }
        } else if in_tags
            && let Some(item) = trimmed.strip_prefix('-')
            && unquote(item) == "mlx"
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_markers() {
        assert!(front_matter_says_mlx("---\nlibrary_name: mlx\n---\n# x"));
        assert!(front_matter_says_mlx("---\ntags: [a, MLX]\n---\n"));
        assert!(front_matter_says_mlx(
            "---\nlicense: mit\ntags:\n- text\n- mlx\n---\n"
        ));
        assert!(front_matter_says_mlx("---\ntags:\n  - \"mlx\"\n---\n"));
        assert!(!front_matter_says_mlx(
            "# title\n---\nlibrary_name: mlx\n---\n"
        ));
        assert!(!front_matter_says_mlx(
            "---\nlibrary_name: transformers\ntags:\n- mlx-lm\n---\n"
        ));
        assert!(!front_matter_says_mlx("---\ntags:\n- a\nother: mlx\n---\n"));
    }
}

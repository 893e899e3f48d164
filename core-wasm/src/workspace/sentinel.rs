//! `.mlxk_workspace.json`, the sentinel `clone` and `convert` write (workspaces-reference
//! §1.3): read tolerantly (missing, unreadable, invalid or not an object is "no metadata",
//! never a crash), written atomically with 2.0.8's key order.

use std::path::Path;

use serde_json::{Map, Value};

use super::exclude::DEFAULT_PATTERNS;
use crate::fs::CacheFs;

/// The sentinel's file name.
pub const FILE_NAME: &str = ".mlxk_workspace.json";
/// The temporary file a write goes through.
pub const TMP_NAME: &str = ".mlxk_workspace.json.tmp";
/// Longest sentinel read (a file index of 100,000 entries is about 20 MB).
const MAX_BYTES: usize = 64 << 20;

/// A parsed sentinel: its object, keys in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sentinel {
    /// The JSON object as read (or being built).
    pub fields: Map<String, Value>,
}

impl Sentinel {
    /// Reads the sentinel of the workspace at `base` (`""` for the root of `fs`); `None`
    /// when there is none that is a JSON object.
    pub fn read(fs: &CacheFs, base: &Path) -> Option<Self> {
        let bytes = fs.read_prefix(&base.join(FILE_NAME), MAX_BYTES).ok()?;
        match serde_json::from_slice::<Value>(&bytes).ok()? {
            Value::Object(fields) => Some(Self { fields }),
            _ => None,
        }
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// `managed` is exactly `true`.
    pub fn managed(&self) -> bool {
        self.fields.get("managed") == Some(&Value::Bool(true))
    }

    /// `source_repo`, shown as the model's `origin`.
    pub fn source_repo(&self) -> Option<&str> {
        self.str_field("source_repo")
    }

    /// The stored `content_hash` (any string: a v1 value is shown as it is).
    pub fn content_hash(&self) -> Option<&str> {
        self.str_field("content_hash")
    }

    /// The stored `hash_modified`.
    pub fn hash_modified(&self) -> Option<&str> {
        self.str_field("hash_modified")
    }

    /// Whether the stored hash is the v2 algorithm's.
    pub fn is_v2(&self) -> bool {
        self.str_field("hash_algorithm") == Some(super::content_hash::ALGORITHM)
    }

    /// The stored exclude list, or the default when missing or not a list of strings.
    pub fn exclude_patterns(&self) -> Vec<String> {
        match self.fields.get("exclude_patterns") {
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => DEFAULT_PATTERNS.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// Sets `key`, keeping its place if present, appending it otherwise (2.0.8's update).
    pub fn set(&mut self, key: &str, value: Value) {
        self.fields.insert(key.to_owned(), value);
    }

    /// The bytes 2.0.8 writes: indented JSON, non-ASCII escaped, a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = crate::json::to_python_json(&Value::Object(self.fields.clone()));
        if out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
        out
    }

    /// Writes through [`TMP_NAME`] and a rename, so a reader sees the old or the new file.
    pub fn write(&self, fs: &CacheFs, base: &Path) -> std::io::Result<()> {
        fs.replace_file_via(
            &base.join(FILE_NAME),
            &base.join(TMP_NAME),
            &self.to_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_is_tolerant() {
        let ws = tempfile::tempdir().unwrap();
        let fs = CacheFs::new(ws.path());
        assert_eq!(Sentinel::read(&fs, Path::new("")), None);
        for junk in ["", "not json", "[1,2]", "\"managed\"", "null"] {
            std::fs::write(ws.path().join(FILE_NAME), junk).unwrap();
            assert_eq!(Sentinel::read(&fs, Path::new("")), None, "{junk:?}");
        }
        std::fs::write(
            ws.path().join(FILE_NAME),
            r#"{"managed": "yes", "source_repo": "org/m", "exclude_patterns": [1], "hash_algorithm": "v2"}"#,
        )
        .unwrap();
        let s = Sentinel::read(&fs, Path::new("")).unwrap();
        assert!(!s.managed(), "only `true` is managed");
        assert_eq!(s.source_repo(), Some("org/m"));
        assert_eq!(s.exclude_patterns().len(), DEFAULT_PATTERNS.len());
        assert!(s.is_v2());
    }

    #[test]
    fn writes_keep_key_order_and_escape_like_python() {
        let ws = tempfile::tempdir().unwrap();
        let fs = CacheFs::new(ws.path());
        let mut s = Sentinel::default();
        s.set("mlxk_version", "2.0.8".into());
        s.set("source_repo", "org/m\u{f6}".into());
        s.set("managed", true.into());
        s.set("mlxk_version", "0.1.0".into());
        s.write(&fs, Path::new("")).unwrap();
        let text = std::fs::read_to_string(ws.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            text,
            "{\n  \"mlxk_version\": \"0.1.0\",\n  \"source_repo\": \"org/m\\u00f6\",\n  \"managed\": true\n}\n"
        );
        assert!(!ws.path().join(TMP_NAME).exists());
        assert_eq!(Sentinel::read(&fs, Path::new("")), Some(s));
    }
}

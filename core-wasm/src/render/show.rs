//! The `show` text (reference §7.4), including Python-style value printing for `--config`.

use serde_json::Value;

use super::humanize_size;
use crate::json::python_float_repr;
use crate::protocol::ShowData;
use crate::time::human_age;

/// Renders a show result.
pub fn text(data: &ShowData, now: i64) -> String {
    let m = &data.model;
    let mut out = String::new();
    match &m.hash {
        Some(h) => out.push_str(&format!("Model: {}@{}\n", m.name, &h[..7.min(h.len())])),
        None => out.push_str(&format!("Model: {}\n", m.name)),
    }
    out.push_str(&format!("Framework: {}\n", m.framework));
    out.push_str(&format!("Type: {}\n", m.model_type));
    let caps = if m.capabilities.is_empty() {
        "-".to_owned()
    } else {
        m.capabilities.join(", ")
    };
    out.push_str(&format!("Capabilities: {caps}\n"));
    let quant = m
        .quantization
        .as_ref()
        .and_then(|q| {
            let bits = q.get("bits")?;
            let group = q
                .get("group_size")
                .map(py_repr)
                .unwrap_or_else(|| "None".into());
            Some(format!("{}-bit (group_size={group})", py_repr(bits)))
        })
        .unwrap_or_else(|| "-".into());
    out.push_str(&format!("Quantization: {quant}\n"));
    out.push_str(&format!("Size: {}\n", humanize_size(m.size_bytes)));
    out.push_str(&format!("Modified: {}\n", human_age(&m.last_modified, now)));
    let health = match (m.health, m.runtime_compatible) {
        ("healthy", true) => "healthy",
        ("healthy", false) => "healthy (files OK, runtime incompatible)",
        _ => "unhealthy",
    };
    out.push_str(&format!("Health: {health}\n"));
    if let Some(reason) = &m.reason {
        out.push_str(&format!("Reason: {reason}\n"));
    }
    if let Some(files) = &data.files {
        out.push_str("\nFiles:\n");
        for f in files {
            out.push_str(&format!("  - {} ({}, {})\n", f.path, f.kind, f.size));
        }
    } else if let Some(config) = &data.config {
        out.push_str("\nConfig:\n");
        if let Value::Object(map) = config {
            for (k, v) in map {
                out.push_str(&format!("  {k}: {}\n", py_str(v)));
            }
        }
    } else if let Some(meta) = &data.metadata {
        out.push_str("\nMetadata:\n");
        for (k, v) in meta {
            out.push_str(&format!("  {k}: {}\n", py_str(v)));
        }
    }
    out
}

/// Python's `str()` of a JSON value: strings bare, everything else as `repr`.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a JSON value as `json.load` returns it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => python_float_repr(f)
                .replace("Infinity", "inf")
                .replace("NaN", "nan"),
            _ => n.to_string(),
        },
        Value::String(s) => py_str_repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's string repr: single quotes unless the text has `'` and no `"`.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The `Workspace:` block 2.0.8 appends for a workspace whose sentinel names its source
/// (workspaces-reference §1.8); empty otherwise.
pub fn workspace_block(
    sentinel: Option<&crate::workspace::sentinel::Sentinel>,
    clean: &crate::workspace::clean::Clean,
) -> String {
    use crate::workspace::clean::Clean;
    let Some(s) = sentinel else {
        return String::new();
    };
    let Some(source) = s.source_repo().filter(|r| !r.is_empty()) else {
        return String::new();
    };
    let text = |key: &str| s.fields.get(key).and_then(Value::as_str).unwrap_or("-");
    let mut out = format!("\nWorkspace:\n  Source: {source}\n");
    out.push_str(&format!("  Operation: {}\n", text("operation")));
    out.push_str(&format!("  Created: {}\n", text("created_at")));
    let clean_line = match clean {
        Clean::Clean => "\u{2713}",
        Clean::Dirty => "\u{2717} (workspace modified since clone)",
        Clean::Unknown | Clean::Corrupt(_) => "\u{2014} (run with --recalc-hash to migrate to v2)",
    };
    out.push_str(&format!("  Clean: {clean_line}\n"));
    if let Some(hash) = s.content_hash() {
        let shown: String = hash.chars().take(23).collect();
        out.push_str(&format!("  Content Hash: {shown}...\n"));
        out.push_str(&format!("  Hash Modified: {}\n", text("hash_modified")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_like_python() {
        assert_eq!(py_repr(&json!(["Phi3ForCausalLM"])), "['Phi3ForCausalLM']");
        assert_eq!(
            py_repr(&json!({"bits": 4, "group_size": 64})),
            "{'bits': 4, 'group_size': 64}"
        );
        assert_eq!(
            py_repr(&json!([true, null, 1.5, 1e-5])),
            "[True, None, 1.5, 1e-05]"
        );
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_str(&json!("plain")), "plain");
    }
}

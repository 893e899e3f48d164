//! The exact bytes of every `--json` document: Python `json.dumps(obj, indent=2)` output.
//!
//! MLX-Knife prints with Python's defaults, and `jq` pipelines (and byte-for-byte parity
//! tests) depend on them: two-space indentation, `": "` between key and value, `[]`/`{}`
//! for empty containers, every character outside printable ASCII escaped as `\uXXXX`
//! (`ensure_ascii`), floats written the way Python's `repr` writes them, and a trailing
//! newline from `print`. This module owns those rules and nothing else.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

/// Serializes `value` as Python's `json.dumps(value, indent=2)` followed by a newline.
pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    to_python_json_indent(value, b"  ", true)
}

/// Python's `json.dump(value, indent=len(indent))`, with the newline `print` adds when
/// `newline` is set (huggingface_hub writes its tree files with `indent=1` and none).
pub fn to_python_json_indent<T: Serialize + ?Sized>(
    value: &T,
    indent: &'static [u8],
    newline: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    let formatter = PyFormatter {
        pretty: PrettyFormatter::with_indent(indent),
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing our own types into a Vec cannot fail: no map has non-string keys.
    value
        .serialize(&mut ser)
        .expect("protocol values always serialize");
    if newline {
        out.push(b'\n');
    }
    out
}

/// A `PrettyFormatter` that escapes non-ASCII and writes floats like Python.
struct PyFormatter {
    pretty: PrettyFormatter<'static>,
}

impl Formatter for PyFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has already escaped quotes, backslashes and C0 controls; everything
        // else outside ' '..='~' is escaped here, as UTF-16 units like Python does.
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }
}

/// Python's `repr(float)`: the shortest round-trip digits, positional when the decimal
/// exponent is in `-4..16`, otherwise scientific with a signed two-digit exponent.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.25e-7", "3e0".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exp + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if decpt >= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.unsigned_abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_python_repr() {
        for (v, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (0.0, "0.0"),
            (1.5e300, "1.5e+300"),
            (10000.0, "10000.0"),
        ] {
            assert_eq!(python_float_repr(v), s, "{v}");
        }
    }

    #[test]
    fn layout_matches_python_indent_2() {
        let v = json!({"a": [], "b": {}, "c": [1, "x"], "d": null, "é": "m\u{f6}del 😀\u{7f}"});
        let text = String::from_utf8(to_python_json(&v)).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    \"x\"\n  ],\n  \"d\": null,\n  \
             \"\\u00e9\": \"m\\u00f6del \\ud83d\\ude00\\u007f\"\n}\n"
        );
    }

    #[test]
    fn controls_are_escaped_like_python() {
        let text = String::from_utf8(to_python_json(&json!("a\nb\u{1}\t\"\\"))).unwrap();
        assert_eq!(text, "\"a\\nb\\u0001\\t\\\"\\\\\"\n");
    }
}

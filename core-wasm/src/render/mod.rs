//! Human output: pure functions from envelopes to text (reference §7). No I/O here.

pub mod health;
pub mod list;
pub mod show;

/// Decimal size with one decimal place: `84B`, `5.3KB`, `2.1GB` (reference `humanize_size`).
/// A value that rounds to 1000 moves up a unit (`1.0MB`, never `1000.0KB`).
pub fn humanize_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    let mut size = bytes as f64;
    let mut unit = 0;
    while (size >= 1000.0 || (unit > 0 && (size * 10.0).round() >= 10_000.0))
        && unit < UNITS.len() - 1
    {
        size /= 1000.0;
        unit += 1;
    }
    format!("{size:.1}{}", UNITS[unit])
}

/// Width of a cell in code points, as Python's `len`.
fn width(s: &str) -> usize {
    s.chars().count()
}

/// A text table: cells left-justified to the column width, `" | "` between columns, a
/// `-+-` separator line; trailing padding is kept, as the reference prints it.
pub fn table(headers: &[&str], rows: &[Vec<String>], fixed: &[(usize, usize)]) -> String {
    fitted_table(headers, rows, fixed, None)
}

/// Narrowest the first (name) column gets when a table is fitted to a terminal.
const MIN_NAME: usize = 12;

/// [`table`] fitted to `max` columns (a terminal's width): the first column, the names,
/// gives up what the table is too wide by (down to [`MIN_NAME`]), and a name cut short ends
/// in `…`. Without `max`, or when the table fits, nothing changes.
pub fn fitted_table(
    headers: &[&str],
    rows: &[Vec<String>],
    fixed: &[(usize, usize)],
    max: Option<usize>,
) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    for &(col, w) in fixed {
        if let Some(slot) = widths.get_mut(col) {
            *slot = w;
        }
    }
    let total = widths.iter().sum::<usize>() + 3 * widths.len().saturating_sub(1);
    let mut rows = std::borrow::Cow::Borrowed(rows);
    if let (Some(max), Some(first)) = (max, widths.first().copied())
        && total > max
        && first > MIN_NAME
    {
        let name = first.saturating_sub(total - max).max(MIN_NAME);
        widths[0] = name;
        for row in rows.to_mut() {
            if let Some(cell) = row.first_mut()
                && width(cell) > name
            {
                let mut cut: String = cell.chars().take(name - 1).collect();
                cut.push('\u{2026}');
                *cell = cut;
            }
        }
    }
    let rows: &[Vec<String>] = &rows;
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
        }
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().copied());
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&dashes.join("-+-"));
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Greedy word wrap like Python's `textwrap.wrap` (long words are split).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let cur = current.chars().count();
            let room = if cur == 0 {
                width
            } else {
                width.saturating_sub(cur + 1)
            };
            if word.len() <= room {
                if cur > 0 {
                    current.push(' ');
                }
                current.extend(word.iter());
                break;
            }
            if cur > 0 {
                lines.push(std::mem::take(&mut current));
                continue;
            }
            let rest = word.split_off(width.max(1));
            lines.push(word.into_iter().collect());
            word = rest;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_decimal() {
        assert_eq!(humanize_size(0), "0B");
        assert_eq!(humanize_size(84), "84B");
        assert_eq!(humanize_size(999), "999B");
        assert_eq!(humanize_size(5306), "5.3KB");
        assert_eq!(humanize_size(2_100_000_000), "2.1GB");
        // Where the original prints 1000.0KB, the next unit.
        assert_eq!(humanize_size(999_999), "1.0MB");
        assert_eq!(humanize_size(999_949), "999.9KB");
    }

    #[test]
    fn wraps_like_textwrap() {
        assert_eq!(
            wrap("Incompatible framework: PyTorch", 26),
            vec!["Incompatible framework:", "PyTorch"]
        );
        assert_eq!(
            wrap(
                "Vision model missing preprocessor_config.json or processo...",
                26
            ),
            vec![
                "Vision model missing",
                "preprocessor_config.json",
                "or processo..."
            ]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn empty_table_is_header_and_rule() {
        assert_eq!(
            table(&["Name", "Hash"], &[], &[]),
            "Name | Hash\n-----+-----\n"
        );
    }
}

//! The `health` text (reference §7.3), and the findings of `--deep` under each model.

use crate::protocol::HealthData;
use crate::render::humanize_size;

/// `Summary: …` (unless exactly one model), then one line per model; with `--deep`,
/// each model's findings under it and the audit's totals at the end.
pub fn text(data: &HealthData) -> String {
    let mut out = String::new();
    let s = &data.summary;
    if s.total != 1 {
        out.push_str(&format!(
            "Summary: total {}, healthy {}, unhealthy {}\n",
            s.total, s.healthy_count, s.unhealthy_count
        ));
    }
    for (label, entries) in [("healthy  ", &data.healthy), ("unhealthy", &data.unhealthy)] {
        for e in entries {
            let line = format!("{label} {} \u{2014} {}", e.name, e.reason);
            out.push_str(line.trim_end());
            out.push('\n');
            for f in e.deep.iter().flat_map(|d| &d.findings) {
                out.push_str(&format!(
                    "    {:<8} {:<20} {}\n",
                    f.severity, f.kind, f.message
                ));
            }
        }
    }
    if let Some(d) = &data.deep {
        out.push_str(&format!(
            "Deep audit: {} files, {} hashed; {} corrupt, {} partial, {} stale, {} notice\n",
            d.files_hashed,
            humanize_size(d.bytes_hashed),
            d.corrupt,
            d.partial,
            d.stale,
            d.notice
        ));
    }
    out
}

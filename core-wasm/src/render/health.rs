//! The `health` text (reference §7.3).

use crate::protocol::HealthData;

/// `Summary: …` (unless exactly one model), then one line per model.
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
        }
    }
    out
}

//! Timestamps on the wire: true UTC `YYYY-MM-DDTHH:MM:SSZ`, and the human "3d ago" form.

use std::time::{SystemTime, UNIX_EPOCH};

/// What the reference prints when a time cannot be read.
pub const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Seconds since the epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC (the reference wrote local time with a `Z`).
pub fn iso_utc(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return EPOCH.to_owned();
    };
    let secs = unix_seconds(t);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The sentinel's timestamps, as 2.0.8 writes them (Python's `isoformat()` of a UTC time
/// with `+00:00` as `Z`): microseconds when there are any, `2026-12-01T21:36:48.975164Z`.
pub fn iso_utc_micros(t: SystemTime) -> String {
    let base = iso_utc(Some(t));
    let micros = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros());
    if micros == 0 {
        return base;
    }
    format!("{}.{micros:06}Z", base.trim_end_matches('Z'))
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses our own `YYYY-MM-DDTHH:MM:SSZ` back to seconds since the epoch.
pub fn parse_iso_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // days_from_civil, the inverse of civil_from_days.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// Python's `round()` for non-negative values: half to even.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

/// The human age of `iso` relative to `now` (reference §7.1 `fmt_time`).
pub fn human_age(iso: &str, now: i64) -> String {
    let Some(then) = parse_iso_utc(iso) else {
        return iso.to_owned();
    };
    let s = (now - then) as f64;
    if s < 45.0 {
        return "just now".into();
    }
    if s < 90.0 {
        return "1m ago".into();
    }
    let minutes = round_half_even(s / 60.0);
    if minutes < 45 {
        return format!("{minutes}m ago");
    }
    if minutes < 90 {
        return "1h ago".into();
    }
    let hours = round_half_even(minutes as f64 / 60.0);
    if hours < 24 {
        return format!("{hours}h ago");
    }
    if hours < 36 {
        return "1d ago".into();
    }
    let days = round_half_even(hours as f64 / 24.0);
    if days < 30 {
        return format!("{days}d ago");
    }
    iso[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_true_utc() {
        // mlxk-reference §9 item 19
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(iso_utc(Some(t)), "2023-11-14T22:13:20Z");
        assert_eq!(iso_utc(None), EPOCH);
        assert_eq!(
            iso_utc(Some(UNIX_EPOCH - Duration::from_secs(1))),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(parse_iso_utc("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_iso_utc("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn ages_follow_the_reference_buckets() {
        let base = 1_700_000_000;
        let iso = "2023-11-14T22:13:20Z";
        for (delta, want) in [
            (10, "just now"),
            (60, "1m ago"),
            (150, "2m ago"),
            (44 * 60, "44m ago"),
            (60 * 60, "1h ago"),
            (5 * 3600, "5h ago"),
            (30 * 3600, "1d ago"),
            (3 * 86_400, "3d ago"),
            (40 * 86_400, "2023-11-14"),
        ] {
            assert_eq!(human_age(iso, base + delta), want, "{delta}");
        }
        assert_eq!(human_age("garbage", base), "garbage");
    }
}

//! Timestamps in Appwrite's format.
//!
//! Every date on the wire is ISO-8601 with milliseconds and an explicit
//! `+00:00` offset (`2026-07-22T10:15:00.123+00:00`). Internally we keep
//! milliseconds since the Unix epoch, which sort and compare cheaply.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The current time in milliseconds.
pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// Format milliseconds as Appwrite does.
pub fn format(ms: Millis) -> String {
    let dt = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    format_dt(dt)
}

fn format_dt(dt: DateTime<Utc>) -> String {
    // chrono writes `Z` for UTC with use_z=true; Appwrite writes `+00:00`.
    dt.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Parse an ISO-8601 date (with offset, `Z`, or none meaning UTC; with or
/// without fractional seconds; a bare date means midnight UTC) into milliseconds.
pub fn parse(s: &str) -> Option<Millis> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    let formats = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"];
    for f in formats {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|n| n.and_utc().timestamp_millis());
    }
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok().map(|dt| dt.timestamp_millis())
}

/// Normalise any accepted date string to Appwrite's format in UTC.
pub fn normalize(s: &str) -> Option<String> {
    parse(s).map(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_appwrite() {
        assert_eq!(format(0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(format(1_753_179_300_123), "2025-07-22T10:15:00.123+00:00");
    }

    #[test]
    fn parses_common_shapes() {
        let want = Some(1_753_179_300_123);
        assert_eq!(parse("2025-07-22T10:15:00.123+00:00"), want);
        assert_eq!(parse("2025-07-22T10:15:00.123Z"), want);
        assert_eq!(parse("2025-07-22T12:15:00.123+02:00"), want);
        assert_eq!(parse("2025-07-22T10:15:00.123"), want);
        assert_eq!(parse("2025-07-22"), Some(1_753_142_400_000));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(normalize("2025-07-22T12:15:00+02:00").as_deref(), Some("2025-07-22T10:15:00.000+00:00"));
    }
}

//! Parsing of Hadoop-style typed values: booleans, sizes and durations.

use std::time::Duration;

/// Parses `true`/`false` (case-insensitive, trimmed).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses a size in bytes: a plain number or one with a binary suffix `k m g t p` (case-insensitive,
/// optional trailing `b`), as Hadoop's `getLongBytes` does. `64M` is 64 MiB.
pub fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').filter(|s| !s.is_empty()).unwrap_or(&v);
    let (number, shift) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 10),
        'm' => (&v[..v.len() - 1], 20),
        'g' => (&v[..v.len() - 1], 30),
        't' => (&v[..v.len() - 1], 40),
        'p' => (&v[..v.len() - 1], 50),
        _ => (v, 0),
    };
    let n: u64 = number.trim().parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// Parses a duration with a Hadoop suffix (`ns us ms s m h d`); a bare number is in `bare_unit`.
pub fn parse_duration(value: &str, bare_unit: Duration) -> Option<Duration> {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "" => bare_unit,
        "ns" => Duration::from_nanos(1),
        "us" => Duration::from_micros(1),
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        "d" => Duration::from_secs(86400),
        _ => return None,
    };
    unit.checked_mul(u32::try_from(n).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("32MB"), Some(32 << 20));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999p"), None);
    }

    #[test]
    fn durations() {
        let ms = Duration::from_millis(1);
        assert_eq!(parse_duration("10s", ms), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("250", ms), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m", ms), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1 h", ms), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10 parsecs", ms), None);
        assert_eq!(parse_duration("", ms), None);
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool(" True "), Some(true));
        assert_eq!(parse_bool("no"), None);
    }

    proptest! {
        #[test]
        fn size_suffixes_scale(n in 0u64..1_000_000) {
            prop_assert_eq!(parse_size(&format!("{n}k")), Some(n << 10));
            prop_assert_eq!(parse_size(&format!("{n}M")), Some(n << 20));
            prop_assert_eq!(parse_size(&n.to_string()), Some(n));
        }
    }
}

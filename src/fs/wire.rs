//! What the object-store backends (S3, OSS) share on the wire: the retry policy of their
//! requests, per-attempt timeouts derived from it, and the ETag arithmetic that tells whether
//! an object on the server is the one a lost reply was about.
//!
//! Every request runs under [`retry_request`](super::retry::retry_request) with the
//! `ckpt.retry.*` policy: the SDK or HTTP client below does not retry by itself, so the two
//! layers never multiply. A backend's own attempts key (`fs.s3a.attempts.maximum`,
//! `fs.oss.attempts.maximum`), when set, lowers the number of attempts; the time budget is
//! always `ckpt.retry.max-elapsed`.

use std::time::Duration;

use md5::{Digest, Md5};

use super::retry::RetryPolicy;
use crate::conf::{ConfError, Configuration};

/// The retry policy of one object store's requests: `ckpt.retry.*`, with at most
/// `attempts_key` attempts when that key is set.
pub fn request_policy(conf: &Configuration, attempts_key: &str) -> Result<RetryPolicy, ConfError> {
    let mut policy = RetryPolicy::from_conf(conf)?;
    if conf.get(attempts_key).is_some() {
        let n = conf.get_u64(attempts_key, 1)?.max(1);
        policy.max_attempts = policy
            .max_attempts
            .min(u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(policy)
}

/// A per-attempt timeout from `key` (bare numbers are milliseconds), `default` when unset,
/// never longer than the policy's budget: one attempt cannot outlive the whole operation.
pub fn attempt_timeout(
    conf: &Configuration,
    key: &str,
    default: Duration,
    policy: &RetryPolicy,
) -> Result<Duration, ConfError> {
    Ok(conf
        .get_duration(key, Duration::from_millis(1), default)?
        .min(policy.max_elapsed))
}

/// Lower-case hex of the MD5 of `data`: the ETag S3 and OSS give an object written by one
/// PUT (without KMS encryption).
pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// The ETag S3 and OSS give an object completed from parts with these ETags: the MD5 of the
/// parts' binary MD5s, `-`, the number of parts. `None` when a part's ETag is not an MD5.
pub fn multipart_etag<'a>(part_etags: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut digests = Vec::new();
    let mut count = 0usize;
    for etag in part_etags {
        digests.extend(unhex(etag.trim().trim_matches('"'))?);
        count += 1;
    }
    Some(format!("{}-{count}", md5_hex(&digests)))
}

/// True when the ETag a server reports (quoted or not, any case) is `expected`.
pub fn etag_matches(reported: &str, expected: &str) -> bool {
    reported
        .trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(expected)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 16 bytes of a 32-digit hex MD5.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 32 {
        return None;
    }
    (0..16)
        .map(|i| {
            let pair = s.get(2 * i..2 * i + 2)?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        let a = md5_hex(b"part one");
        let b = md5_hex(b"part two");
        let mut both = unhex(&a).unwrap();
        both.extend(unhex(&b).unwrap());
        let expected = format!("{}-2", md5_hex(&both));
        let quoted_upper = format!("\"{}\"", b.to_ascii_uppercase());
        assert_eq!(
            multipart_etag([a.as_str(), quoted_upper.as_str()]),
            Some(expected.clone())
        );
        assert!(etag_matches(
            &format!("\"{}\"", expected.to_ascii_uppercase()),
            &expected
        ));
        assert!(!etag_matches("\"abc\"", &expected));
        assert_eq!(multipart_etag(["not-an-md5"]), None);
        assert_eq!(multipart_etag(["é".repeat(16).as_str()]), None);
    }

    #[test]
    fn policy_and_timeouts() {
        let conf = Configuration::from_pairs([
            ("ckpt.retry.max-elapsed", "10s"),
            ("ckpt.retry.max-attempts", "8"),
            ("fs.x.attempts", "3"),
            ("fs.x.read", "200s"),
        ]);
        let p = request_policy(&conf, "fs.x.attempts").unwrap();
        assert_eq!(
            (p.max_attempts, p.max_elapsed),
            (3, Duration::from_secs(10))
        );
        let p = request_policy(&conf, "fs.y.attempts").unwrap();
        assert_eq!(p.max_attempts, 8);
        let t = |key, default| attempt_timeout(&conf, key, default, &p).unwrap();
        assert_eq!(
            t("fs.x.read", Duration::from_secs(1)),
            Duration::from_secs(10)
        );
        assert_eq!(
            t("fs.x.unset", Duration::from_secs(2)),
            Duration::from_secs(2)
        );
        let bad = Configuration::from_pairs([("fs.x.attempts", "many")]);
        assert!(request_policy(&bad, "fs.x.attempts").is_err());
    }
}

//! What the object-store backends (S3, OSS) share on the wire: the retry policy of their
//! requests, per-attempt timeouts derived from it, and the ETag arithmetic (or, when KMS or
//! customer keys make the ETag opaque, the read back) that tells whether an object on the
//! server is the one a lost reply was about.
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

/// Server-side encryption of an object, as far as it decides what the object's ETag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encryption {
    /// None asked for or reported.
    #[default]
    None,
    /// Keys managed by the store (S3's SSE-S3, `AES256`): the ETag stays the MD5 of the data.
    StoreManaged,
    /// A KMS key (S3's SSE-KMS `aws:kms`, DSSE-KMS `aws:kms:dsse`): the ETag is not the MD5.
    Kms,
    /// A customer-provided key (SSE-C): the ETag is not the MD5.
    CustomerKey,
}

impl Encryption {
    /// The method named by Hadoop's `fs.s3a.encryption.algorithm` (or the older
    /// `fs.s3a.server-side-encryption-algorithm`), case-insensitively: blank or `none`,
    /// `SSE-S3` (or `AES256`), `SSE-KMS`, `DSSE-KMS`, `SSE-C`. `None` for anything else,
    /// client-side encryption (`CSE-KMS`, `CSE-CUSTOM`) included.
    pub fn from_hadoop_algorithm(value: &str) -> Option<Encryption> {
        match value.trim().to_ascii_uppercase().as_str() {
            "" | "NONE" => Some(Encryption::None),
            "SSE-S3" | "AES256" => Some(Encryption::StoreManaged),
            "SSE-KMS" | "DSSE-KMS" => Some(Encryption::Kms),
            "SSE-C" => Some(Encryption::CustomerKey),
            _ => None,
        }
    }

    /// The encryption an S3 response reports: its `x-amz-server-side-encryption` value
    /// (`AES256`, `aws:kms`, `aws:kms:dsse`) and whether it carries
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C). An unknown value counts as
    /// KMS: nothing is assumed about its ETag.
    pub fn from_s3_response(server_side: Option<&str>, customer_key: bool) -> Encryption {
        if customer_key {
            return Encryption::CustomerKey;
        }
        match server_side.map(str::trim) {
            None | Some("") => Encryption::None,
            Some(v) if v.eq_ignore_ascii_case("AES256") => Encryption::StoreManaged,
            Some(_) => Encryption::Kms,
        }
    }

    /// True when an object written with this encryption has the MD5 of its data as ETag
    /// (one PUT) or the MD5 of its parts' MD5s (multipart).
    pub fn etag_is_md5(self) -> bool {
        matches!(self, Encryption::None | Encryption::StoreManaged)
    }
}

/// How to tell whether the object found after a lost reply (a retried conditional create
/// meeting an object, a retried multipart complete meeting no upload) is the one we wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandedCheck {
    /// Its ETag is what our data gives ([`md5_hex`], [`multipart_etag`]).
    Etag,
    /// Its ETag says nothing about its data (KMS or customer keys): read it back and compare
    /// it with the bytes we sent.
    ReadBack,
}

/// The check for an object whose encryption is `reported` (by the server) while `configured`
/// was asked for: the ETag only when both say the ETag is the data's MD5. A configured KMS or
/// customer key is enough for a read back even when the response does not say so (bucket
/// defaults, servers that omit the header).
pub fn landed_check(configured: Encryption, reported: Encryption) -> LandedCheck {
    if configured.etag_is_md5() && reported.etag_is_md5() {
        LandedCheck::Etag
    } else {
        LandedCheck::ReadBack
    }
}

/// A running digest of the bytes a writer sent, compared with a read back of the object
/// ([`LandedCheck::ReadBack`]).
#[derive(Debug, Clone, Default)]
pub struct SentDigest {
    md5: Md5,
    len: u64,
}

impl SentDigest {
    /// A digest of nothing yet.
    pub fn new() -> SentDigest {
        SentDigest::default()
    }

    /// Adds bytes, in the order they are stored.
    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.len = self.len.saturating_add(data.len() as u64);
    }

    /// How many bytes were added.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `other` holds the same bytes (same length and MD5).
    pub fn same_as(&self, other: &SentDigest) -> bool {
        self.len == other.len && self.md5.clone().finalize() == other.md5.clone().finalize()
    }
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
    fn hadoop_encryption_algorithms() {
        for (value, want) in [
            ("", Some(Encryption::None)),
            ("none", Some(Encryption::None)),
            ("SSE-S3", Some(Encryption::StoreManaged)),
            ("AES256", Some(Encryption::StoreManaged)),
            ("SSE-KMS", Some(Encryption::Kms)),
            (" dsse-kms ", Some(Encryption::Kms)),
            ("SSE-C", Some(Encryption::CustomerKey)),
            ("CSE-KMS", None),
            ("CSE-CUSTOM", None),
            ("sse-kmz", None),
        ] {
            assert_eq!(Encryption::from_hadoop_algorithm(value), want, "{value:?}");
        }
        assert_eq!(Encryption::from_s3_response(None, false), Encryption::None);
        assert_eq!(
            Encryption::from_s3_response(Some("AES256"), false),
            Encryption::StoreManaged
        );
        for kms in ["aws:kms", "aws:kms:dsse", "something-new"] {
            assert_eq!(
                Encryption::from_s3_response(Some(kms), false),
                Encryption::Kms
            );
        }
        assert_eq!(
            Encryption::from_s3_response(None, true),
            Encryption::CustomerKey
        );
    }

    /// The ETag decides only when neither the configuration nor the object says KMS or a
    /// customer key; any KMS or customer key on either side means a read back.
    #[test]
    fn the_etag_decides_only_when_it_is_the_md5() {
        use Encryption::*;
        let all = [None, StoreManaged, Kms, CustomerKey];
        for configured in all {
            for reported in all {
                let want = if matches!(configured, None | StoreManaged)
                    && matches!(reported, None | StoreManaged)
                {
                    LandedCheck::Etag
                } else {
                    LandedCheck::ReadBack
                };
                assert_eq!(
                    landed_check(configured, reported),
                    want,
                    "{configured:?} / {reported:?}"
                );
            }
        }
    }

    #[test]
    fn sent_digests_compare_bytes_not_chunks() {
        let mut a = SentDigest::new();
        a.update(b"hello ");
        a.update(b"world");
        let mut b = SentDigest::new();
        b.update(b"hello world");
        assert!(a.same_as(&b) && a.len() == 11);
        let mut c = SentDigest::new();
        c.update(b"hello worle");
        assert!(!a.same_as(&c));
        assert!(SentDigest::new().is_empty());
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

//! Which configuration keys hold secrets, and how secrets are shown: the one place that decides
//! what is redacted in `Debug`, `Display`, logs, errors and `ckpt config check`.
//!
//! Two rules:
//! - a key is secret when its name says so ([`is_secret_key`]): Hadoop's default
//!   `hadoop.security.sensitive-config-keys` patterns, plus the names ckpt knows hold secrets
//!   (access keys, tokens, keytabs...); its value is shown as [`REDACTED`];
//! - a password inside a URL (`scheme://user:password@host`) is replaced by [`REDACTED`] wherever
//!   a URL is shown ([`redact_url`], [`redact_urls_in`]), whatever the key.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// What a secret value is shown as.
pub const REDACTED: &str = "<redacted>";

/// Hadoop's default `hadoop.security.sensitive-config-keys`: the union of `core-default.xml`
/// (trunk) and `CommonConfigurationKeysPublic.HADOOP_SECURITY_SENSITIVE_CONFIG_KEYS_DEFAULT`.
/// Hadoop's `ConfigRedactor` matches each one case-sensitively anywhere in the key
/// (`Matcher.find`), as [`is_secret_key`] does.
pub const HADOOP_SENSITIVE_KEY_PATTERNS: &[&str] = &[
    "secret$",
    "password$",
    "username$",
    "ssl.keystore.pass$",
    "fs.s3.*[Ss]ecret.?[Kk]ey",
    "fs.s3a.server-side-encryption.key",
    "fs.s3a.*.server-side-encryption.key",
    "fs.s3a.encryption.algorithm",
    "fs.s3a.encryption.key",
    "fs.s3a.secret.key",
    "fs.s3a.*.secret.key",
    "fs.s3a.session.key",
    "fs.s3a.*.session.key",
    "fs.s3a.session.token",
    "fs.s3a.*.session.token",
    "fs.azure.account.key.*",
    "fs.azure.oauth2.*",
    "fs.adl.oauth2.*",
    "fs.gs.encryption.*",
    "fs.gs.proxy.*",
    "fs.gs.auth.*",
    "credential$",
    "oauth.*secret",
    "oauth.*password",
    "oauth.*token",
    "hadoop.security.sensitive-config-keys",
];

static HADOOP_SENSITIVE: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(HADOOP_SENSITIVE_KEY_PATTERNS).ok());

/// Words that, anywhere in a key (case and punctuation ignored), mark it secret in ckpt.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "accesskey",
    "token",
    "keytab",
    "credentialjson",
    "privatekey",
    "encryptionkey",
    "sseckey",
    "ssekey",
];

/// True when a key's name says its value is secret: a match of Hadoop's default
/// [`HADOOP_SENSITIVE_KEY_PATTERNS`], or a key naming a secret, password, access key, session or
/// security token, keytab or encryption key (names ending in `provider` name a class, not a
/// secret).
pub fn is_secret_key(key: &str) -> bool {
    let hadoop = match &*HADOOP_SENSITIVE {
        Some(set) => set.is_match(key),
        // The patterns are constants covered by a test; never reached.
        None => true,
    };
    if hadoop {
        return true;
    }
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_WORDS.iter().any(|needle| k.contains(needle)) && !k.ends_with("provider")
}

/// The value to show for `key`: [`REDACTED`] for secrets; otherwise the value with any URL
/// password redacted ([`redact_urls_in`]).
pub fn redact_value<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_key(key) {
        Cow::Borrowed(REDACTED)
    } else {
        redact_urls_in(value)
    }
}

/// A URL as it may be shown: `scheme://user:password@host...` becomes
/// `scheme://user:<redacted>@host...`. Anything else is returned unchanged.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    redact_urls_in(url)
}

/// Credentials as the AWS SDK and SigV4 print them: `access_key_id: "..."` (`Debug` of the
/// SDK's `Credentials`), `Credential=<key id>/` (an `Authorization` header), the value of an
/// `x-amz-security-token` header.
static CREDENTIAL_SHAPES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(access_key_id: ")[^"]*(")|(Credential=)[^/,\s"]+(/)|("?x-amz-security-token"?[,:=]\s*"?)[^"\s,)*][^"\s,)]*"#,
    )
    .ok()
});

/// A log line or message as it may be shown: URL passwords ([`redact_urls_in`]) and
/// credentials in the shapes the AWS SDK prints them redacted.
pub fn redact_log_text(text: &str) -> Cow<'_, str> {
    let Some(shapes) = &*CREDENTIAL_SHAPES else {
        // The pattern is a constant covered by a test: never reached.
        return Cow::Borrowed(REDACTED);
    };
    let replaced = shapes.replace_all(text, |c: &regex::Captures<'_>| {
        let g = |i| c.get(i).map(|m| m.as_str()).unwrap_or("");
        if c.get(1).is_some() {
            format!("{}{REDACTED}{}", g(1), g(2))
        } else if c.get(3).is_some() {
            format!("{}{REDACTED}{}", g(3), g(4))
        } else {
            format!("{}{REDACTED}", g(5))
        }
    });
    match replaced {
        Cow::Borrowed(_) => redact_urls_in(text),
        Cow::Owned(s) => Cow::Owned(redact_urls_in(&s).into_owned()),
    }
}

/// A URI authority as it may be shown: `user:password@host` becomes `user:<redacted>@host`.
pub fn redact_authority(authority: &str) -> Cow<'_, str> {
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => Cow::Owned(format!("{user}:{REDACTED}@{host}")),
            None => Cow::Borrowed(authority),
        },
        None => Cow::Borrowed(authority),
    }
}

/// Characters that end a URL inside running text (messages, logs, JSON).
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

/// `text` with the password of every `scheme://user:password@` in it replaced by [`REDACTED`]
/// (for messages and log lines that may embed URLs). A user name without a password is kept.
pub fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The candidate authority runs to the end of the URL; its userinfo is what comes before
        // the last '@' (a raw '/' or '@' in a password is redacted too).
        let url_end = tail.find(ends_url).unwrap_or(tail.len());
        let (url, after) = tail.split_at(url_end);
        match url
            .rfind('@')
            .and_then(|a| url[..a].find(':').map(|c| (c, a)))
        {
            Some((colon, at_sign)) if !url[..colon].contains('/') => {
                out.push_str(&url[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&url[at_sign..]);
                changed = true;
            }
            _ => out.push_str(url),
        }
        rest = after;
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hadoop_patterns_compile() {
        assert!(HADOOP_SENSITIVE.is_some());
    }

    #[test]
    fn secret_names() {
        for key in [
            "fs.s3a.secret.key",
            "fs.s3a.access.key",
            "fs.s3a.session.token",
            "fs.oss.accessKeyId",
            "fs.oss.accessKeySecret",
            "fs.oss.securityToken",
            "kerberosKeytab",
            "kerberosKeytabFilePath",
            "ssl.keystore.password",
            "fs.s3a.bucket.b1.secret.key",
            // Hadoop's default sensitive-config-keys
            "fs.s3a.encryption.key",
            "fs.s3a.server-side-encryption.key",
            "fs.s3a.bucket.b1.server-side-encryption.key",
            "fs.s3a.bucket.b1.encryption.key",
            "fs.s3a.encryption.algorithm",
            "fs.s3a.bucket.b1.session.token",
            "fs.azure.account.key.acct.blob.core.windows.net",
            "fs.azure.account.oauth2.client.secret",
            "fs.gs.auth.service.account.json.keyfile",
            "dfs.webhdfs.oauth2.refresh.token",
            "hadoop.security.credential",
            "my.ssl.keystore.pass",
            "my.own.username",
            "hadoop.security.sensitive-config-keys",
            "some.tool.password",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "fs.defaultFS",
            "fs.s3a.endpoint",
            "fs.s3a.aws.credentials.provider",
            "fs.oss.credentials.provider",
            "kerberosPrincipal",
            "dfs.namenode.kerberos.principal",
            "fs.s3a.multipart.size",
            "ckpt.temp-grace",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            redact_url("http://user:p4ss@host:9000"),
            "http://user:<redacted>@host:9000"
        );
        assert_eq!(
            redact_url("https://u:a/b@c@host/path?q=1"),
            "https://u:<redacted>@host/path?q=1"
        );
        assert_eq!(redact_url("http://user@host"), "http://user@host");
        // A raw '@' after a port is read as the end of a password: shown too little, never too much.
        assert_eq!(redact_url("http://host:80/a@b"), "http://host:<redacted>@b");
        assert_eq!(redact_url("hdfs://ns1"), "hdfs://ns1");
        assert!(matches!(redact_url("no url"), Cow::Borrowed(_)));
        assert_eq!(
            redact_urls_in(r#"cannot reach "http://a:s1@h:1" nor s3://k:s2@b/p; ok"#),
            r#"cannot reach "http://a:<redacted>@h:1" nor s3://k:<redacted>@b/p; ok"#
        );
        assert_eq!(
            redact_value("fs.s3a.endpoint", "http://u:pw@h"),
            "http://u:<redacted>@h"
        );
        assert_eq!(redact_value("fs.s3a.secret.key", "http://u:pw@h"), REDACTED);
        assert_eq!(redact_authority("u:p@w@h:1"), "u:<redacted>@h:1");
        assert_eq!(redact_authority("u@h:1"), "u@h:1");
        assert_eq!(redact_authority("h:1"), "h:1");
    }

    #[test]
    fn sdk_credential_shapes() {
        assert!(CREDENTIAL_SHAPES.is_some());
        let text = r#"identity=Identity { data: Credentials { provider_name: "x", access_key_id: "AKIAXYZ", secret_access_key: "** redacted **" } } ("authorization", "AWS4-HMAC-SHA256 Credential=AKIAXYZ/20260101/us-east-1/s3/aws4_request") ("x-amz-security-token", "Tok1") x-amz-security-token: Tok2 http://u:Pw1@h"#;
        let clean = redact_log_text(text);
        for leaked in ["AKIAXYZ", "Tok1", "Tok2", "Pw1"] {
            assert!(!clean.contains(leaked), "{clean}");
        }
        assert!(clean.contains(r#"access_key_id: "<redacted>""#), "{clean}");
        assert!(clean.contains("Credential=<redacted>/2026"), "{clean}");
        assert!(matches!(redact_log_text("plain line"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn url_passwords_never_survive(
            prefix in "[ -~]{0,20}",
            user in "[a-z]{1,8}",
            pass in "[A-Za-z0-9/@:%!]{1,16}",
            host in "[a-z0-9.]{1,12}(:[0-9]{1,5})?",
        ) {
            let marker = format!("Zq{pass}Zq");
            let text = format!("{prefix} http://{user}:{marker}@{host}/x tail");
            let shown = redact_urls_in(&text);
            prop_assert!(!shown.contains(&marker), "{shown}");
            prop_assert!(shown.contains(&format!("http://{user}:{REDACTED}@")), "{shown}");
        }
    }
}

//! Which configuration keys hold secrets, and how they are shown.

use std::borrow::Cow;

/// What a secret value is shown as.
pub const REDACTED: &str = "<redacted>";

/// True when a key's name says its value is secret: secret keys, passwords, access keys,
/// session or security tokens, keytabs.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "accesskey",
        "token",
        "keytab",
        "credentialjson",
        "privatekey",
    ]
    .iter()
    .any(|needle| k.contains(needle))
        && !k.ends_with("provider")
}

/// The value to show for `key`: [`REDACTED`] for secrets, the value itself otherwise.
pub fn redact_value<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_key(key) {
        Cow::Borrowed(REDACTED)
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}

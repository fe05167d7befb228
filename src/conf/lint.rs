//! Checks of configuration values that are accepted but most likely not what the user meant:
//! a value that starts or ends with an unbalanced quote (a YAML or XML quoting slip, such as
//! the stray `"` at the end of the seed page's HA proxy-provider sample), and an HDFS failover
//! proxy provider that ckpt does not implement. Pure: the caller passes the entries and prints
//! the warnings.

use super::plugin::HADOOP_KEY_PREFIX;
use super::redact::{is_secret_key, redact_value};

/// The prefix of the HDFS keys naming the failover proxy provider class of a nameservice
/// (`dfs.client.failover.proxy.provider.<nameservice>`).
pub const PROXY_PROVIDER_PREFIX: &str = "dfs.client.failover.proxy.provider.";

/// The failover proxy providers ckpt implements (through hdfs-native): the class named by
/// `dfs.client.failover.proxy.provider.<nameservice>` is honoured when it is one of these.
pub const IMPLEMENTED_PROXY_PROVIDERS: &[&str] = &[
    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
    "org.apache.hadoop.hdfs.server.namenode.ha.ObserverReadProxyProvider",
    "org.apache.hadoop.hdfs.server.namenode.ha.RouterObserverReadConfiguredFailoverProxyProvider",
];

/// What ckpt does with a provider it does not implement.
const PROVIDER_FALLBACK: &str = "ckpt falls back to trying the configured NameNodes in order, failing over to the next one (ConfiguredFailoverProxyProvider's behaviour, without observer reads)";

/// The quote characters a stray one is looked for.
const QUOTES: [char; 2] = ['"', '\''];

/// Where an unbalanced quote sits in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteEnd {
    /// The value starts with it.
    Start,
    /// The value ends with it.
    End,
}

/// A quote character at the start or end of a value (surrounding whitespace ignored) that is
/// not balanced: the value holds an odd number of that character. `"a"` and `a"b"` are
/// balanced; `a"`, `"a` and `'a` are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrayQuote {
    /// The quote character.
    pub quote: char,
    /// Which end of the value it is at.
    pub at: QuoteEnd,
}

/// The unbalanced quote at the start or end of `value`, if any (see [`StrayQuote`]).
pub fn stray_quote(value: &str) -> Option<StrayQuote> {
    let v = value.trim();
    QUOTES.into_iter().find_map(|quote| {
        if v.matches(quote).count() % 2 == 0 {
            return None;
        }
        if v.ends_with(quote) {
            Some(StrayQuote {
                quote,
                at: QuoteEnd::End,
            })
        } else if v.starts_with(quote) {
            Some(StrayQuote {
                quote,
                at: QuoteEnd::Start,
            })
        } else {
            None
        }
    })
}

/// `value` trimmed, without its stray quote (if it has one).
pub fn without_stray_quote(value: &str) -> &str {
    let v = value.trim();
    match stray_quote(v) {
        Some(StrayQuote {
            quote,
            at: QuoteEnd::End,
        }) => v.strip_suffix(quote).unwrap_or(v).trim(),
        Some(StrayQuote {
            quote,
            at: QuoteEnd::Start,
        }) => v.strip_prefix(quote).unwrap_or(v).trim(),
        None => v,
    }
}

/// The warnings about plugin-config entries (keys as written; `seatunnel.hadoop.X` is checked
/// as the Hadoop key `X`), see [`check_value`].
pub fn check_plugin_values<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<String> {
    entries
        .into_iter()
        .flat_map(|(key, value)| {
            let hadoop_key = key.strip_prefix(HADOOP_KEY_PREFIX).unwrap_or(key);
            check_value(key, hadoop_key, value)
        })
        .collect()
}

/// The warnings about one configuration entry: `shown_key` is the key as the user wrote it
/// (e.g. `seatunnel.hadoop.dfs.client.failover.proxy.provider.ns`), `hadoop_key` the key the
/// file system reads (the same without the `seatunnel.hadoop.` prefix). Values of secret keys
/// ([`is_secret_key`]) are never shown.
pub fn check_value(shown_key: &str, hadoop_key: &str, value: &str) -> Vec<String> {
    if let Some(nameservice) = hadoop_key.strip_prefix(PROXY_PROVIDER_PREFIX) {
        return check_proxy_provider(shown_key, nameservice, value)
            .into_iter()
            .collect();
    }
    let Some(stray) = stray_quote(value) else {
        return Vec::new();
    };
    let place = match stray.at {
        QuoteEnd::Start => "starts",
        QuoteEnd::End => "ends",
    };
    if is_secret_key(shown_key) || is_secret_key(hadoop_key) {
        return vec![format!(
            "the value of {shown_key} (a secret, not shown) starts or ends with an unbalanced quote character; a quoting slip? it is used as written"
        )];
    }
    vec![format!(
        "the value of {shown_key} {place} with an unbalanced {quote} (`{value}`); a quoting slip? it is used as written",
        quote = stray.quote,
        value = redact_value(shown_key, value.trim()),
    )]
}

/// The warning about the proxy provider `value` of `nameservice` (set by `shown_key`), when it
/// is not one ckpt implements ([`IMPLEMENTED_PROXY_PROVIDERS`]); blank means the default, which
/// ckpt implements.
pub fn check_proxy_provider(shown_key: &str, nameservice: &str, value: &str) -> Option<String> {
    let class = value.trim();
    if class.is_empty() || IMPLEMENTED_PROXY_PROVIDERS.contains(&class) {
        return None;
    }
    let implemented = IMPLEMENTED_PROXY_PROVIDERS
        .iter()
        .map(|c| c.rsplit('.').next().unwrap_or(c))
        .collect::<Vec<_>>()
        .join(", ");
    let unquoted = without_stray_quote(class);
    if let Some(stray) = stray_quote(class)
        && IMPLEMENTED_PROXY_PROVIDERS.contains(&unquoted)
    {
        let place = match stray.at {
            QuoteEnd::Start => "starts",
            QuoteEnd::End => "ends",
        };
        return Some(format!(
            "the value of {shown_key} {place} with a stray {quote} (`{class}`): it is {unquoted} with a stray quote, a class Hadoop's Java client would fail to load; ckpt does not recognise it either, and for nameservice {nameservice} {PROVIDER_FALLBACK}; remove the quote",
            quote = stray.quote,
        ));
    }
    Some(format!(
        "{shown_key} names the failover proxy provider `{class}`, which ckpt does not implement (it implements {implemented}); for nameservice {nameservice} {PROVIDER_FALLBACK}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGURED: &str =
        "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

    #[test]
    fn unbalanced_quotes_at_either_end_are_stray() {
        for (value, quote, at) in [
            ("abc\"", '"', QuoteEnd::End),
            ("abc'", '\'', QuoteEnd::End),
            ("\"abc", '"', QuoteEnd::Start),
            ("'abc", '\'', QuoteEnd::Start),
            ("  abc\"  ", '"', QuoteEnd::End),
            ("\"", '"', QuoteEnd::End),
            ("a\"b\"c\"", '"', QuoteEnd::End),
            ("'it's'", '\'', QuoteEnd::End),
        ] {
            assert_eq!(
                stray_quote(value),
                Some(StrayQuote { quote, at }),
                "{value:?}"
            );
        }
        for value in [
            "abc", "", "\"abc\"", "'abc'", "a\"b\"", "\"a\"b", "it's", "a\"b", "'\"'", "\"'\"",
        ] {
            assert_eq!(stray_quote(value), None, "{value:?}");
        }
        assert_eq!(without_stray_quote(" abc\" "), "abc");
        assert_eq!(without_stray_quote("'abc"), "abc");
        assert_eq!(without_stray_quote("\"abc\""), "\"abc\"");
    }

    #[test]
    fn a_stray_quote_warning_names_the_key_and_the_value() {
        let w = check_value("namespace", "namespace", "/ns/\"");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("namespace")
                && w[0].contains("ends with an unbalanced \"")
                && w[0].contains("(`/ns/\"`)"),
            "{}",
            w[0]
        );
        let w = check_value("seatunnel.hadoop.dfs.replication", "dfs.replication", "'3");
        assert!(w[0].contains("starts with an unbalanced '"), "{}", w[0]);
        assert!(check_value("dfs.replication", "dfs.replication", "3").is_empty());
        assert!(check_value("namespace", "namespace", "\"/ns/\"").is_empty());
    }

    #[test]
    fn a_secret_with_a_stray_quote_is_reported_without_its_value() {
        for (shown, hadoop) in [
            ("fs.s3a.secret.key", "fs.s3a.secret.key"),
            ("seatunnel.hadoop.fs.s3a.secret.key", "fs.s3a.secret.key"),
            ("fs.oss.accessKeySecret", "fs.oss.accessKeySecret"),
            ("fs.s3a.encryption.key", "fs.s3a.encryption.key"),
        ] {
            let w = check_value(shown, hadoop, "SeCrEtMaRkEr\"");
            assert_eq!(w.len(), 1, "{shown}: {w:?}");
            assert!(
                w[0].contains(shown) && w[0].contains("not shown"),
                "{}",
                w[0]
            );
            assert!(!w[0].contains("SeCrEtMaRkEr"), "{}", w[0]);
        }
        // A password inside a URL value is redacted too.
        let w = check_value(
            "fs.s3a.endpoint",
            "fs.s3a.endpoint",
            "http://u:SeCrEtMaRkEr@h:1\"",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!w[0].contains("SeCrEtMaRkEr"), "{}", w[0]);
    }

    #[test]
    fn implemented_proxy_providers_pass() {
        for class in IMPLEMENTED_PROXY_PROVIDERS {
            let key = format!("{PROXY_PROVIDER_PREFIX}ns");
            assert!(check_value(&key, &key, class).is_empty(), "{class}");
            assert!(
                check_value(&key, &key, &format!("  {class} ")).is_empty(),
                "{class}"
            );
        }
        assert!(check_proxy_provider("k", "ns", "").is_none());
    }

    #[test]
    fn the_seed_sample_provider_is_recognised_with_its_stray_quote() {
        let shown = "seatunnel.hadoop.dfs.client.failover.proxy.provider.usdp-bing";
        let hadoop = "dfs.client.failover.proxy.provider.usdp-bing";
        let w = check_value(shown, hadoop, &format!("{CONFIGURED}\""));
        assert_eq!(w.len(), 1, "one warning, not one per check: {w:?}");
        for part in [
            shown,
            "ends with a stray \"",
            "it is org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider with a stray quote",
            "Java client would fail to load",
            "usdp-bing",
            "trying the configured NameNodes in order",
        ] {
            assert!(w[0].contains(part), "{part:?} missing from {}", w[0]);
        }
        let w = check_value(hadoop, hadoop, &format!("'{CONFIGURED}"));
        assert!(w[0].contains("starts with a stray '"), "{}", w[0]);
    }

    #[test]
    fn an_unimplemented_proxy_provider_names_the_implemented_ones_and_the_fallback() {
        let key = "dfs.client.failover.proxy.provider.ns1";
        for class in [
            "org.apache.hadoop.hdfs.server.namenode.ha.RequestHedgingProxyProvider",
            "org.apache.hadoop.hdfs.server.namenode.ha.IPFailoverProxyProvider",
            // Quoted on both sides: balanced, but still not a class name.
            "\"org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider\"",
        ] {
            let w = check_value(key, key, class);
            assert_eq!(w.len(), 1, "{w:?}");
            for part in [
                key,
                class,
                "does not implement",
                "ConfiguredFailoverProxyProvider, ObserverReadProxyProvider, RouterObserverReadConfiguredFailoverProxyProvider",
                "for nameservice ns1",
                "trying the configured NameNodes in order",
            ] {
                assert!(w[0].contains(part), "{part:?} missing from {}", w[0]);
            }
        }
    }

    /// The list above is what the hdfs-native build in use matches on: every class named here
    /// appears in its proxy selection, next to the fallback it logs for any other class.
    #[test]
    fn the_implemented_providers_are_those_of_the_vendored_hdfs_native() {
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vendor/hdfs-native-0.14.8-ckpt/src/hdfs/proxy.rs");
        let text = std::fs::read_to_string(&source).unwrap();
        assert!(
            text.contains("Unsupported proxy provider"),
            "{}",
            source.display()
        );
        for class in IMPLEMENTED_PROXY_PROVIDERS {
            assert!(
                text.contains(&format!("\"{class}\"")),
                "{class} not in {}",
                source.display()
            );
        }
        let matched = text
            .matches("\"org.apache.hadoop.hdfs.server.namenode.ha.")
            .count();
        assert_eq!(
            matched,
            IMPLEMENTED_PROXY_PROVIDERS.len(),
            "hdfs-native matches other providers"
        );
    }
}

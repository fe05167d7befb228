//! Keeps credentials out of the AWS SDK's own log events.
//!
//! At debug and trace level the SDK logs the resolved identity and the signing parameters with
//! `Debug` of its `Credentials`, which prints the access key id (the secret and token are
//! hidden by the SDK). The identity the signer needs can only be a `Credentials`, so ckpt cannot
//! avoid handing it over; instead every SDK request runs under [`ScrubbingSubscriber`]: a
//! subscriber in front of the one that was current when the client was built, which lets events
//! through unchanged unless their fields show a credential (a value the credentials chain has
//! handed out, or the `access_key_id: "..."` of a `Credentials`). Such an event is replaced by
//! one at the same level, target [`SCRUBBED_TARGET`], with the credentials redacted.

use std::fmt::{self, Write as _};
use std::sync::{Arc, RwLock};

use tracing::field::{Field, FieldSet, Value, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_core::Kind;
use tracing_core::callsite::DefaultCallsite;

use crate::conf::{REDACTED, redact_log_text};

/// The credential values in use by one client (learned from its credentials chain).
#[derive(Clone, Default)]
pub struct KnownSecrets(Arc<RwLock<Vec<String>>>);

impl fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.read().map(|v| v.len()).unwrap_or(0);
        write!(f, "KnownSecrets({n} values, {REDACTED})")
    }
}

impl KnownSecrets {
    /// Remembers a value that must never be logged (blank values are ignored).
    pub fn add(&self, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        if let Ok(mut values) = self.0.write()
            && !values.iter().any(|v| v == value)
        {
            values.push(value.to_string());
        }
    }

    /// `text` with every known secret and every credential shape redacted; `None` when
    /// nothing had to change.
    pub fn scrub(&self, text: &str) -> Option<String> {
        let mut out = text.to_string();
        if let Ok(values) = self.0.read() {
            for v in values.iter() {
                if out.contains(v.as_str()) {
                    out = out.replace(v.as_str(), REDACTED);
                }
            }
        }
        let out = redact_log_text(&out).into_owned();
        (out != text).then_some(out)
    }
}

/// A subscriber that forwards to `inner`, redacting credentials from events (see the module
/// documentation).
pub struct ScrubbingSubscriber {
    inner: Dispatch,
    secrets: KnownSecrets,
}

impl ScrubbingSubscriber {
    /// The dispatcher to run SDK requests under: `None` when no subscriber is installed (there
    /// is nothing to protect then).
    pub fn dispatch_for_current(secrets: KnownSecrets) -> Option<Dispatch> {
        let inner = tracing::dispatcher::get_default(Dispatch::clone);
        if inner.is::<tracing::subscriber::NoSubscriber>() {
            return None;
        }
        Some(Dispatch::new(ScrubbingSubscriber { inner, secrets }))
    }

    fn reemit(&self, meta: &Metadata<'_>, text: &str) {
        let (callsite, scrubbed): (&'static DefaultCallsite, &'static Metadata<'static>) =
            match *meta.level() {
                Level::ERROR => (&ERROR_CS, &ERROR_META),
                Level::WARN => (&WARN_CS, &WARN_META),
                Level::INFO => (&INFO_CS, &INFO_META),
                Level::DEBUG => (&DEBUG_CS, &DEBUG_META),
                Level::TRACE => (&TRACE_CS, &TRACE_META),
            };
        // Registers the callsite on first use, so filters know it.
        if callsite.interest().is_never() || !self.inner.enabled(scrubbed) {
            return;
        }
        let fields = scrubbed.fields();
        let (Some(message), Some(target)) = (fields.field("message"), fields.field("sdk_target"))
        else {
            return;
        };
        let text = tracing::field::display(text);
        let sdk_target = meta.target();
        let values: [(&Field, Option<&dyn Value>); 2] = [
            (&message, Some(&text as &dyn Value)),
            (&target, Some(&sdk_target as &dyn Value)),
        ];
        let values = fields.value_set(&values);
        self.inner.event(&Event::new(scrubbed, &values));
    }
}

/// Target of the events that replace SDK events carrying credentials.
pub const SCRUBBED_TARGET: &str = "ckpt::fs::s3::sdk";

// One static callsite per level for the replacement events: they are dispatched straight to
// the inner subscriber (the `tracing` macros would find no dispatcher while an event is being
// dispatched).
macro_rules! scrubbed_callsites {
    ($($level:ident => $meta:ident, $cs:ident;)*) => {$(
        static $cs: DefaultCallsite = DefaultCallsite::new(&$meta);
        static $meta: Metadata<'static> = Metadata::new(
            "scrubbed SDK event",
            SCRUBBED_TARGET,
            Level::$level,
            Some(file!()),
            Some(line!()),
            Some(module_path!()),
            FieldSet::new(&["message", "sdk_target"], tracing_core::identify_callsite!(&$cs)),
            Kind::EVENT,
        );
    )*};
}

scrubbed_callsites! {
    ERROR => ERROR_META, ERROR_CS;
    WARN => WARN_META, WARN_CS;
    INFO => INFO_META, INFO_CS;
    DEBUG => DEBUG_META, DEBUG_CS;
    TRACE => TRACE_META, TRACE_CS;
}

/// Collects an event's fields as `name=value` text.
#[derive(Default)]
struct FieldText(String);

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = if field.name() == "message" {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, "{}={value:?}", field.name())
        };
    }
}

impl Subscriber for ScrubbingSubscriber {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows)
    }

    fn event(&self, event: &Event<'_>) {
        let mut text = FieldText::default();
        event.record(&mut text);
        match self.secrets.scrub(&text.0) {
            None => self.inner.event(event),
            Some(clean) => self.reemit(event.metadata(), &clean),
        }
    }

    fn enter(&self, span: &Id) {
        self.inner.enter(span)
    }

    fn exit(&self, span: &Id) {
        self.inner.exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }

    fn current_span(&self) -> tracing_core::span::Current {
        self.inner.current_span()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_known_values_are_redacted() {
        let s = KnownSecrets::default();
        s.add("MyTok3n");
        s.add("  ");
        let text = r#"resolved identity=Identity { data: Credentials { provider_name: "x", access_key_id: "AKIAXYZ", secret_access_key: "** redacted **" } } ("authorization", "AWS4-HMAC-SHA256 Credential=AKIAXYZ/20260101/us-east-1/s3/aws4_request") ("x-amz-security-token", "MyTok3n") x-amz-security-token: Other1"#;
        let clean = s.scrub(text).unwrap();
        for leaked in ["AKIAXYZ", "MyTok3n", "Other1"] {
            assert!(!clean.contains(leaked), "{clean}");
        }
        assert!(clean.contains("access_key_id: \"<redacted>\""), "{clean}");
        assert!(clean.contains("Credential=<redacted>/2026"), "{clean}");
        assert_eq!(s.scrub("nothing to see"), None);
        assert!(!s.scrub("endpoint http://u:pw@h").unwrap().contains("pw@"));
    }
}

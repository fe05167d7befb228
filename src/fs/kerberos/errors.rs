//! Turning krb5 failures into clear [`FsError::Auth`] messages (pure, unit-tested).
//!
//! A message names the principal, the keytab's key (never its path), the krb5.conf in use and
//! what to check; it never contains key material (krb5's own messages do not either).

use crate::fs::FsError;

/// Which step of the login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Loading `libkrb5` itself.
    LoadLibrary,
    /// `krb5_init_context` (reads krb5.conf).
    InitContext,
    /// Parsing a principal name.
    ParsePrincipal,
    /// Opening the keytab.
    ResolveKeytab,
    /// Getting the initial ticket (TGT) from the KDC with the keytab's key.
    InitialCredentials,
    /// Writing the ticket into the private credential cache.
    StoreCredentials,
    /// Getting a service ticket for the NameNode principal.
    ServiceTicket,
    /// Listing the tickets of the private credential cache.
    ReadCache,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::LoadLibrary => "loading the Kerberos library",
            Step::InitContext => "initialising Kerberos (reading krb5.conf)",
            Step::ParsePrincipal => "parsing the principal name",
            Step::ResolveKeytab => "opening the keytab",
            Step::InitialCredentials => "getting a ticket from the KDC with the keytab",
            Step::StoreCredentials => "storing the ticket in ckpt's private credential cache",
            Step::ServiceTicket => "getting a service ticket for the NameNode",
            Step::ReadCache => "listing the tickets of ckpt's private credential cache",
        }
    }
}

/// A failed krb5 call: the step, the krb5 error code (0 when none) and the library's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step that failed.
    pub step: Step,
    /// The `krb5_error_code` (0 when the failure did not come with one).
    pub code: i32,
    /// The library's message for the code (or ckpt's, for non-library failures).
    pub message: String,
}

impl Failure {
    /// A failure of `step` with code and message.
    pub fn new(step: Step, code: i32, message: String) -> Self {
        Failure {
            step,
            code,
            message,
        }
    }

    /// The library could not be loaded.
    pub fn library(message: String) -> Self {
        Failure::new(Step::LoadLibrary, 0, message)
    }
}

// MIT krb5 error codes (krb5/krb5.h, com_err table "krb5"), as signed 32-bit values.
const KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
const KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = -1765328377;
const KRB5KDC_ERR_ETYPE_NOSUPP: i32 = -1765328370;
const KRB5KDC_ERR_CLIENT_REVOKED: i32 = -1765328366;
const KRB5KDC_ERR_KEY_EXP: i32 = -1765328361;
const KRB5KDC_ERR_PREAUTH_FAILED: i32 = -1765328360;
const KRB5KRB_AP_ERR_BAD_INTEGRITY: i32 = -1765328353;
const KRB5KRB_AP_ERR_SKEW: i32 = -1765328347;
const KRB5_PARSE_MALFORMED: i32 = -1765328250;
const KRB5_CONFIG_CANTOPEN: i32 = -1765328249;
const KRB5_CONFIG_BADFORMAT: i32 = -1765328248;
const KRB5_KDCREP_SKEW: i32 = -1765328236;
const KRB5_REALM_UNKNOWN: i32 = -1765328230;
const KRB5_KDC_UNREACH: i32 = -1765328228;
const KRB5_KT_BADNAME: i32 = -1765328205;
const KRB5_KT_UNKNOWN_TYPE: i32 = -1765328204;
const KRB5_KT_NOTFOUND: i32 = -1765328203;
const KRB5_KT_END: i32 = -1765328202;
const KRB5_KT_IOERR: i32 = -1765328200;
const KRB5_PREAUTH_FAILED: i32 = -1765328174;
const KRB5_REALM_CANT_RESOLVE: i32 = -1765328164;
const KRB5_CONFIG_NODEFREALM: i32 = -1765328160;
const KRB5_KT_KVNONOTFOUND: i32 = -1765328154;
/// `KRB5_KT_FORMAT`: the keytab file is damaged or not a keytab.
pub const KRB5_KT_FORMAT: i32 = -1765328149;
const ENOENT: i32 = 2;
const EACCES: i32 = 13;

/// What most likely went wrong, from the krb5 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `libkrb5` is not installed.
    LibraryMissing,
    /// The keytab file does not exist.
    KeytabMissing,
    /// The keytab file cannot be read.
    KeytabUnreadable,
    /// The keytab is not a keytab, or is damaged.
    KeytabInvalid,
    /// The keytab holds no key for the principal.
    PrincipalNotInKeytab,
    /// The KDC does not know the client principal.
    UnknownPrincipal,
    /// The KDC does not know a service principal (NameNode).
    UnknownService,
    /// The keytab's key does not match the KDC's (stale keytab).
    WrongKey,
    /// No KDC could be reached, or the realm has no KDC configured.
    KdcUnreachable,
    /// krb5.conf is missing, unreadable or incomplete.
    BadKrb5Conf,
    /// Clocks of this host and the KDC differ too much.
    ClockSkew,
    /// The principal is malformed.
    MalformedPrincipal,
    /// The principal is disabled, expired or has no usable key type.
    PrincipalUnusable,
    /// Anything else.
    Other,
}

/// Classifies a failure by its step and code.
pub fn classify(failure: &Failure) -> Cause {
    if failure.step == Step::LoadLibrary {
        return Cause::LibraryMissing;
    }
    match failure.code {
        ENOENT | KRB5_KT_NOTFOUND if failure.step == Step::ResolveKeytab => Cause::KeytabMissing,
        KRB5_KT_NOTFOUND | KRB5_KT_KVNONOTFOUND => Cause::PrincipalNotInKeytab,
        EACCES => Cause::KeytabUnreadable,
        ENOENT => Cause::KeytabMissing,
        KRB5_KT_IOERR | KRB5_KT_FORMAT | KRB5_KT_END | KRB5_KT_BADNAME | KRB5_KT_UNKNOWN_TYPE => {
            Cause::KeytabInvalid
        }
        KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN => Cause::UnknownPrincipal,
        KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN if failure.step == Step::ServiceTicket => {
            Cause::UnknownService
        }
        KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN => Cause::BadKrb5Conf,
        KRB5KDC_ERR_PREAUTH_FAILED | KRB5KRB_AP_ERR_BAD_INTEGRITY | KRB5_PREAUTH_FAILED => {
            Cause::WrongKey
        }
        KRB5_KDC_UNREACH | KRB5_REALM_CANT_RESOLVE | KRB5_REALM_UNKNOWN => Cause::KdcUnreachable,
        KRB5_CONFIG_CANTOPEN | KRB5_CONFIG_BADFORMAT | KRB5_CONFIG_NODEFREALM => Cause::BadKrb5Conf,
        KRB5KRB_AP_ERR_SKEW | KRB5_KDCREP_SKEW => Cause::ClockSkew,
        KRB5_PARSE_MALFORMED => Cause::MalformedPrincipal,
        KRB5KDC_ERR_CLIENT_REVOKED | KRB5KDC_ERR_KEY_EXP | KRB5KDC_ERR_ETYPE_NOSUPP => {
            Cause::PrincipalUnusable
        }
        _ if failure.step == Step::InitContext => Cause::BadKrb5Conf,
        _ => Cause::Other,
    }
}

/// True when trying again later may help (KDC down or unreachable, clock skew, I/O).
pub fn is_transient(failure: &Failure) -> bool {
    matches!(
        classify(failure),
        Cause::KdcUnreachable | Cause::ClockSkew | Cause::Other
    )
}

/// True for the first two bytes of an MIT/Heimdal file keytab (format 0x0501 or 0x0502).
pub fn is_keytab_magic(magic: [u8; 2]) -> bool {
    matches!(magic, [5, 1] | [5, 2])
}

/// What a login is about, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Client principal.
    pub principal: &'a str,
    /// Keytab path as configured.
    pub keytab: &'a str,
    /// The krb5.conf in use and where that choice came from.
    pub krb5_conf: &'a str,
}

/// How a message refers to the keytab: by its key. The path is redacted everywhere, like every
/// value of a key naming a keytab (see `crate::conf::is_secret_key`): it tells an attacker where
/// the key material lives.
const KEYTAB: &str = "the keytab of kerberosKeytabFilePath";

/// The [`FsError::Auth`] for a failed login (or NameNode service ticket `service`).
///
/// Names the principal, the step, the krb5.conf in use and what to check; the keytab is named
/// by its key, never by its path (krb5's own message is scrubbed of it too).
pub fn auth_error(subject: &Subject<'_>, failure: &Failure, service: Option<&str>) -> FsError {
    let Subject {
        principal,
        keytab,
        krb5_conf,
    } = *subject;
    let hint = match classify(failure) {
        Cause::LibraryMissing => "install the MIT Kerberos runtime (Debian/Ubuntu: apt-get install libkrb5-3 libgssapi-krb5-2; RHEL: yum install krb5-libs)".to_string(),
        Cause::KeytabMissing => format!("{KEYTAB} does not exist; check kerberosKeytabFilePath"),
        Cause::KeytabUnreadable => format!("{KEYTAB} is not readable by this process; check its owner and mode"),
        Cause::KeytabInvalid => format!("{KEYTAB} is not a readable keytab; check it with `klist -kt <keytab>`"),
        Cause::PrincipalNotInKeytab => format!("{KEYTAB} holds no key for {principal}; list its principals with `klist -kt <keytab>` and set kerberosPrincipal to one of them (realm included)"),
        Cause::UnknownPrincipal => format!("the KDC does not know {principal}; check the principal's spelling and realm (`klist -kt <keytab>` lists the keytab's principals)"),
        Cause::UnknownService => format!("the KDC does not know the NameNode principal {}; check dfs.namenode.kerberos.principal (with _HOST replaced by the NameNode's host name)", service.unwrap_or("?")),
        Cause::WrongKey => format!("the key in {KEYTAB} does not match the KDC's key for {principal} (stale keytab after a password or kvno change?); export a fresh keytab"),
        Cause::KdcUnreachable => format!("no KDC for the principal's realm could be reached; check the [realms] kdc entries of {krb5_conf} and that the KDC is up and reachable from this host"),
        Cause::BadKrb5Conf => format!("check {krb5_conf}: it must exist, be readable and define default_realm and the realm's kdc"),
        Cause::ClockSkew => "the clocks of this host and the KDC differ too much; synchronise them (NTP)".to_string(),
        Cause::MalformedPrincipal => format!("{principal:?} is not a valid principal name (expected primary[/instance]@REALM)"),
        Cause::PrincipalUnusable => format!("the KDC refuses {principal} (disabled, expired or no supported key type); ask the Kerberos admin"),
        Cause::Other => format!("check {krb5_conf}, that the KDC is reachable, and the keytab with `klist -kt <keytab>`"),
    };
    let code = if failure.code != 0 {
        format!(" (krb5 error {})", failure.code)
    } else {
        String::new()
    };
    let detail = if failure.message.is_empty() {
        String::new()
    } else {
        format!(": {}", scrub_keytab(&failure.message, keytab))
    };
    let target = service
        .map(|s| format!(" (service {s})"))
        .unwrap_or_default();
    FsError::Auth {
        message: format!(
            "Kerberos login as {principal} with {KEYTAB} failed while {}{target}{detail}{code}; {hint}",
            failure.step.describe()
        ),
    }
}

/// `message` without the keytab's path (krb5 and the OS name the file in their messages).
pub fn scrub_keytab(message: &str, keytab: &str) -> String {
    let path = keytab
        .trim()
        .strip_prefix("FILE:")
        .unwrap_or(keytab.trim())
        .trim();
    if path.is_empty() {
        return message.to_string();
    }
    message.replace(path, crate::conf::REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject<'static> {
        Subject {
            principal: "ckpt/host@EXAMPLE.COM",
            keytab: "/etc/ckpt.keytab",
            krb5_conf: "/etc/krb5.conf (default)",
        }
    }

    fn message(step: Step, code: i32) -> String {
        auth_error(
            &subject(),
            &Failure::new(step, code, "lib says".into()),
            None,
        )
        .to_string()
    }

    #[test]
    fn classification() {
        let c = |step, code| classify(&Failure::new(step, code, String::new()));
        assert_eq!(c(Step::ResolveKeytab, ENOENT), Cause::KeytabMissing);
        assert_eq!(c(Step::InitialCredentials, ENOENT), Cause::KeytabMissing);
        assert_eq!(c(Step::InitialCredentials, EACCES), Cause::KeytabUnreadable);
        assert_eq!(
            c(Step::InitialCredentials, KRB5_KT_NOTFOUND),
            Cause::PrincipalNotInKeytab
        );
        assert_eq!(
            c(Step::InitialCredentials, KRB5_KDC_UNREACH),
            Cause::KdcUnreachable
        );
        assert_eq!(
            c(Step::InitialCredentials, KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN),
            Cause::UnknownPrincipal
        );
        assert_eq!(
            c(Step::ServiceTicket, KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN),
            Cause::UnknownService
        );
        assert_eq!(
            c(Step::InitialCredentials, KRB5KDC_ERR_PREAUTH_FAILED),
            Cause::WrongKey
        );
        assert_eq!(c(Step::InitContext, 12345), Cause::BadKrb5Conf);
        assert_eq!(c(Step::LoadLibrary, 0), Cause::LibraryMissing);
        assert_eq!(
            c(Step::InitialCredentials, KRB5_KT_FORMAT),
            Cause::KeytabInvalid
        );
        assert_eq!(
            c(Step::ParsePrincipal, KRB5_PARSE_MALFORMED),
            Cause::MalformedPrincipal
        );
    }

    #[test]
    fn transient_only_for_network_like_causes() {
        let t = |code| is_transient(&Failure::new(Step::InitialCredentials, code, String::new()));
        assert!(t(KRB5_KDC_UNREACH));
        assert!(t(KRB5KRB_AP_ERR_SKEW));
        assert!(!t(KRB5_KT_NOTFOUND));
        assert!(!t(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN));
        assert!(!t(KRB5KDC_ERR_PREAUTH_FAILED));
    }

    #[test]
    fn messages_name_principal_keytab_and_what_to_check() {
        let m = message(Step::InitialCredentials, KRB5_KT_NOTFOUND);
        assert!(m.contains("ckpt/host@EXAMPLE.COM"), "{m}");
        assert!(m.contains("kerberosKeytabFilePath"), "{m}");
        assert!(m.contains("klist -kt"), "{m}");
        assert!(m.contains("lib says"), "{m}");
        assert!(m.contains("-1765328203"), "{m}");

        let m = message(Step::InitialCredentials, KRB5_KDC_UNREACH);
        assert!(
            m.contains("/etc/krb5.conf (default)") && m.contains("reachable"),
            "{m}"
        );

        let m = message(Step::ResolveKeytab, ENOENT);
        assert!(
            m.contains("does not exist") && m.contains("kerberosKeytabFilePath"),
            "{m}"
        );

        let m = auth_error(
            &subject(),
            &Failure::new(
                Step::ServiceTicket,
                KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN,
                String::new(),
            ),
            Some("nn/nn1.example.com@EXAMPLE.COM"),
        )
        .to_string();
        assert!(
            m.contains("nn/nn1.example.com@EXAMPLE.COM")
                && m.contains("dfs.namenode.kerberos.principal"),
            "{m}"
        );
    }

    #[test]
    fn keytab_path_is_never_shown() {
        for step in [Step::ResolveKeytab, Step::InitialCredentials] {
            for code in [
                ENOENT,
                EACCES,
                KRB5_KT_FORMAT,
                KRB5_KT_NOTFOUND,
                KRB5KDC_ERR_PREAUTH_FAILED,
                0,
                1,
            ] {
                let m = auth_error(
                    &subject(),
                    &Failure::new(
                        step,
                        code,
                        "Key table file '/etc/ckpt.keytab' not found".into(),
                    ),
                    None,
                )
                .to_string();
                assert!(!m.contains("/etc/ckpt.keytab"), "{m}");
                assert!(m.contains("kerberosKeytabFilePath"), "{m}");
            }
        }
        assert_eq!(
            scrub_keytab("FILE:/k/t x /k/t", "FILE:/k/t"),
            "FILE:<redacted> x <redacted>"
        );
    }

    #[test]
    fn keytab_magic() {
        assert!(is_keytab_magic([5, 2]) && is_keytab_magic([5, 1]));
        assert!(!is_keytab_magic(*b"th") && !is_keytab_magic([5, 3]));
    }

    #[test]
    fn is_auth_variant() {
        let e = auth_error(&subject(), &Failure::library("cannot load".into()), None);
        assert!(matches!(e, FsError::Auth { .. }));
        assert!(e.to_string().contains("apt-get install"));
    }
}

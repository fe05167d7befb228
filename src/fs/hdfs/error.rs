//! Mapping of hdfs-native errors (and the Java exception classes a NameNode sends back) onto
//! [`FsError`]. Pure: no I/O.

use std::io::ErrorKind;

use hdfs_native::HdfsError;

use super::HdfsTarget;
use crate::fs::FsError;

const SCHEME: &str = "hdfs";

/// Java exception classes whose calls may succeed when tried again (HA switch, safe mode,
/// block recovery, a NameNode asking the client to come back later).
const RETRYABLE_CLASSES: &[&str] = &[
    "org.apache.hadoop.ipc.StandbyException",
    "org.apache.hadoop.ipc.RetriableException",
    "org.apache.hadoop.ipc.ObserverRetryOnActiveException",
    "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
    "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException",
    "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException",
    "org.apache.hadoop.ipc.RetryException",
    "org.apache.hadoop.ipc.ServerTooBusyException",
    "org.apache.hadoop.ipc.CallQueueOverflowException",
];

/// Java exception classes that mean the caller's credentials were refused.
const AUTH_CLASSES: &[&str] = &[
    "javax.security.sasl.SaslException",
    "org.apache.hadoop.security.authorize.AuthorizationException",
    "org.apache.hadoop.security.token.SecretManager$InvalidToken",
    "org.apache.hadoop.ipc.RpcServerException",
    "GSSException",
];

/// Message of a NameNode refusing `create` because this very client already holds the lease
/// of the file (an earlier attempt of ours created it but its reply was lost).
const OWN_LEASE_MARKER: &str = "current leaseholder is trying to recreate file";

/// True when the error says our own client already holds the lease of the file being created.
pub fn is_own_lease_conflict(error: &HdfsError) -> bool {
    match error {
        HdfsError::AlreadyExists(msg) | HdfsError::RPCError(_, msg) => {
            msg.contains(OWN_LEASE_MARKER)
        }
        _ => false,
    }
}

/// True for I/O error kinds that mean the connection failed (the NameNode or DataNode is down,
/// restarting or failing over).
pub fn is_retryable_io(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::TimedOut
            | ErrorKind::Interrupted
            | ErrorKind::UnexpectedEof
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable
            | ErrorKind::WouldBlock
    )
}

/// Maps the error of a call to the NameNodes of `target`: like [`map_error`], but a
/// connection failure names the NameNodes and their addresses (hdfs-native tried each of them
/// before reporting it), so that it does not read like a DataNode's.
pub fn map_namenode_error(path: &str, error: HdfsError, target: &HdfsTarget) -> FsError {
    match error {
        HdfsError::IOError(e) if is_retryable_io(e.kind()) => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!("{path}: {}: {e} (retryable)", target.describe()),
            retryable: true,
        },
        other => map_error(path, other),
    }
}

/// Maps a Java exception class (as sent in an RPC error) with its message.
pub fn map_remote(path: &str, class: &str, message: &str) -> FsError {
    let path = path.to_string();
    let short = class.rsplit('.').next().unwrap_or(class);
    let first_line = message.lines().next().unwrap_or("").trim();
    match short {
        "FileNotFoundException" => {
            if first_line.contains("is not a file") {
                FsError::IsADirectory { path }
            } else {
                FsError::NotFound { path }
            }
        }
        "FileAlreadyExistsException" | "AlreadyBeingCreatedException" => {
            if first_line.contains("is not a directory") {
                FsError::NotADirectory { path }
            } else {
                FsError::AlreadyExists { path }
            }
        }
        "ParentNotDirectoryException" => FsError::NotADirectory { path },
        "PathIsNotEmptyDirectoryException" => FsError::DirectoryNotEmpty { path },
        "PathIsNotDirectoryException" => FsError::NotADirectory { path },
        "AccessControlException" if class.starts_with("org.apache.hadoop.security") => {
            FsError::PermissionDenied {
                path,
                message: first_line.to_string(),
            }
        }
        "InvalidPathException" => FsError::InvalidPath {
            path,
            reason: first_line.to_string(),
        },
        _ if RETRYABLE_CLASSES.contains(&class) => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!("{path}: {short}: {first_line} (retryable)"),
            retryable: true,
        },
        _ if AUTH_CLASSES.iter().any(|c| class.contains(c)) => FsError::Auth {
            message: format!("{path}: {short}: {first_line}"),
        },
        _ => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!("{path}: {class}: {first_line}"),
            retryable: false,
        },
    }
}

/// Maps an hdfs-native error about `path`.
pub fn map_error(path: &str, error: HdfsError) -> FsError {
    let backend = |message: String, retryable: bool| FsError::Backend {
        scheme: SCHEME.to_string(),
        message: format!(
            "{path}: {message}{}",
            if retryable { " (retryable)" } else { "" }
        ),
        retryable,
    };
    match error {
        HdfsError::FileNotFound(_) => FsError::NotFound {
            path: path.to_string(),
        },
        HdfsError::AlreadyExists(msg) => map_remote(
            path,
            "org.apache.hadoop.fs.FileAlreadyExistsException",
            &msg,
        ),
        HdfsError::IsADirectoryError(_) => FsError::IsADirectory {
            path: path.to_string(),
        },
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) => {
            map_remote(path, &class, &msg)
        }
        HdfsError::IOError(e) => {
            let retryable = is_retryable_io(e.kind());
            let text = e.to_string();
            if !retryable && text.contains("lookup address") {
                backend(
                    format!("cannot resolve the NameNode host ({text}); check fs.defaultFS and dfs.namenode.rpc-address.*"),
                    false,
                )
            } else {
                backend(format!("I/O error talking to HDFS: {text}"), retryable)
            }
        }
        HdfsError::DataTransferError(msg) => {
            backend(format!("DataNode transfer failed: {msg}"), true)
        }
        HdfsError::ChecksumError => backend("block checksum mismatch".to_string(), true),
        HdfsError::BlocksNotFound(msg) => backend(format!("no DataNode has the block: {msg}"), true),
        HdfsError::OperationFailed(msg) => {
            let retryable = msg.contains("complete file in time");
            backend(format!("operation failed: {msg}"), retryable)
        }
        HdfsError::InvalidPath(msg) => FsError::InvalidPath {
            path: path.to_string(),
            reason: msg,
        },
        HdfsError::SASLError(msg) => FsError::Auth {
            message: format!("SASL negotiation with HDFS failed: {msg}"),
        },
        HdfsError::GSSAPIError(code, minor, msg) => FsError::Auth {
            message: gssapi_message(code.raw(), minor, &msg),
        },
        HdfsError::NoSASLMechanism => FsError::Auth {
            message: "the NameNode offered no SASL mechanism this client supports (check hadoop.security.authentication and hadoop.rpc.protection)".to_string(),
        },
        HdfsError::InvalidArgument(msg) | HdfsError::UnsupportedFeature(msg) => {
            backend(msg, false)
        }
        other => backend(other.to_string(), false),
    }
}

/// GSSAPI routine errors (RFC 2744) that have a remedy worth naming.
const GSS_S_NO_CRED: u32 = 7;
const GSS_S_CREDENTIALS_EXPIRED: u32 = 11;

/// A GSSAPI failure as a user should read it: what failed, and what to do about it.
fn gssapi_message(major: u32, minor: u32, text: &str) -> String {
    let hint = match (major >> 16) & 0xff {
        GSS_S_NO_CRED => {
            "there are no Kerberos credentials: set kerberosPrincipal and kerberosKeytab in \
             plugin-config (ckpt then logs in from the keytab and renews by itself), or run kinit \
             as the user running ckpt"
        }
        GSS_S_CREDENTIALS_EXPIRED => {
            "the Kerberos ticket has expired: run kinit again, or set kerberosPrincipal and \
             kerberosKeytab so ckpt renews the login by itself"
        }
        _ if text.contains("not found in Kerberos database") => {
            "the KDC does not know the service principal: check dfs.namenode.kerberos.principal \
             (_HOST is replaced by the NameNode's host name)"
        }
        _ => {
            "check kerberosPrincipal, kerberosKeytab, dfs.namenode.kerberos.principal and krb5.conf"
        }
    };
    format!("Kerberos (GSSAPI): {text} (major 0x{major:08x}, minor {minor}); {hint}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn namenode_connection_failures_name_the_namenodes() {
        let target = super::HdfsTarget::NameService {
            nameservice: "ns1".into(),
            namenodes: vec![
                ("nn1".into(), "127.0.0.1:1".into()),
                ("nn2".into(), "127.0.0.1:2".into()),
            ],
        };
        let refused = || {
            hdfs_native::HdfsError::IOError(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))
        };
        let err = super::map_namenode_error("hdfs://ns1/a", refused(), &target);
        assert!(err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains("NameNode nn1 at 127.0.0.1:1 and NameNode nn2 at 127.0.0.1:2 of nameservice ns1: connection refused"),
            "{text}"
        );
        // Other errors read as before.
        let missing = hdfs_native::HdfsError::FileNotFound("/a".into());
        assert!(super::map_namenode_error("hdfs://ns1/a", missing, &target).is_not_found());
        assert!(!super::map_error("p", refused()).to_string().contains("nn1"));
    }

    #[test]
    fn gssapi_errors_say_what_to_do() {
        let none = super::gssapi_message(0x0007_0000, 1, "No Kerberos credentials available");
        assert!(
            none.contains("kinit") && none.contains("kerberosKeytab"),
            "{none}"
        );
        assert!(none.contains("0x00070000"), "{none}");
        let expired = super::gssapi_message(0x000b_0000, 0, "Ticket expired");
        assert!(expired.contains("expired: run kinit again"), "{expired}");
        let unknown = super::gssapi_message(
            0x000d_0000,
            0,
            "Server nn/h@R not found in Kerberos database",
        );
        assert!(
            unknown.contains("dfs.namenode.kerberos.principal"),
            "{unknown}"
        );
        let other = super::gssapi_message(0x000d_0000, 0, "something");
        assert!(other.contains("krb5.conf"), "{other}");
    }

    use super::*;

    fn rpc(class: &str, msg: &str) -> HdfsError {
        HdfsError::RPCError(class.to_string(), msg.to_string())
    }

    type Expectation = fn(&FsError) -> bool;

    #[test]
    fn namenode_exceptions_map_to_hadoop_kinds() {
        let p = "hdfs://ns/a";
        let cases: Vec<(HdfsError, Expectation)> = vec![
            (
                rpc("java.io.FileNotFoundException", "File does not exist: /a"),
                |e| matches!(e, FsError::NotFound { .. }),
            ),
            (
                rpc("java.io.FileNotFoundException", "Path is not a file: /a"),
                |e| matches!(e, FsError::IsADirectory { .. }),
            ),
            (
                HdfsError::AlreadyExists("/a for client 1 already exists".into()),
                |e| matches!(e, FsError::AlreadyExists { .. }),
            ),
            (
                rpc(
                    "org.apache.hadoop.fs.ParentNotDirectoryException",
                    "/a (is not a directory)",
                ),
                |e| matches!(e, FsError::NotADirectory { .. }),
            ),
            (
                rpc(
                    "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
                    "`/a is non empty': Directory is not empty",
                ),
                |e| matches!(e, FsError::DirectoryNotEmpty { .. }),
            ),
            (
                rpc(
                    "org.apache.hadoop.security.AccessControlException",
                    "Permission denied: user=root, access=WRITE",
                ),
                |e| matches!(e, FsError::PermissionDenied { message, .. } if message.contains("user=root")),
            ),
            (
                rpc(
                    "org.apache.hadoop.ipc.StandbyException",
                    "Operation category WRITE is not supported in state standby",
                ),
                |e| e.is_retryable(),
            ),
            (
                rpc("org.apache.hadoop.ipc.RetriableException", "later"),
                |e| e.is_retryable(),
            ),
            (
                rpc(
                    "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
                    "Name node is in safe mode",
                ),
                |e| e.is_retryable(),
            ),
            (
                rpc(
                    "org.apache.hadoop.hdfs.protocol.QuotaExceededException",
                    "quota",
                ),
                |e| {
                    matches!(
                        e,
                        FsError::Backend {
                            retryable: false,
                            ..
                        }
                    )
                },
            ),
            (
                rpc("javax.security.sasl.SaslException", "GSS initiate failed"),
                |e| matches!(e, FsError::Auth { .. }),
            ),
        ];
        for (err, check) in cases {
            let text = err.to_string();
            let mapped = map_error(p, err);
            assert!(check(&mapped), "{text} -> {mapped:?}");
            assert!(
                mapped.to_string().contains(p) || matches!(mapped, FsError::Auth { .. }),
                "{mapped}"
            );
        }
    }

    #[test]
    fn connection_failures_are_retryable_and_dns_failures_are_not() {
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::UnexpectedEof,
        ] {
            let e = map_error("/p", HdfsError::IOError(std::io::Error::new(kind, "x")));
            assert!(e.is_retryable(), "{kind:?}: {e:?}");
            assert!(e.to_string().contains("retryable"), "{e}");
        }
        let dns = map_error(
            "/p",
            HdfsError::IOError(std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            )),
        );
        assert!(!dns.is_retryable());
        assert!(dns.to_string().contains("fs.defaultFS"), "{dns}");
        assert!(map_error("/p", HdfsError::DataTransferError("pipeline".into())).is_retryable());
    }

    #[test]
    fn own_lease_conflicts_are_recognised() {
        let own = HdfsError::AlreadyExists(
            "Failed to CREATE_FILE /x for DFSClient_1 on 127.0.0.1 because current leaseholder is trying to recreate file.".into(),
        );
        assert!(is_own_lease_conflict(&own));
        assert!(!is_own_lease_conflict(&HdfsError::AlreadyExists(
            "/x for client 1 already exists".into()
        )));
    }
}

//! Building the `aws-sdk-s3` client from [`S3Settings`], and mapping SDK errors onto
//! [`FsError`] kinds.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::instrument::WithSubscriber;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, SharedCredentialsProvider,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::config::{ChecksumMode, Endpoint, ProviderKind, S3Settings};
use super::credentials::{HadoopCredentialsChain, ProviderUsed};
use super::log_scrub::{KnownSecrets, ScrubbingSubscriber};
use crate::fs::retry::retry_request;
use crate::fs::{FsError, FsResult};

/// One bucket's client, settings and run-time state.
#[derive(Debug)]
pub struct S3Context {
    /// The SDK client.
    pub client: aws_sdk_s3::Client,
    /// The effective settings.
    pub settings: S3Settings,
    /// The URI scheme used (`s3a` or `s3`).
    pub scheme: String,
    /// Which provider supplied credentials (`None` for anonymous access).
    used: Option<ProviderUsed>,
    /// Whether conditional create is (still) believed to work on this endpoint.
    conditional: AtomicBool,
    /// The dispatcher SDK requests run under, scrubbing credentials from the SDK's events
    /// (`None` when no subscriber was installed when the client was built).
    log: Option<tracing::Dispatch>,
}

impl S3Context {
    /// Builds the client; no request is sent.
    pub fn new(settings: S3Settings, scheme: &str) -> Result<S3Context, FsError> {
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .force_path_style(settings.path_style)
            // ckpt's retry layer retries every request (`S3Context::send`); the SDK must not
            // retry behind it, or the attempts multiply and the time budget means nothing.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.connect_timeout)
                    .read_timeout(settings.read_timeout)
                    .operation_attempt_timeout(settings.retry.max_elapsed)
                    .build(),
            )
            .request_checksum_calculation(match settings.checksum {
                ChecksumMode::WhenSupported => RequestChecksumCalculation::WhenSupported,
                ChecksumMode::WhenRequired => RequestChecksumCalculation::WhenRequired,
            });
        if let Endpoint::Custom(url) = &settings.endpoint {
            builder = builder.endpoint_url(url.clone());
        }
        let secrets = KnownSecrets::default();
        for value in [
            &settings.keys.access_key,
            &settings.keys.secret_key,
            &settings.keys.session_token,
        ]
        .into_iter()
        .flatten()
        {
            secrets.add(value);
        }
        let used = if settings.providers == [ProviderKind::Anonymous] {
            builder = builder.allow_no_auth();
            None
        } else {
            let chain = HadoopCredentialsChain::new(&settings)?.with_known_secrets(secrets.clone());
            let used = chain.used();
            builder = builder.credentials_provider(SharedCredentialsProvider::new(chain));
            Some(used)
        };
        let client = aws_sdk_s3::Client::from_conf(builder.build());
        let conditional = AtomicBool::new(settings.conditional_create);
        Ok(S3Context {
            client,
            settings,
            scheme: scheme.to_string(),
            used,
            conditional,
            log: ScrubbingSubscriber::dispatch_for_current(secrets),
        })
    }

    /// The dispatcher SDK requests of this client run under (see [`S3Context::retrying`]).
    pub fn log_dispatch(&self) -> tracing::Dispatch {
        match &self.log {
            Some(dispatch) => dispatch.clone(),
            None => tracing::dispatcher::get_default(tracing::Dispatch::clone),
        }
    }

    /// Whether `create(overwrite=false)` uses a conditional request.
    pub fn conditional_create(&self) -> bool {
        self.conditional.load(Ordering::Relaxed)
    }

    /// Remembers that this endpoint does not implement conditional writes.
    pub fn disable_conditional_create(&self) {
        if self.conditional.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                endpoint = %self.endpoint_display(),
                "the S3 endpoint does not implement If-None-Match; create-if-absent falls back to check-then-put (not atomic); set {} = false to silence",
                super::config::CONDITIONAL_CREATE
            );
        }
    }

    /// The endpoint, for messages.
    pub fn endpoint_display(&self) -> String {
        match &self.settings.endpoint {
            Endpoint::Aws => format!("AWS S3 ({})", self.settings.region),
            Endpoint::Custom(url) => url.clone(),
        }
    }

    /// The credentials provider in use, for messages (never key material).
    pub fn provider_display(&self) -> String {
        match &self.used {
            None => ProviderKind::Anonymous.class_name().to_string(),
            Some(used) => match used.get() {
                Some(kind) => kind.class_name().to_string(),
                None => format!(
                    "the chain {}",
                    self.settings
                        .providers
                        .iter()
                        .map(|k| k.class_name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    }

    /// Runs one request under the `ckpt.retry.*` layer: `attempt(n)` makes attempt `n`
    /// (1-based) and maps its errors; an attempt still running at the end of the budget is
    /// cancelled. Attempts run under the scrubbing dispatcher (see [`super::log_scrub`]).
    /// When it gives up, the error names `operation`, `path`, the endpoint and the attempts.
    pub async fn retrying<T, F, Fut>(
        &self,
        operation: &str,
        path: &str,
        mut attempt: F,
    ) -> FsResult<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = FsResult<T>>,
    {
        let name = format!("{operation} {path} at {}", self.endpoint_display());
        let log = self.log_dispatch();
        retry_request(&name, &self.settings.retry, |n| {
            attempt(n).with_subscriber(log.clone())
        })
        .await
    }

    /// [`S3Context::retrying`] for a plain SDK request: `request()` is `builder.send()`,
    /// built afresh for each attempt; errors are mapped by [`S3Context::map_err`].
    pub async fn send<T, E, F, Fut>(
        &self,
        operation: &str,
        path: &str,
        mut request: F,
    ) -> FsResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.retrying(operation, path, |_| {
            let sent = request();
            async move { sent.await.map_err(|e| self.map_err(operation, path, e)) }
        })
        .await
    }

    /// HEAD of `key` (`path` is how it is shown); `None` when there is no such object.
    pub async fn head(&self, key: &str, path: &str) -> FsResult<Option<HeadObjectOutput>> {
        let head = self
            .send("HEAD", path, || {
                self.client
                    .head_object()
                    .bucket(&self.settings.bucket)
                    .key(key)
                    .send()
            })
            .await;
        match head {
            Ok(out) => Ok(Some(out)),
            Err(FsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// DELETE of `key` (idempotent: S3 answers 204 for a missing key too).
    pub async fn delete_object(&self, key: &str, path: &str) -> FsResult<()> {
        self.send("DELETE", path, || {
            self.client
                .delete_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Maps an SDK error of `operation` on `path` onto an [`FsError`].
    pub fn map_err<E>(&self, operation: &str, path: &str, err: SdkError<E, HttpResponse>) -> FsError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&err).to_string();
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = service.err().code().unwrap_or("").to_string();
                let message = service.err().message().unwrap_or("").to_string();
                self.map_service(operation, path, status, &code, &message)
            }
            SdkError::TimeoutError(_) => FsError::Backend {
                scheme: self.scheme.clone(),
                message: format!(
                    "{operation} {path}: timed out talking to {} ({detail})",
                    self.endpoint_display()
                ),
                retryable: true,
            },
            SdkError::DispatchFailure(dispatch) => {
                if is_credentials_failure(&err) {
                    return FsError::Auth {
                        message: format!(
                            "{operation} {path}: could not load S3 credentials from {}: {detail}",
                            self.provider_display()
                        ),
                    };
                }
                let kind = if dispatch.is_timeout() {
                    "timed out connecting to"
                } else if dispatch.is_io() {
                    "cannot reach"
                } else {
                    "request failed to"
                };
                FsError::Backend {
                    scheme: self.scheme.clone(),
                    message: format!(
                        "{operation} {path}: {kind} {} ({detail}); check {} and that the server is up",
                        self.endpoint_display(),
                        super::config::ENDPOINT
                    ),
                    retryable: !dispatch.is_user(),
                }
            }
            SdkError::ResponseError(_) => FsError::Backend {
                scheme: self.scheme.clone(),
                message: format!(
                    "{operation} {path}: unreadable response from {} ({detail})",
                    self.endpoint_display()
                ),
                retryable: true,
            },
            _ => {
                if is_credentials_failure(&err) {
                    return FsError::Auth {
                        message: format!(
                            "{operation} {path}: could not load S3 credentials from {}: {detail}",
                            self.provider_display()
                        ),
                    };
                }
                FsError::Backend {
                    scheme: self.scheme.clone(),
                    message: format!("{operation} {path}: {detail}"),
                    retryable: false,
                }
            }
        }
    }

    fn map_service(
        &self,
        operation: &str,
        path: &str,
        status: u16,
        code: &str,
        message: &str,
    ) -> FsError {
        let said = if message.is_empty() {
            format!("HTTP {status} {code}")
        } else {
            format!("HTTP {status} {code}: {message}")
        };
        match (status, code) {
            (_, "NoSuchBucket") => FsError::Config {
                key: "s3.bucket".to_string(),
                message: format!(
                    "bucket {:?} does not exist at {} ({operation} {path}); create it or fix the bucket name",
                    self.settings.bucket,
                    self.endpoint_display()
                ),
            },
            (_, "NoSuchKey" | "NotFound" | "NoSuchUpload") | (404, _) => FsError::NotFound {
                path: path.to_string(),
            },
            (412, _) | (_, "PreconditionFailed") => FsError::AlreadyExists {
                path: path.to_string(),
            },
            (
                _,
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"
                | "InvalidTokenId"
                | "AuthorizationHeaderMalformed",
            ) => FsError::Auth {
                message: format!(
                    "{operation} {path}: S3 at {} refused the credentials from {} ({said})",
                    self.endpoint_display(),
                    self.provider_display()
                ),
            },
            (403, _) | (_, "AccessDenied") => FsError::PermissionDenied {
                path: path.to_string(),
                message: format!(
                    "{operation}: S3 at {} denied access with the credentials from {} ({said})",
                    self.endpoint_display(),
                    self.provider_display()
                ),
            },
            (
                _,
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError"
                | "ServiceUnavailable"
                | "ConditionalRequestConflict"
                | "OperationAborted",
            )
            | (409 | 429 | 500..=599, _) => FsError::Backend {
                scheme: self.scheme.clone(),
                message: format!("{operation} {path}: {said}"),
                retryable: status != 501,
            },
            _ => FsError::Backend {
                scheme: self.scheme.clone(),
                message: format!("{operation} {path}: {said}"),
                retryable: false,
            },
        }
    }
}

/// True when the error is the identity (credentials) resolution failing.
fn is_credentials_failure<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: StdError + 'static,
{
    let mut source: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// True when the error says the endpoint does not implement a conditional header.
pub fn is_not_implemented(err: &FsError) -> bool {
    matches!(err, FsError::Backend { message, .. } if message.contains("HTTP 501") || message.contains("NotImplemented"))
}

//! The credentials provider chain of `fs.s3a.aws.credentials.provider`, in Hadoop's order
//! and with Hadoop's semantics: each provider is tried in turn; the first that yields
//! credentials wins. The chain remembers which provider supplied the credentials in use, so
//! an authentication error can name it (never the key material).

use std::sync::{Arc, Mutex};

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

use super::config::{ACCESS_KEY, ProviderKind, S3Settings, SECRET_KEY, SESSION_TOKEN, StaticKeys};
use super::log_scrub::KnownSecrets;
use crate::fs::FsError;

/// Records which provider of a chain supplied the credentials in use.
#[derive(Debug, Clone, Default)]
pub struct ProviderUsed(Arc<Mutex<Option<ProviderKind>>>);

impl ProviderUsed {
    fn set(&self, kind: ProviderKind) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(kind);
        }
    }

    /// The provider that last supplied credentials, if any did.
    pub fn get(&self) -> Option<ProviderKind> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// Hadoop's `AWSCredentialProviderList`: providers tried in order.
#[derive(Debug)]
pub struct HadoopCredentialsChain {
    providers: Vec<(ProviderKind, SharedCredentialsProvider)>,
    used: ProviderUsed,
    secrets: KnownSecrets,
}

/// Static keys from the configuration, as the Simple or Temporary provider reads them.
#[derive(Debug)]
struct ConfKeysProvider {
    kind: ProviderKind,
    keys: StaticKeys,
}

impl ConfKeysProvider {
    fn load(&self) -> Result<Credentials, CredentialsError> {
        let name = self.kind.class_name();
        let (Some(ak), Some(sk)) = (&self.keys.access_key, &self.keys.secret_key) else {
            return Err(CredentialsError::not_loaded(format!(
                "{name}: {ACCESS_KEY} and {SECRET_KEY} are not both set"
            )));
        };
        let token = match self.kind {
            ProviderKind::Temporary => match &self.keys.session_token {
                Some(t) => Some(t.clone()),
                None => {
                    return Err(CredentialsError::not_loaded(format!(
                        "{name}: {SESSION_TOKEN} is not set"
                    )));
                }
            },
            // Hadoop's SimpleAWSCredentialsProvider ignores any session token.
            _ => None,
        };
        Ok(Credentials::new(
            ak,
            sk,
            token,
            None,
            "hadoop-configuration",
        ))
    }
}

impl ProvideCredentials for ConfKeysProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.load())
    }
}

fn imds_provider(settings: &S3Settings) -> Result<ImdsCredentialsProvider, FsError> {
    let mut builder = ImdsCredentialsProvider::builder();
    if let Some(endpoint) = &settings.imds_endpoint {
        let client = imds::Client::builder()
            .endpoint(endpoint)
            .map_err(|e| FsError::Config {
                key: super::config::IMDS_ENDPOINT.to_string(),
                message: format!("invalid IMDS endpoint {endpoint:?}: {e}"),
            })?
            .build();
        builder = builder.imds_client(client);
    }
    Ok(builder.build())
}

impl HadoopCredentialsChain {
    /// Builds the chain for `settings.providers` (which must not be `[Anonymous]`).
    pub fn new(settings: &S3Settings) -> Result<Self, FsError> {
        let mut providers = Vec::new();
        for kind in &settings.providers {
            let provider = match kind {
                ProviderKind::Simple | ProviderKind::Temporary => {
                    SharedCredentialsProvider::new(ConfKeysProvider {
                        kind: *kind,
                        keys: settings.keys.clone(),
                    })
                }
                ProviderKind::Environment => {
                    SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
                }
                ProviderKind::InstanceProfile => {
                    SharedCredentialsProvider::new(imds_provider(settings)?)
                }
                ProviderKind::Anonymous => {
                    return Err(FsError::Config {
                        key: super::config::CREDENTIALS_PROVIDER.to_string(),
                        message: "the anonymous provider cannot be part of a chain".to_string(),
                    });
                }
            };
            providers.push((*kind, provider));
        }
        Ok(HadoopCredentialsChain {
            providers,
            used: ProviderUsed::default(),
            secrets: KnownSecrets::default(),
        })
    }

    /// Remembers every credential this chain hands out in `secrets` (which the SDK's log
    /// events are scrubbed of).
    pub fn with_known_secrets(mut self, secrets: KnownSecrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The handle telling which provider supplied the credentials in use.
    pub fn used(&self) -> ProviderUsed {
        self.used.clone()
    }

    async fn resolve(&self) -> Result<Credentials, CredentialsError> {
        let mut reasons = Vec::new();
        for (kind, provider) in &self.providers {
            match provider.provide_credentials().await {
                Ok(creds) => {
                    self.secrets.add(creds.access_key_id());
                    self.secrets.add(creds.secret_access_key());
                    if let Some(token) = creds.session_token() {
                        self.secrets.add(token);
                    }
                    tracing::debug!(provider = %kind, "S3 credentials loaded");
                    self.used.set(*kind);
                    return Ok(creds);
                }
                Err(e) => {
                    let reason = aws_smithy_types::error::display::DisplayErrorContext(&e);
                    tracing::debug!(provider = %kind, error = %reason, "no S3 credentials from provider");
                    reasons.push(format!("{kind}: {reason}"));
                }
            }
        }
        Err(CredentialsError::not_loaded(format!(
            "no provider in {} supplied credentials ({})",
            super::config::CREDENTIALS_PROVIDER,
            reasons.join("; ")
        )))
    }
}

impl ProvideCredentials for HadoopCredentialsChain {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.resolve())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::Configuration;
    use crate::fs::s3::config::settings_from_conf;

    fn chain(pairs: &[(&str, &str)]) -> HadoopCredentialsChain {
        let conf = Configuration::from_pairs(pairs.iter().copied());
        HadoopCredentialsChain::new(&settings_from_conf(&conf, "b").unwrap()).unwrap()
    }

    #[tokio::test]
    async fn simple_then_temporary_order() {
        let c = chain(&[
            (ACCESS_KEY, "ak"),
            (SECRET_KEY, "sk"),
            (SESSION_TOKEN, "tok"),
            (
                super::super::config::CREDENTIALS_PROVIDER,
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider,org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            ),
        ]);
        let creds = c.provide_credentials().await.unwrap();
        assert_eq!(creds.session_token(), Some("tok"));
        assert_eq!(c.used().get(), Some(ProviderKind::Temporary));
    }

    #[tokio::test]
    async fn temporary_without_token_falls_through() {
        let c = chain(&[
            (ACCESS_KEY, "ak"),
            (SECRET_KEY, "sk"),
            (
                super::super::config::CREDENTIALS_PROVIDER,
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider,org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            ),
        ]);
        let creds = c.provide_credentials().await.unwrap();
        assert_eq!(creds.session_token(), None);
        assert_eq!(creds.access_key_id(), "ak");
        assert_eq!(c.used().get(), Some(ProviderKind::Simple));
    }

    #[tokio::test]
    async fn nothing_configured_names_the_providers_not_the_secret() {
        let c = chain(&[
            (SECRET_KEY, "super-secret-value"),
            (
                super::super::config::CREDENTIALS_PROVIDER,
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            ),
        ]);
        let err = c.provide_credentials().await.unwrap_err();
        let text = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        );
        assert!(text.contains("SimpleAWSCredentialsProvider"), "{text}");
        assert!(text.contains(ACCESS_KEY), "{text}");
        assert!(!text.contains("super-secret-value"), "{text}");
        assert_eq!(c.used().get(), None);
    }
}

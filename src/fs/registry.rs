//! The registry from URI scheme to file system backend; users can register their own.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{FileSystem, FsError, FsResult, Path};
use crate::conf::Configuration;

/// Builds file system instances for one or more URI schemes.
#[async_trait]
pub trait FileSystemFactory: Send + Sync {
    /// The schemes this factory serves, lower case (e.g. `["s3a", "s3"]`).
    fn schemes(&self) -> Vec<String>;

    /// Creates a file system for the root `root` (scheme and authority; path `/`) with the
    /// effective Hadoop configuration `conf`.
    async fn create(&self, root: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>>;

    /// Checks the configuration for `root` as [`FileSystemFactory::create`] would, without
    /// contacting anything (no connection, no login), so that `ckpt config check` rejects
    /// what creating the file system would reject. The default accepts everything.
    fn check(
        &self,
        root: &Path,
        conf: &Configuration,
        registry: &FileSystemRegistry,
    ) -> FsResult<()> {
        let _ = (root, conf, registry);
        Ok(())
    }

    /// Like [`FileSystemFactory::create`], for a file system built through `registry`; a
    /// backend that stacks on others (e.g. `viewfs://`) builds them through the same
    /// registry, so user-registered schemes work beneath it too.
    async fn create_in(
        &self,
        root: &Path,
        conf: &Configuration,
        registry: &FileSystemRegistry,
    ) -> FsResult<Arc<dyn FileSystem>> {
        let _ = registry;
        self.create(root, conf).await
    }
}

/// Maps URI schemes to factories.
#[derive(Clone, Default)]
pub struct FileSystemRegistry {
    factories: BTreeMap<String, Arc<dyn FileSystemFactory>>,
}

impl std::fmt::Debug for FileSystemRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSystemRegistry")
            .field("schemes", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FileSystemRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with every backend compiled into this build (`file`, `viewfs`, and `hdfs`,
    /// `s3a`/`s3`, `oss` when their features are on).
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        registry.replace(Arc::new(super::local::LocalFileSystemFactory));
        registry.replace(Arc::new(super::viewfs::ViewFileSystemFactory::default()));
        #[cfg(feature = "hdfs")]
        registry.replace(Arc::new(super::hdfs::HdfsFileSystemFactory::default()));
        #[cfg(feature = "s3")]
        registry.replace(Arc::new(super::s3::S3FileSystemFactory::default()));
        #[cfg(feature = "oss")]
        registry.replace(Arc::new(super::oss::OssFileSystemFactory::default()));
        registry
    }

    /// Registers a factory; [`FsError::Config`] when one of its schemes is taken already.
    pub fn register(&mut self, factory: Arc<dyn FileSystemFactory>) -> FsResult<()> {
        // Schemes are stored lower case (URIs match them case-insensitively), so compare so.
        for scheme in factory.schemes() {
            let scheme = scheme.to_ascii_lowercase();
            if self.factories.contains_key(&scheme) {
                return Err(FsError::Config {
                    key: format!("fs.{scheme}.impl"),
                    message: format!("a file system is already registered for scheme {scheme:?}"),
                });
            }
        }
        self.replace(factory);
        Ok(())
    }

    /// Registers a factory, replacing whatever served its schemes before.
    pub fn replace(&mut self, factory: Arc<dyn FileSystemFactory>) {
        for scheme in factory.schemes() {
            self.factories
                .insert(scheme.to_ascii_lowercase(), factory.clone());
        }
    }

    /// The registered schemes, sorted.
    pub fn schemes(&self) -> Vec<String> {
        self.factories.keys().cloned().collect()
    }

    /// Creates the file system serving `uri`'s scheme and authority.
    pub async fn get(&self, uri: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        self.factory_for(uri)?
            .create_in(&uri.root(), conf, self)
            .await
    }

    /// Checks, without contacting anything, that [`FileSystemRegistry::get`] would accept
    /// `uri` and `conf` as far as configuration goes (see [`FileSystemFactory::check`]).
    pub fn check(&self, uri: &Path, conf: &Configuration) -> FsResult<()> {
        self.factory_for(uri)?.check(&uri.root(), conf, self)
    }

    fn factory_for(&self, uri: &Path) -> FsResult<&Arc<dyn FileSystemFactory>> {
        let scheme = uri.scheme().ok_or_else(|| FsError::InvalidPath {
            path: uri.to_string(),
            reason: "a file system URI needs a scheme (file://, hdfs://, s3a://, oss://)"
                .to_string(),
        })?;
        self.factories
            .get(scheme)
            .ok_or_else(|| FsError::UnknownScheme {
                scheme: scheme.to_string(),
                known: self.schemes().join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A factory serving the given schemes; never asked to create anything here.
    struct Named(Vec<&'static str>);

    #[async_trait]
    impl FileSystemFactory for Named {
        fn schemes(&self) -> Vec<String> {
            self.0.iter().map(|s| s.to_string()).collect()
        }

        async fn create(&self, root: &Path, _: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
            Err(FsError::UnknownScheme {
                scheme: root.to_string(),
                known: String::new(),
            })
        }
    }

    #[test]
    fn duplicate_schemes_are_found_whatever_their_case() {
        let mut registry = FileSystemRegistry::new();
        registry.register(Arc::new(Named(vec!["MyFs"]))).unwrap();
        assert_eq!(registry.schemes(), vec!["myfs"]);
        let again = registry.register(Arc::new(Named(vec!["myfs"])));
        assert!(matches!(again, Err(FsError::Config { .. })), "{again:?}");
        let upper = registry.register(Arc::new(Named(vec!["other", "MYFS"])));
        assert!(matches!(upper, Err(FsError::Config { .. })), "{upper:?}");
        // A refused registration registers none of its schemes.
        assert_eq!(registry.schemes(), vec!["myfs"]);
    }
}

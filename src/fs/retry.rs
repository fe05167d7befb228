//! A shared retry layer: bounded exponential backoff with jitter and a total time budget.
//!
//! Only errors for which [`FsError::is_retryable`] is true are retried; any other error is
//! returned at once, unchanged. When the budget or the attempt limit runs out, the result is
//! [`FsError::RetriesExhausted`] naming the operation, the number of attempts, the time spent
//! and the last error.
//!
//! The policy is read from the Hadoop-style configuration (all optional):
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `ckpt.retry.max-elapsed` | `60s` | total time budget of one operation, all attempts and waits included; no new attempt starts after it |
//! | `ckpt.retry.max-attempts` | `20` | most attempts (the first one included); `1` disables retries |
//! | `ckpt.retry.initial-backoff` | `200ms` | wait before the second attempt |
//! | `ckpt.retry.max-backoff` | `5s` | the wait doubles per attempt up to this |
//!
//! Durations take Hadoop suffixes (`500ms`, `10s`, `2m`); a bare number is milliseconds.
//! Each wait is drawn at random between half and all of the nominal backoff ("equal jitter"),
//! so clients that failed together do not retry in lockstep. An attempt already running when
//! the budget runs out is not interrupted by [`retry`] and [`retry_with_attempt`] (backends
//! bound their own calls, e.g. the HDFS backend's per-call NameNode timeout, using
//! [`deadline`]); the layer only refuses to start or wait for another one. [`retry_request`],
//! used by the object stores (S3, OSS), also cancels an attempt still running at the end, so
//! a request never outlives the budget.
//!
//! **One deadline per operation.** An operation made of several retried steps (a store: list,
//! create, write, rewrite, rename) runs under [`with_budget`]: every retry loop inside it,
//! however nested, stops at the earliest enclosing deadline, so the whole operation stays
//! within one budget instead of each step starting a fresh one. Each retry loop also runs its
//! attempts under its own end as the [`deadline`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock: the same as std's in production, and one tests can pause and advance.
use tokio::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::{
    Capabilities, FileReader, FileStatus, FileSystem, FileWriter, FsError, FsResult, Path,
};
use crate::conf::{ConfError, Configuration};

/// Configuration key: total time budget of one operation.
pub const MAX_ELAPSED_KEY: &str = "ckpt.retry.max-elapsed";
/// Configuration key: most attempts of one operation (the first one included).
pub const MAX_ATTEMPTS_KEY: &str = "ckpt.retry.max-attempts";
/// Configuration key: wait before the second attempt.
pub const INITIAL_BACKOFF_KEY: &str = "ckpt.retry.initial-backoff";
/// Configuration key: longest wait between two attempts.
pub const MAX_BACKOFF_KEY: &str = "ckpt.retry.max-backoff";

/// How an operation is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Nominal wait before the second attempt; doubles per attempt.
    pub initial_backoff: Duration,
    /// Cap of the nominal wait.
    pub max_backoff: Duration,
    /// Total budget: no attempt starts (and no wait is begun) that would end after it.
    pub max_elapsed: Duration,
    /// Most attempts, the first one included (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(60),
            max_attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// A policy that makes exactly one attempt.
    pub fn no_retry() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Reads the `ckpt.retry.*` keys (see the module docs), defaults for unset keys.
    pub fn from_conf(conf: &Configuration) -> Result<Self, ConfError> {
        let d = RetryPolicy::default();
        let ms = Duration::from_millis(1);
        let policy = RetryPolicy {
            initial_backoff: conf.get_duration(INITIAL_BACKOFF_KEY, ms, d.initial_backoff)?,
            max_backoff: conf.get_duration(MAX_BACKOFF_KEY, ms, d.max_backoff)?,
            max_elapsed: conf.get_duration(MAX_ELAPSED_KEY, ms, d.max_elapsed)?,
            max_attempts: {
                let n = conf.get_u64(MAX_ATTEMPTS_KEY, u64::from(d.max_attempts))?;
                if n == 0 {
                    return Err(ConfError::invalid(
                        MAX_ATTEMPTS_KEY,
                        &n.to_string(),
                        "at least 1 (1 disables retries)",
                    ));
                }
                u32::try_from(n).unwrap_or(u32::MAX)
            },
        };
        if policy.max_backoff < policy.initial_backoff {
            return Err(ConfError::invalid(
                MAX_BACKOFF_KEY,
                &format!("{:?}", policy.max_backoff),
                format!(
                    "must not be shorter than {INITIAL_BACKOFF_KEY} ({:?})",
                    policy.initial_backoff
                ),
            ));
        }
        Ok(policy)
    }

    /// The nominal (jitter-free) wait after failed attempt number `attempt` (1-based):
    /// `initial_backoff * 2^(attempt-1)`, capped at `max_backoff`.
    pub fn nominal_backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        self.initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
    }

    /// The wait after failed attempt `attempt` for a random draw `unit` in `[0, 1]`: between
    /// half and all of [`RetryPolicy::nominal_backoff`].
    pub fn jittered_backoff(&self, attempt: u32, unit: f64) -> Duration {
        let nominal = self.nominal_backoff(attempt);
        let half = nominal / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// What to do after failed attempt `attempt` when `elapsed` has been spent: `Some(wait)`
    /// to wait and try again, `None` to give up.
    pub fn next_wait(&self, attempt: u32, elapsed: Duration, unit: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = self.jittered_backoff(attempt, unit);
        if elapsed.saturating_add(wait) >= self.max_elapsed {
            return None;
        }
        Some(wait)
    }
}

tokio::task_local! {
    /// The end of the budget of the operation the current task is running, if any.
    static DEADLINE: Instant;
}

/// The deadline of the operation the current task runs (the earliest of every enclosing
/// [`with_budget`] and retry loop), if any. Backends bound single calls by it.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// The time left until [`deadline`], `None` without one (zero once it has passed).
pub fn remaining() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}

/// Runs `f` as one operation whose retries, however nested, all end within `budget` from now
/// (or the enclosing deadline, when that is earlier).
pub async fn with_budget<F: Future>(budget: Duration, f: F) -> F::Output {
    let end = earliest(Instant::now().checked_add(budget));
    match end {
        Some(end) => DEADLINE.scope(end, f).await,
        None => f.await,
    }
}

/// The earlier of `own` and the enclosing deadline.
fn earliest(own: Option<Instant>) -> Option<Instant> {
    match (own, deadline()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// [`RetryPolicy::next_wait`] with the budget cut to `end` (the loop's own end or an enclosing
/// deadline, whichever is earlier).
fn next_wait(
    policy: &RetryPolicy,
    end: Option<Instant>,
    attempt: u32,
    elapsed: Duration,
) -> Option<Duration> {
    let wait = policy.next_wait(attempt, elapsed, rand::random::<f64>())?;
    match end {
        Some(end) if Instant::now().checked_add(wait).is_none_or(|t| t >= end) => None,
        _ => Some(wait),
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or the policy gives up.
/// `operation` names the operation and path for logs and for [`FsError::RetriesExhausted`].
pub async fn retry<T, F, Fut>(operation: &str, policy: &RetryPolicy, mut op: F) -> FsResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = FsResult<T>>,
{
    retry_with_attempt(operation, policy, |_| op()).await
}

/// Like [`retry`], but `op` is told which attempt it is (1-based), so it can account for an
/// earlier attempt that may have taken effect although it reported an error.
pub async fn retry_with_attempt<T, F, Fut>(
    operation: &str,
    policy: &RetryPolicy,
    op: F,
) -> FsResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = FsResult<T>>,
{
    run(operation, policy, false, op).await
}

/// Like [`retry_with_attempt`], for one request to a remote server: an attempt still running
/// at the end of the budget (its own or an enclosing [`with_budget`]'s, whichever is earlier)
/// is cancelled (dropped) and reported as timed out, so the request, attempts and waits
/// included, ends within the budget. Use it only for requests that may be abandoned half-way:
/// the caller must treat a cancelled request as one whose outcome is unknown (the attempt
/// number `op` is given tells it whether an earlier one may have landed).
pub async fn retry_request<T, F, Fut>(operation: &str, policy: &RetryPolicy, op: F) -> FsResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = FsResult<T>>,
{
    run(operation, policy, true, op).await
}

async fn run<T, F, Fut>(
    operation: &str,
    policy: &RetryPolicy,
    cut_at_end: bool,
    mut op: F,
) -> FsResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = FsResult<T>>,
{
    let start = Instant::now();
    let end = earliest(start.checked_add(policy.max_elapsed));
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let outcome = match end {
            Some(end) if cut_at_end => {
                match tokio::time::timeout_at(end, DEADLINE.scope(end, op(attempt))).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(FsError::Io {
                        path: operation.to_string(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "attempt {attempt} was still running when the time budget ({MAX_ELAPSED_KEY} = {:?}) ran out",
                                policy.max_elapsed
                            ),
                        ),
                    }),
                }
            }
            Some(end) => DEADLINE.scope(end, op(attempt)).await,
            None => op(attempt).await,
        };
        match outcome {
            Ok(value) => {
                if attempt > 1 {
                    tracing::info!(operation, attempt, elapsed = ?start.elapsed(), "succeeded after retrying");
                }
                return Ok(value);
            }
            Err(e) if !e.is_retryable() => return Err(e),
            Err(e) => {
                let elapsed = start.elapsed();
                match next_wait(policy, end, attempt, elapsed) {
                    Some(wait) => {
                        tracing::warn!(operation, attempt, ?wait, error = %e, "retryable error; trying again");
                        tokio::time::sleep(wait).await;
                    }
                    None => {
                        tracing::warn!(operation, attempt, ?elapsed, error = %e, "giving up");
                        return Err(FsError::RetriesExhausted {
                            operation: operation.to_string(),
                            attempts: attempt,
                            elapsed,
                            last: Box::new(e),
                        });
                    }
                }
            }
        }
    }
}

/// Streams a listing that `open` starts, and when it fails with a retryable error part-way,
/// waits under `policy` and starts it again, skipping what was already delivered. `key` must
/// strictly increase along a listing (HDFS lists a directory in name order), so an entry is
/// delivered exactly once even when the directory changes between attempts.
pub fn resumable_listing<'a, T, K, S>(
    operation: String,
    policy: &'a RetryPolicy,
    mut open: impl FnMut() -> S + Send + 'a,
    key: impl Fn(&T) -> K + Send + 'a,
) -> BoxStream<'a, FsResult<T>>
where
    T: Send + 'a,
    K: Ord + Send + 'a,
    S: Stream<Item = FsResult<T>> + Send + 'a,
{
    Box::pin(async_stream::stream! {
        let start = Instant::now();
        let end = earliest(start.checked_add(policy.max_elapsed));
        let mut attempt = 0u32;
        let mut last: Option<K> = None;
        loop {
            attempt += 1;
            let mut listing = std::pin::pin!(open());
            let mut failure = None;
            loop {
                let next = match end {
                    Some(end) => DEADLINE.scope(end, listing.next()).await,
                    None => listing.next().await,
                };
                let Some(item) = next else { break };
                match item {
                    Ok(entry) => {
                        let k = key(&entry);
                        if last.as_ref().is_some_and(|l| k <= *l) {
                            continue;
                        }
                        last = Some(k);
                        yield Ok(entry);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            let Some(e) = failure else { return };
            if !e.is_retryable() {
                yield Err(e);
                return;
            }
            let elapsed = start.elapsed();
            match next_wait(policy, end, attempt, elapsed) {
                Some(wait) => {
                    tracing::warn!(operation, attempt, ?wait, error = %e, "listing interrupted; resuming");
                    tokio::time::sleep(wait).await;
                }
                None => {
                    yield Err(FsError::RetriesExhausted {
                        operation: operation.clone(),
                        attempts: attempt,
                        elapsed,
                        last: Box::new(e),
                    });
                    return;
                }
            }
        }
    })
}

/// Wraps any [`FileSystem`] so that its metadata operations, `open`, `create` and ranged reads
/// are retried under a [`RetryPolicy`]. Writes through a [`FileWriter`] are not retried (a
/// half-written stream cannot be replayed in general); backends that can do better do it
/// themselves.
#[derive(Debug, Clone)]
pub struct RetryingFileSystem {
    inner: Arc<dyn FileSystem>,
    policy: RetryPolicy,
}

impl RetryingFileSystem {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn FileSystem>, policy: RetryPolicy) -> Self {
        RetryingFileSystem { inner, policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

#[async_trait]
impl FileSystem for RetryingFileSystem {
    fn scheme(&self) -> &str {
        self.inner.scheme()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn operation_budget(&self) -> Option<Duration> {
        Some(self.policy.max_elapsed)
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        retry(&format!("get_file_status {path}"), &self.policy, || {
            self.inner.get_file_status(path)
        })
        .await
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        self.inner.list_status_stream(path)
    }

    async fn list_status(&self, path: &Path) -> FsResult<Vec<FileStatus>> {
        retry(&format!("list_status {path}"), &self.policy, || {
            self.inner.list_status(path)
        })
        .await
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        retry(&format!("create {path}"), &self.policy, || {
            self.inner.create(path, overwrite)
        })
        .await
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        let reader = retry(&format!("open {path}"), &self.policy, || {
            self.inner.open(path)
        })
        .await?;
        Ok(Box::new(RetryingReader {
            inner: reader,
            path: path.to_string(),
            policy: self.policy,
        }))
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        retry(&format!("mkdirs {path}"), &self.policy, || {
            self.inner.mkdirs(path)
        })
        .await
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        retry(&format!("delete {path}"), &self.policy, || {
            self.inner.delete(path, recursive)
        })
        .await
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        retry(&format!("rename {src} to {dst}"), &self.policy, || {
            self.inner.rename(src, dst)
        })
        .await
    }
}

struct RetryingReader {
    inner: Box<dyn FileReader>,
    path: String,
    policy: RetryPolicy,
}

#[async_trait]
impl FileReader for RetryingReader {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes> {
        retry(&format!("read {}", self.path), &self.policy, || {
            self.inner.read_range(offset, len)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures::TryStreamExt;

    use super::*;

    fn fast(max_attempts: u32, max_elapsed: Duration) -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            max_elapsed,
            max_attempts,
        }
    }

    fn transient() -> FsError {
        FsError::Backend {
            scheme: "test".into(),
            message: "standby".into(),
            retryable: true,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_half_to_full() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
            max_attempts: 100,
        };
        let nominal: Vec<u64> = (1..=6)
            .map(|a| p.nominal_backoff(a).as_millis() as u64)
            .collect();
        assert_eq!(nominal, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.nominal_backoff(1000), Duration::from_millis(1000));
        assert_eq!(p.jittered_backoff(3, 0.0), Duration::from_millis(200));
        assert_eq!(p.jittered_backoff(3, 1.0), Duration::from_millis(400));
        let mid = p.jittered_backoff(3, 0.5);
        assert!(mid > Duration::from_millis(200) && mid < Duration::from_millis(400));
    }

    #[test]
    fn next_wait_respects_attempts_and_budget() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(2),
            max_attempts: 3,
        };
        assert!(p.next_wait(1, Duration::ZERO, 1.0).is_some());
        assert!(
            p.next_wait(3, Duration::ZERO, 1.0).is_none(),
            "attempt limit"
        );
        assert!(
            p.next_wait(2, Duration::from_millis(1850), 1.0).is_none(),
            "a wait that ends past the budget is not begun"
        );
        assert!(p.next_wait(2, Duration::from_millis(1500), 0.0).is_some());
    }

    #[test]
    fn policy_from_conf_reads_keys_and_names_bad_ones() {
        let conf = Configuration::from_pairs([
            (MAX_ELAPSED_KEY, "90s"),
            (MAX_ATTEMPTS_KEY, "7"),
            (INITIAL_BACKOFF_KEY, "50"),
            (MAX_BACKOFF_KEY, "2s"),
        ]);
        let p = RetryPolicy::from_conf(&conf).unwrap();
        assert_eq!(
            p,
            RetryPolicy {
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(2),
                max_elapsed: Duration::from_secs(90),
                max_attempts: 7,
            }
        );
        assert_eq!(
            RetryPolicy::from_conf(&Configuration::new()).unwrap(),
            RetryPolicy::default()
        );
        for (key, value) in [
            (MAX_ELAPSED_KEY, "soon"),
            (MAX_ATTEMPTS_KEY, "0"),
            (MAX_BACKOFF_KEY, "1ms"),
        ] {
            let err = RetryPolicy::from_conf(&Configuration::from_pairs([(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_until_success() {
        let calls = AtomicU32::new(0);
        let got = retry("op", &fast(10, Duration::from_secs(10)), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(transient())
            } else {
                Ok(42)
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 42);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn non_retryable_errors_return_at_once_unchanged() {
        let calls = AtomicU32::new(0);
        let err = retry("op", &fast(10, Duration::from_secs(10)), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(FsError::NotFound { path: "/x".into() })
        })
        .await
        .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_saying_how_many() {
        let err = retry_with_attempt(
            "stat /p",
            &fast(4, Duration::from_secs(10)),
            |a| async move {
                assert!(a <= 4);
                Err::<(), _>(transient())
            },
        )
        .await
        .unwrap_err();
        match &err {
            FsError::RetriesExhausted {
                operation,
                attempts,
                last,
                ..
            } => {
                assert_eq!(operation, "stat /p");
                assert_eq!(*attempts, 4);
                assert!(last.is_retryable());
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("4 attempts") && text.contains("standby"),
            "{text}"
        );
    }

    /// Short backoffs and attempts enough that only the 300 ms budget ends the retries.
    fn budget_bound_policy() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            max_elapsed: Duration::from_millis(300),
            max_attempts: 1000,
        }
    }

    // Paused clock: the budget is checked against exact virtual time, not a busy machine's.
    #[tokio::test(start_paused = true)]
    async fn gives_up_within_the_time_budget() {
        let policy = budget_bound_policy();
        let start = Instant::now();
        let err = retry("op", &policy, || async { Err::<(), _>(transient()) })
            .await
            .unwrap_err();
        let spent = start.elapsed();
        match err {
            FsError::RetriesExhausted {
                attempts, elapsed, ..
            } => {
                assert!(attempts > 2, "{attempts}");
                // No wait that would cross the budget is started, so all of it fits, up to
                // tokio's 1 ms timer resolution (a sleep ends on the next whole millisecond).
                assert!(elapsed < Duration::from_millis(301), "{elapsed:?}");
                assert_eq!(elapsed, spent);
            }
            other => panic!("{other:?}"),
        }
    }

    // The store of issue 8 item 3: two retried steps in a row, each with the full budget,
    // took twice the budget. Under one `with_budget` they share it.
    #[tokio::test(start_paused = true)]
    async fn nested_and_successive_retries_share_one_deadline() {
        let policy = budget_bound_policy();
        let start = Instant::now();
        let err = with_budget(policy.max_elapsed, async {
            let first = retry("list", &policy, || async { Err::<(), _>(transient()) }).await;
            assert!(first.is_err());
            // A step nested inside an attempt of another retry loop.
            retry("write", &policy, || async {
                retry("rewrite", &policy, || async { Err::<(), _>(transient()) }).await
            })
            .await
        })
        .await
        .unwrap_err();
        let spent = start.elapsed();
        assert!(matches!(err, FsError::RetriesExhausted { .. }), "{err:?}");
        assert!(spent < Duration::from_millis(301), "{spent:?}");
        // Without the scope the same steps take the budget twice over (the defect).
        let start = Instant::now();
        let _ = retry("list", &policy, || async { Err::<(), _>(transient()) }).await;
        let _ = retry("write", &policy, || async { Err::<(), _>(transient()) }).await;
        assert!(start.elapsed() > Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_see_the_earliest_deadline() {
        assert_eq!(deadline(), None);
        let policy = fast(3, Duration::from_secs(10));
        let outer = with_budget(Duration::from_secs(2), async {
            let outer = deadline().unwrap();
            let inner = retry("op", &policy, || async { Ok::<_, FsError>(deadline()) })
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                inner, outer,
                "the enclosing deadline is earlier than the loop's own"
            );
            let nested = with_budget(Duration::from_secs(60), async { deadline() }).await;
            assert_eq!(
                nested,
                Some(outer),
                "a longer nested budget does not extend it"
            );
            assert!(remaining().unwrap() <= Duration::from_secs(2));
            outer
        })
        .await;
        let own = retry("op", &policy, || async { Ok::<_, FsError>(deadline()) })
            .await
            .unwrap()
            .unwrap();
        assert!(
            own > outer,
            "outside a scope a loop's attempts run under its own end"
        );
    }

    // Paused clock: an attempt that never ends is cut when the budget runs out.
    #[tokio::test(start_paused = true)]
    async fn retry_request_cuts_an_attempt_that_outlives_the_budget() {
        let policy = fast(1000, Duration::from_millis(500));
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let err = retry_request("GET /k via host:1", &policy, |_| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err::<(), _>(transient())
            } else {
                futures::future::pending().await
            }
        })
        .await
        .unwrap_err();
        let spent = start.elapsed();
        assert!(spent <= Duration::from_millis(501), "{spent:?}");
        match &err {
            FsError::RetriesExhausted { attempts, last, .. } => {
                assert_eq!(*attempts, 3);
                assert!(last.is_retryable(), "{last:?}");
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("GET /k via host:1") && text.contains(MAX_ELAPSED_KEY),
            "{text}"
        );
        // Inside a shorter enclosing budget, the cut comes at its end.
        let start = Instant::now();
        let err = with_budget(Duration::from_millis(200), async {
            retry_request("op", &policy, |_| {
                futures::future::pending::<FsResult<()>>()
            })
            .await
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, FsError::RetriesExhausted { attempts: 1, .. }),
            "{err:?}"
        );
        assert!(start.elapsed() <= Duration::from_millis(201));
        // The plain loop waits for an attempt however long it takes.
        let slow = retry("op", &policy, || async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok::<_, FsError>(7)
        })
        .await
        .unwrap();
        assert_eq!(slow, 7);
    }

    /// A listing of `upto` numbered entries that fails with `error` after `fail_after` of them.
    fn listing(
        upto: u32,
        fail_after: Option<(u32, FsError)>,
    ) -> impl Stream<Item = FsResult<u32>> + Send {
        let (cut, error) = match fail_after {
            Some((n, e)) => (n, Some(e)),
            None => (upto, None),
        };
        futures::stream::iter((1..=cut).map(Ok).chain(error.map(Err)))
    }

    #[tokio::test(start_paused = true)]
    async fn interrupted_listing_resumes_after_the_last_entry() {
        let opened = AtomicU32::new(0);
        let policy = fast(10, Duration::from_secs(10));
        let got: Vec<u32> = resumable_listing(
            "list /d".into(),
            &policy,
            || match opened.fetch_add(1, Ordering::SeqCst) {
                0 => listing(10, Some((3, transient()))).boxed(),
                // The directory changed meanwhile: entries before the resume point are not
                // delivered again.
                1 => futures::stream::iter([1, 2, 3, 4, 5, 6, 7].map(Ok))
                    .chain(futures::stream::iter([Err(transient())]))
                    .boxed(),
                _ => listing(12, None).boxed(),
            },
            |n: &u32| *n,
        )
        .try_collect()
        .await
        .unwrap();
        assert_eq!(got, (1..=12).collect::<Vec<_>>());
        assert_eq!(opened.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn listing_errors_that_retrying_cannot_fix_pass_through() {
        let policy = fast(10, Duration::from_secs(10));
        let not_found = || FsError::NotFound { path: "/d".into() };
        let items: Vec<FsResult<u32>> = resumable_listing(
            "list /d".into(),
            &policy,
            || listing(5, Some((2, not_found()))),
            |n: &u32| *n,
        )
        .collect()
        .await;
        assert_eq!(items.len(), 3);
        assert!(matches!(items[2], Err(FsError::NotFound { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_that_keeps_failing_gives_up_saying_how_often() {
        let policy = fast(4, Duration::from_secs(10));
        let items: Vec<FsResult<u32>> = resumable_listing(
            "list /d".into(),
            &policy,
            || listing(5, Some((1, transient()))),
            |n: &u32| *n,
        )
        .collect()
        .await;
        assert_eq!(items.len(), 2, "{items:?}");
        match &items[1] {
            Err(FsError::RetriesExhausted {
                attempts,
                operation,
                ..
            }) => {
                assert_eq!(*attempts, 4);
                assert_eq!(operation, "list /d");
            }
            other => panic!("{other:?}"),
        }
    }
}

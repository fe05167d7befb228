//! The native half of ckpt's Apache SeaTunnel checkpoint storage plugin (`type: ckpt`): JNI
//! entry points for `dev.ckpt.seatunnel.NativeStorage` (bindings/seatunnel), each one
//! operation of SeaTunnel's `CheckpointStorage` over [`ckpt::checkpoint::FileStorage`].
//!
//! - One Tokio runtime per process, built on first use, shared by every storage; Java threads
//!   block on it (they are never Tokio workers).
//! - No panic crosses into the JVM: every entry point runs inside
//!   [`jni::EnvUnowned::with_env`] (which catches unwinding) and the `ThrowStorageException`
//!   policy turns errors and panics into
//!   `org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException`
//!   carrying ckpt's message.
//! - States cross as `byte[]`: one copy in (the Java array into the state's bytes), one copy
//!   out (the decoded state into a new Java array).
//! - A storage is a `jlong` handle: a leaked `Box<Arc<FileStorage>>`, freed by `close`. The
//!   Java class guarantees no call uses a handle after (or during) its `close`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use ckpt::checkpoint::{CheckpointError, CheckpointStorage, FileStorage, PipelineState};
use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JClass, JLongArray, JObject, JObjectArray, JString};
use jni::sys::{jint, jlong};
use jni::{Env, EnvUnowned, JValue, jni_sig, jni_str};
use tokio::runtime::Runtime;

/// Errors of the bridge; each becomes a `CheckpointStorageException` (or leaves a pending Java
/// exception in place).
#[derive(Debug, thiserror::Error)]
enum BridgeError {
    /// A JNI call failed (possibly with a Java exception already pending).
    #[error("JNI: {0}")]
    Jni(#[from] jni::errors::Error),
    /// The storage failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The arguments are unusable (a closed handle, mismatched arrays).
    #[error("{0}")]
    Invalid(String),
}

type BridgeResult<T> = Result<T, BridgeError>;

const EXCEPTION_CLASS: &jni::strings::JNIStr =
    jni_str!("org/apache/seatunnel/engine/checkpoint/storage/exception/CheckpointStorageException");
const PIPELINE_STATE_CLASS: &jni::strings::JNIStr =
    jni_str!("org/apache/seatunnel/engine/checkpoint/storage/PipelineState");

/// The process-wide runtime (or why it could not be built).
fn runtime() -> BridgeResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("ckpt-jni")
                .build()
                .map_err(|e| format!("cannot start ckpt's Tokio runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| BridgeError::Invalid(e.clone()))
}

/// The message of an error with its sources, outermost first (sources are not repeated when
/// the outer message already ends with them).
fn message_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Throws `CheckpointStorageException` for every error and panic (unless a Java exception is
/// already pending, which then propagates unchanged), returning the default value.
#[derive(Debug, Default)]
struct ThrowStorageException;

impl<T: Default> ErrorPolicy<T, BridgeError> for ThrowStorageException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        err: BridgeError,
    ) -> jni::errors::Result<T> {
        if !env.exception_check() {
            let message = message_of(&err);
            // Err(JavaException) after a successful throw: the exception is what we want.
            let _ = env.throw_new(EXCEPTION_CLASS, jni::strings::JNIString::new(message));
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let message = format!("ckpt panicked: {}", panic_message(payload.as_ref()));
        // A payload whose drop panics is leaked rather than unwinding here.
        if let Err(drop_panic) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload)))
        {
            std::mem::forget(drop_panic);
        }
        if !env.exception_check() {
            let _ = env.throw_new(EXCEPTION_CLASS, jni::strings::JNIString::new(message));
        }
        Ok(T::default())
    }
}

/// The storage behind a handle.
///
/// # Safety
/// `handle` is 0 or a value returned by `open` and not yet passed to `close`; the Java class
/// keeps every call on a handle before its `close`.
fn storage(handle: jlong) -> BridgeResult<Arc<FileStorage>> {
    if handle == 0 {
        return Err(BridgeError::Invalid(
            "the ckpt checkpoint storage is closed".into(),
        ));
    }
    // SAFETY: see above: a live `Box<Arc<FileStorage>>` made by `open`.
    let boxed = unsafe { &*(handle as *const Arc<FileStorage>) };
    Ok(Arc::clone(boxed))
}

fn string(env: &Env<'_>, s: &JString<'_>, what: &str) -> BridgeResult<String> {
    if s.is_null() {
        return Err(BridgeError::Invalid(format!("{what} is null")));
    }
    Ok(s.try_to_string(env)?)
}

/// A new Java `PipelineState` (its package-private all-arguments constructor).
fn java_state<'local>(
    env: &mut Env<'local>,
    class: &JClass<'_>,
    state: &PipelineState,
) -> BridgeResult<JObject<'local>> {
    let job = env.new_string(&state.job_id)?;
    let bytes = env.byte_array_from_slice(&state.states)?;
    Ok(env.new_object(
        class,
        jni_sig!("(Ljava/lang/String;IJ[B)V"),
        &[
            JValue::Object(&job),
            JValue::Int(state.pipeline_id),
            JValue::Long(state.checkpoint_id),
            JValue::Object(&bytes),
        ],
    )?)
}

/// A Java `PipelineState[]`.
fn java_states<'local>(
    env: &mut Env<'local>,
    states: &[PipelineState],
) -> BridgeResult<JObjectArray<'local>> {
    let class = env.find_class(PIPELINE_STATE_CLASS)?;
    let len = i32::try_from(states.len())
        .map_err(|_| BridgeError::Invalid(format!("{} checkpoints: too many", states.len())))?;
    let array = env.new_object_array(len, &class, JObject::null())?;
    for (i, state) in states.iter().enumerate() {
        // One local frame per element: a long listing must not exhaust local references.
        env.with_local_frame(4, |env| -> BridgeResult<()> {
            let obj = java_state(env, &class, state)?;
            array.set_element(env, i, &obj)?;
            Ok(())
        })?;
    }
    Ok(array)
}

fn block_on<T>(
    fut: impl std::future::Future<Output = Result<T, CheckpointError>>,
) -> BridgeResult<T> {
    Ok(runtime()?.block_on(fut)?)
}

/// `long open(String[] keys, String[] values)`: builds a storage from the plugin-config.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_open<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    keys: JObjectArray<'caller, JString<'caller>>,
    values: JObjectArray<'caller, JString<'caller>>,
) -> jlong {
    unowned_env
        .with_env(|env| -> BridgeResult<jlong> {
            let n = keys.len(env)?;
            if values.len(env)? != n {
                return Err(BridgeError::Invalid(
                    "plugin-config keys and values differ in number".into(),
                ));
            }
            let mut config = BTreeMap::new();
            for i in 0..n {
                let (k, v) = env.with_local_frame(2, |env| -> BridgeResult<_> {
                    let k = keys.get_element(env, i)?;
                    let v = values.get_element(env, i)?;
                    Ok((
                        string(env, &k, "a plugin-config key")?,
                        string(env, &v, "a plugin-config value")?,
                    ))
                })?;
                config.insert(k, v);
            }
            // Retention is the coordinator's: it deletes superseded checkpoints itself.
            let storage = block_on(FileStorage::from_plugin_config(config, None))?;
            Ok(Box::into_raw(Box::new(Arc::new(storage))) as jlong)
        })
        .resolve::<ThrowStorageException>()
}

/// `void close(long handle)`: frees the storage (pending async stores keep their own reference).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_close<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
) {
    unowned_env
        .with_env(|_env| -> BridgeResult<()> {
            if handle != 0 {
                // SAFETY: a handle from `open`, closed once (the Java class zeroes it).
                drop(unsafe { Box::from_raw(handle as *mut Arc<FileStorage>) });
            }
            Ok(())
        })
        .resolve::<ThrowStorageException>()
}

fn pipeline_state(
    env: &Env<'_>,
    job_id: &JString<'_>,
    pipeline_id: jint,
    checkpoint_id: jlong,
    states: &JByteArray<'_>,
) -> BridgeResult<PipelineState> {
    if states.is_null() {
        return Err(BridgeError::Invalid(
            "the checkpoint's states are null".into(),
        ));
    }
    Ok(PipelineState {
        job_id: string(env, job_id, "the job id")?,
        pipeline_id,
        checkpoint_id,
        states: env.convert_byte_array(states)?.into(),
    })
}

/// `String store(long, String jobId, int pipelineId, long checkpointId, byte[] states)`:
/// stores durably, returns the file's name.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_store<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
    checkpoint_id: jlong,
    states: JByteArray<'caller>,
) -> JString<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JString<'caller>> {
            let storage = storage(handle)?;
            let state = pipeline_state(env, &job_id, pipeline_id, checkpoint_id, &states)?;
            let stored = block_on(storage.store_checkpoint(&state))?;
            // As the hdfs plugin: the file's name, not its path.
            let name = stored.path.rsplit('/').next().unwrap_or(&stored.path);
            Ok(env.new_string(name)?)
        })
        .resolve::<ThrowStorageException>()
}

/// `void storeAsync(...)`: as `store`, in the background; failures are logged.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_storeAsync<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
    checkpoint_id: jlong,
    states: JByteArray<'caller>,
) {
    unowned_env
        .with_env(|env| -> BridgeResult<()> {
            let storage = storage(handle)?;
            let state = pipeline_state(env, &job_id, pipeline_id, checkpoint_id, &states)?;
            let _enter = runtime()?.enter();
            // Detached: the task holds its own reference to the storage.
            drop(storage.store_checkpoint_async(state));
            Ok(())
        })
        .resolve::<ThrowStorageException>()
}

/// `PipelineState[] getAll(long, String jobId)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_getAll<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
) -> JObjectArray<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JObjectArray<'caller>> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            let states = block_on(storage.get_all_checkpoints(&job))?;
            java_states(env, &states)
        })
        .resolve::<ThrowStorageException>()
}

/// `PipelineState[] getLatest(long, String jobId)`: the newest of every pipeline.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_getLatest<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
) -> JObjectArray<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JObjectArray<'caller>> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            let states = block_on(storage.get_latest_checkpoint(&job))?;
            java_states(env, &states)
        })
        .resolve::<ThrowStorageException>()
}

/// `PipelineState getLatestOfPipeline(long, String jobId, int pipelineId)`: null when none.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_getLatestOfPipeline<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
) -> JObject<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JObject<'caller>> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            match block_on(storage.get_latest_checkpoint_by_pipeline(&job, pipeline_id))? {
                Some(state) => {
                    let class = env.find_class(PIPELINE_STATE_CLASS)?;
                    java_state(env, &class, &state)
                }
                None => Ok(JObject::null()),
            }
        })
        .resolve::<ThrowStorageException>()
}

/// `PipelineState[] getOfPipeline(long, String jobId, int pipelineId)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_getOfPipeline<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
) -> JObjectArray<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JObjectArray<'caller>> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            let states = block_on(storage.get_checkpoints_by_pipeline(&job, pipeline_id))?;
            java_states(env, &states)
        })
        .resolve::<ThrowStorageException>()
}

/// `PipelineState get(long, String jobId, int pipelineId, long checkpointId)`: null when the
/// job has no checkpoint at all.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_get<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
    checkpoint_id: jlong,
) -> JObject<'caller> {
    unowned_env
        .with_env(|env| -> BridgeResult<JObject<'caller>> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            let rt = runtime()?;
            let found = rt.block_on(async {
                match storage
                    .get_checkpoint(&job, pipeline_id, checkpoint_id)
                    .await
                {
                    // As the hdfs plugin: null for a job without checkpoints, an exception for
                    // a missing checkpoint of a job that has some.
                    Err(CheckpointError::NotFound { .. })
                        if storage.list_checkpoints(&job).await?.is_empty() =>
                    {
                        Ok(None)
                    }
                    other => other.map(Some),
                }
            })?;
            match found {
                Some(state) => {
                    let class = env.find_class(PIPELINE_STATE_CLASS)?;
                    java_state(env, &class, &state)
                }
                None => Ok(JObject::null()),
            }
        })
        .resolve::<ThrowStorageException>()
}

/// `void deleteJob(long, String jobId)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_deleteJob<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
) {
    unowned_env
        .with_env(|env| -> BridgeResult<()> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            block_on(storage.delete_job(&job))
        })
        .resolve::<ThrowStorageException>()
}

/// `void delete(long, String jobId, int pipelineId, long checkpointId)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_delete<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
    checkpoint_id: jlong,
) {
    unowned_env
        .with_env(|env| -> BridgeResult<()> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            block_on(storage.delete_checkpoint(&job, pipeline_id, checkpoint_id))
        })
        .resolve::<ThrowStorageException>()
}

/// `void deleteMany(long, String jobId, int pipelineId, long[] checkpointIds)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_deleteMany<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    handle: jlong,
    job_id: JString<'caller>,
    pipeline_id: jint,
    checkpoint_ids: JLongArray<'caller>,
) {
    unowned_env
        .with_env(|env| -> BridgeResult<()> {
            let storage = storage(handle)?;
            let job = string(env, &job_id, "the job id")?;
            if checkpoint_ids.is_null() {
                return Err(BridgeError::Invalid("the checkpoint ids are null".into()));
            }
            let mut ids = vec![0; checkpoint_ids.len(env)?];
            checkpoint_ids.get_region(env, 0, &mut ids)?;
            block_on(storage.delete_checkpoints(&job, pipeline_id, &ids))
        })
        .resolve::<ThrowStorageException>()
}

/// `void panicForTest()`: panics inside an entry point, so the tests can see the panic
/// arrive as a `CheckpointStorageException` instead of aborting the JVM.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_ckpt_seatunnel_NativeStorage_panicForTest<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
) {
    unowned_env
        .with_env(|_env| -> BridgeResult<()> { panic!("deliberate panic (test hook)") })
        .resolve::<ThrowStorageException>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keeps_sources_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let err = Outer(std::io::Error::other("disk gone"));
        assert_eq!(message_of(&err), "outer: disk gone");
        let transparent = BridgeError::Invalid("closed".into());
        assert_eq!(message_of(&transparent), "closed");
    }

    #[test]
    fn panic_payloads_become_text() {
        let s: Box<dyn std::any::Any + Send> = Box::new("static");
        assert_eq!(panic_message(s.as_ref()), "static");
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(owned.as_ref()), "owned");
        let other: Box<dyn std::any::Any + Send> = Box::new(3_u8);
        assert_eq!(panic_message(other.as_ref()), "non-string panic payload");
    }

    #[test]
    fn closed_handle_is_an_error() {
        assert!(matches!(storage(0), Err(BridgeError::Invalid(_))));
    }
}

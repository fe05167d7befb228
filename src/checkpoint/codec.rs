//! The checkpoint file encoding: byte-compatible with Java's protostuff encoding of
//! `PipelineState`, plus an integrity field the Java reader skips.
//!
//! Protostuff writes the protobuf wire format with field numbers in declaration order:
//! 1 `jobId` (string), 2 `pipelineId` (int32 varint), 3 `checkpointId` (int64 varint),
//! 4 `states` (bytes), primitives always written even when zero. ckpt appends field
//! [`CHECKSUM_FIELD`] (fixed32) as the last field: the CRC32C of every byte before it. Files
//! without it (written by Java) still decode; a file with it and a wrong value is reported as
//! corrupt.
//!
//! The wire format is prost's derived [`prost::Message`] (its public API): every field is
//! `optional`, so zero values are still written as protostuff does, and prost writes fields in
//! tag order, which is protostuff's declaration order.
//!
//! Size limit: a checkpoint file is at most [`MAX_ENCODED_LEN`] bytes (2 GiB - 9), the largest
//! array a JVM allocates (`Integer.MAX_VALUE - 8`): the Java engine reads a checkpoint into one
//! `byte[]`, and protostuff reads the states length as an `int32`. [`encode`] and
//! [`encode_parts`] refuse a larger state with [`EncodeError::TooLarge`].

use bytes::{Bytes, BytesMut};
use prost::Message;

use super::PipelineState;
use super::layout::CheckpointFileName;

/// Field number of the CRC32C integrity field. Unknown to Java, which skips it.
pub const CHECKSUM_FIELD: u32 = 15;

/// The largest checkpoint file ckpt writes: `Integer.MAX_VALUE - 8`, the largest Java array.
pub const MAX_ENCODED_LEN: u64 = i32::MAX as u64 - 8;

/// Key of field 4 (`states`, length-delimited): `(4 << 3) | 2`.
const STATES_KEY: u8 = (4 << 3) | 2;
/// Key of the checksum field (fixed32): `(15 << 3) | 5`.
const CHECKSUM_KEY: u8 = ((CHECKSUM_FIELD as u8) << 3) | 5;
/// Length of the checksum field: key and four bytes.
const TRAILER_LEN: usize = 5;

mod wire {
    use bytes::Bytes;

    /// The protobuf message Java's protostuff writes for `PipelineState`, plus ckpt's
    /// checksum (named like the Java class: prost's decode errors name it).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct PipelineState {
        #[prost(string, optional, tag = "1")]
        pub(super) job_id: Option<String>,
        #[prost(int32, optional, tag = "2")]
        pub(super) pipeline_id: Option<i32>,
        #[prost(int64, optional, tag = "3")]
        pub(super) checkpoint_id: Option<i64>,
        #[prost(bytes = "bytes", optional, tag = "4")]
        pub(super) states: Option<Bytes>,
        #[prost(fixed32, optional, tag = "15")]
        pub(super) checksum: Option<u32>,
    }
}

use wire::PipelineState as Wire;

/// Why bytes are not a readable checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The file is empty (Java would read an all-default state; it is never a real checkpoint).
    #[error("the file is empty")]
    Empty,
    /// The bytes are not a protobuf encoding of a checkpoint (cut short, or not one at all).
    #[error("truncated or malformed: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// A required field is missing.
    #[error("field {field} ({name}) is missing: not a checkpoint file")]
    MissingField {
        /// Field number.
        field: u32,
        /// Java field name.
        name: &'static str,
    },
    /// The integrity field does not match the content.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// CRC32C stored in the file.
        stored: u32,
        /// CRC32C of the content.
        computed: u32,
    },
    /// The file decodes, but to another checkpoint than its name says.
    #[error(
        "the content is job {found_job_id} pipeline {found_pipeline_id} checkpoint {found_checkpoint_id}, \
         but the file is named for job {named_job_id} pipeline {named_pipeline_id} checkpoint {named_checkpoint_id} \
         (copied or renamed by hand?); it is not used for this checkpoint"
    )]
    NameMismatch {
        /// The job id in the content.
        found_job_id: String,
        /// The pipeline id in the content.
        found_pipeline_id: i32,
        /// The checkpoint id in the content.
        found_checkpoint_id: i64,
        /// The job whose directory holds the file.
        named_job_id: String,
        /// The pipeline id in the file name.
        named_pipeline_id: i32,
        /// The checkpoint id in the file name.
        named_checkpoint_id: i64,
    },
}

/// Why a state cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded file would exceed [`MAX_ENCODED_LEN`].
    #[error(
        "checkpoint {checkpoint_id} of job {job_id} pipeline {pipeline_id} is too large: its states are \
         {states_len} bytes, so the file would be {encoded_len} bytes, over the limit of {limit} bytes \
         (the largest array the Java engine can read a checkpoint into); reduce the pipeline's state"
    )]
    TooLarge {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Checkpoint.
        checkpoint_id: i64,
        /// Length of the states.
        states_len: u64,
        /// Length the file would have.
        encoded_len: u64,
        /// [`MAX_ENCODED_LEN`].
        limit: u64,
    },
    /// The contiguous buffer for [`encode`] could not be allocated.
    #[error(
        "cannot allocate {bytes} bytes to encode checkpoint {checkpoint_id} of job {job_id} pipeline {pipeline_id}: out of memory"
    )]
    OutOfMemory {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Checkpoint.
        checkpoint_id: i64,
        /// The size asked for.
        bytes: u64,
    },
}

/// Whether a decoded file carried ckpt's integrity field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Integrity {
    /// The CRC32C was present and matched.
    Verified,
    /// No integrity field (written by the Java engine, or by ckpt with checksums off).
    Absent,
}

/// A checkpoint file as three pieces that concatenate to [`encode`]'s bytes, without copying
/// the states: write `header`, `states` and `trailer` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedParts {
    /// Fields 1 to 3, then the key and length of field 4.
    pub header: Bytes,
    /// The states, shared with the [`PipelineState`] (reference counted, not copied).
    pub states: Bytes,
    /// The checksum field, or nothing when checksums are off.
    pub trailer: Bytes,
}

impl EncodedParts {
    /// The length of the whole file.
    pub fn len(&self) -> u64 {
        (self.header.len() + self.states.len() + self.trailer.len()) as u64
    }

    /// Never true: a header is always present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pieces in file order.
    pub fn chunks(&self) -> [&Bytes; 3] {
        [&self.header, &self.states, &self.trailer]
    }
}

fn wire_header(state: &PipelineState) -> Wire {
    Wire {
        job_id: Some(state.job_id.clone()),
        pipeline_id: Some(state.pipeline_id),
        checkpoint_id: Some(state.checkpoint_id),
        states: None,
        checksum: None,
    }
}

fn checksum_field(crc: u32) -> Vec<u8> {
    Wire {
        checksum: Some(crc),
        ..Wire::default()
    }
    .encode_to_vec()
}

/// The length of the file `state` encodes to; [`EncodeError::TooLarge`] above the limit.
fn checked_len(state: &PipelineState, with_checksum: bool) -> Result<u64, EncodeError> {
    let states_len = state.states.len() as u64;
    let encoded_len = wire_header(state).encoded_len() as u64
        + 1
        + prost::length_delimiter_len(state.states.len()) as u64
        + states_len
        + if with_checksum { TRAILER_LEN as u64 } else { 0 };
    if encoded_len > MAX_ENCODED_LEN {
        return Err(EncodeError::TooLarge {
            job_id: state.job_id.clone(),
            pipeline_id: state.pipeline_id,
            checkpoint_id: state.checkpoint_id,
            states_len,
            encoded_len,
            limit: MAX_ENCODED_LEN,
        });
    }
    Ok(encoded_len)
}

/// Encodes a state exactly as Java's protostuff does, optionally followed by the CRC32C field,
/// into one buffer (a copy of the states). [`encode_parts`] avoids that copy.
pub fn encode(state: &PipelineState, with_checksum: bool) -> Result<Bytes, EncodeError> {
    let len = checked_len(state, with_checksum)?;
    let mut buf: Vec<u8> = Vec::new();
    // A failed allocation is an error, not an abort of the process.
    buf.try_reserve_exact(len as usize)
        .map_err(|_| EncodeError::OutOfMemory {
            job_id: state.job_id.clone(),
            pipeline_id: state.pipeline_id,
            checkpoint_id: state.checkpoint_id,
            bytes: len,
        })?;
    let wire = Wire {
        states: Some(state.states.clone()),
        ..wire_header(state)
    };
    // Cannot fail: a Vec grows as needed (and the capacity is reserved).
    let _ = wire.encode(&mut buf);
    if with_checksum {
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&checksum_field(crc));
    }
    Ok(Bytes::from(buf))
}

/// Encodes a state as three pieces (see [`EncodedParts`]) whose concatenation equals
/// [`encode`]'s bytes; the states are not copied and the CRC32C is computed over the pieces.
pub fn encode_parts(
    state: &PipelineState,
    with_checksum: bool,
) -> Result<EncodedParts, EncodeError> {
    checked_len(state, with_checksum)?;
    let mut header = BytesMut::new();
    // Cannot fail: a BytesMut grows as needed.
    let _ = wire_header(state).encode(&mut header);
    header.extend_from_slice(&[STATES_KEY]);
    let _ = prost::encode_length_delimiter(state.states.len(), &mut header);
    let header = header.freeze();
    let trailer = if with_checksum {
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header), &state.states);
        Bytes::from(checksum_field(crc))
    } else {
        Bytes::new()
    };
    Ok(EncodedParts {
        header,
        states: state.states.clone(),
        trailer,
    })
}

/// Decodes a checkpoint file. `states` shares the input buffer (no copy).
pub fn decode(data: &Bytes) -> Result<(PipelineState, Integrity), CodecError> {
    if data.is_empty() {
        return Err(CodecError::Empty);
    }
    let wire = Wire::decode(data.clone()).map_err(|e| CodecError::Malformed {
        reason: e.to_string(),
    })?;
    let integrity = match wire.checksum {
        None => Integrity::Absent,
        Some(stored) => {
            // ckpt writes the checksum last, over every byte before it; anything else is not
            // a file ckpt wrote.
            let body_len = data.len().saturating_sub(TRAILER_LEN);
            let trailer = data.get(body_len..).unwrap_or_default();
            if trailer.len() != TRAILER_LEN
                || trailer.first() != Some(&CHECKSUM_KEY)
                || trailer.get(1..) != Some(&stored.to_le_bytes()[..])
            {
                return Err(CodecError::Malformed {
                    reason: format!(
                        "field {CHECKSUM_FIELD} (ckpt's checksum) is not the last field"
                    ),
                });
            }
            let computed = crc32c::crc32c(data.get(..body_len).unwrap_or_default());
            if stored != computed {
                return Err(CodecError::ChecksumMismatch { stored, computed });
            }
            Integrity::Verified
        }
    };
    let missing = |field, name| CodecError::MissingField { field, name };
    Ok((
        PipelineState {
            job_id: wire.job_id.ok_or_else(|| missing(1, "jobId"))?,
            pipeline_id: wire.pipeline_id.ok_or_else(|| missing(2, "pipelineId"))?,
            checkpoint_id: wire
                .checkpoint_id
                .ok_or_else(|| missing(3, "checkpointId"))?,
            states: wire.states.ok_or_else(|| missing(4, "states"))?,
        },
        integrity,
    ))
}

/// Checks that a decoded state belongs to the file `name` in the directory of `job_id`:
/// [`CodecError::NameMismatch`] otherwise.
pub fn check_name(
    state: &PipelineState,
    job_id: &str,
    name: &CheckpointFileName,
) -> Result<(), CodecError> {
    if state.job_id == job_id
        && state.pipeline_id == name.pipeline_id
        && state.checkpoint_id == name.checkpoint_id
    {
        return Ok(());
    }
    Err(CodecError::NameMismatch {
        found_job_id: state.job_id.clone(),
        found_pipeline_id: state.pipeline_id,
        found_checkpoint_id: state.checkpoint_id,
        named_job_id: job_id.to_string(),
        named_pipeline_id: name.pipeline_id,
        named_checkpoint_id: name.checkpoint_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(job: &str, p: i32, c: i64, states: &[u8]) -> PipelineState {
        PipelineState {
            job_id: job.to_string(),
            pipeline_id: p,
            checkpoint_id: c,
            states: Bytes::copy_from_slice(states),
        }
    }

    #[test]
    fn java_wire_bytes() {
        // jobId "1", pipelineId 1, checkpointId 2, states [0xAB]: every field present, no checksum.
        let bytes = encode(&state("1", 1, 2, &[0xAB]), false).unwrap();
        assert_eq!(
            bytes.as_ref(),
            &[0x0A, 0x01, b'1', 0x10, 0x01, 0x18, 0x02, 0x22, 0x01, 0xAB]
        );
        // Zero primitives are still written.
        let zero = encode(&state("7", 0, 0, &[]), false).unwrap();
        assert_eq!(
            zero.as_ref(),
            &[0x0A, 0x01, b'7', 0x10, 0x00, 0x18, 0x00, 0x22, 0x00]
        );
    }

    #[test]
    fn checksum_is_appended_and_checked() {
        let s = state("42", 3, 9, b"payload");
        let plain = encode(&s, false).unwrap();
        let sealed = encode(&s, true).unwrap();
        assert!(sealed.starts_with(&plain));
        assert_eq!(sealed.len(), plain.len() + 5);
        assert_eq!(decode(&sealed).unwrap(), (s.clone(), Integrity::Verified));
        assert_eq!(decode(&plain).unwrap(), (s, Integrity::Absent));
        let mut flipped = sealed.to_vec();
        flipped[plain.len() - 2] ^= 0x01;
        assert!(matches!(
            decode(&Bytes::from(flipped)),
            Err(CodecError::ChecksumMismatch { .. })
        ));
    }

    #[test]
    fn bad_files_are_errors() {
        assert_eq!(decode(&Bytes::new()), Err(CodecError::Empty));
        let full = encode(&state("42", 3, 9, b"payload"), true).unwrap();
        // Every cut is caught except the one that removes exactly the 5-byte checksum field,
        // which leaves a complete Java-style file.
        let java_style = full.len() - 5;
        for cut in (1..full.len()).filter(|c| *c != java_style) {
            assert!(
                decode(&full.slice(..cut)).is_err(),
                "truncated at {cut} decoded"
            );
        }
        assert!(decode(&Bytes::from_static(b"hello, world\n")).is_err());
        assert!(decode(&Bytes::from_static(&[0x10, 0x01])).is_err());
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut bytes = encode(&state("5", 1, 1, b"x"), false).unwrap().to_vec();
        bytes.extend_from_slice(&[0x2A, 0x02, 0xFF, 0xFF]); // field 5, length-delimited
        assert!(decode(&Bytes::from(bytes)).is_ok());
    }

    #[test]
    fn wire_constants_match_the_derived_message() {
        // The header of encode_parts writes field 4's key by hand: it is what prost writes.
        let empty = Wire {
            states: Some(Bytes::new()),
            ..Wire::default()
        }
        .encode_to_vec();
        assert_eq!(empty, vec![STATES_KEY, 0]);
        let crc = checksum_field(0x0403_0201);
        assert_eq!(crc, vec![CHECKSUM_KEY, 1, 2, 3, 4]);
        assert_eq!(crc.len(), TRAILER_LEN);
    }

    #[test]
    fn decoded_states_share_the_input() {
        let data = encode(&state("3", 1, 1, &[7; 4096]), true).unwrap();
        let (s, _) = decode(&data).unwrap();
        let range = data.as_ptr_range();
        assert!(range.contains(&s.states.as_ptr()), "states were copied");
    }

    #[test]
    fn the_checksum_must_be_the_last_field() {
        let s = state("42", 3, 9, b"payload");
        let mut bytes = encode(&s, true).unwrap().to_vec();
        // An unknown field after the checksum: the checksum no longer covers the whole file.
        bytes.extend_from_slice(&[0x2A, 0x01, 0x00]);
        assert!(matches!(
            decode(&Bytes::from(bytes)),
            Err(CodecError::Malformed { reason }) if reason.contains("not the last field")
        ));
    }

    #[test]
    fn names_that_do_not_match_the_content_have_their_own_error() {
        let s = state("42", 3, 9, b"x");
        let named = |p, c| CheckpointFileName {
            millis: 1,
            random: 2,
            pipeline_id: p,
            checkpoint_id: c,
        };
        assert_eq!(check_name(&s, "42", &named(3, 9)), Ok(()));
        for (job, p, c) in [("43", 3, 9), ("42", 4, 9), ("42", 3, 10)] {
            let err = check_name(&s, job, &named(p, c)).unwrap_err();
            assert!(matches!(err, CodecError::NameMismatch { .. }), "{err:?}");
            let text = err.to_string();
            assert!(
                text.contains("content is job 42 pipeline 3 checkpoint 9")
                    && text.contains(&format!("named for job {job} pipeline {p} checkpoint {c}")),
                "{text}"
            );
        }
    }

    /// A state whose length is `len` without touching memory (zeroed pages from the OS are
    /// only mapped when written).
    fn sized_state(len: usize) -> PipelineState {
        PipelineState {
            states: Bytes::from(vec![0u8; len]),
            ..state("1", 1, 1, &[])
        }
    }

    #[test]
    fn states_over_the_java_limit_are_refused_before_allocating() {
        // Header of job "1", pipeline 1, checkpoint 1: 3 + 2 + 2 bytes, key of field 4, and a
        // 5-byte length for states this large.
        let overhead = 7 + 1 + 5;
        let at_limit = MAX_ENCODED_LEN as usize - overhead;
        assert_eq!(
            checked_len(&sized_state(at_limit), false),
            Ok(MAX_ENCODED_LEN)
        );
        let over = sized_state(at_limit - 4);
        let err = encode(&over, true).unwrap_err();
        assert_eq!(
            err,
            EncodeError::TooLarge {
                job_id: "1".into(),
                pipeline_id: 1,
                checkpoint_id: 1,
                states_len: (at_limit - 4) as u64,
                encoded_len: MAX_ENCODED_LEN + 1,
                limit: MAX_ENCODED_LEN,
            }
        );
        assert!(
            err.to_string().contains("limit of 2147483639 bytes"),
            "{err}"
        );
        assert_eq!(encode_parts(&over, true), Err(err));
        let huge = sized_state(3 << 30);
        assert!(matches!(
            encode(&huge, false),
            Err(EncodeError::TooLarge { .. })
        ));
    }

    proptest! {
        /// The zero-copy pieces concatenate to exactly encode's bytes.
        #[test]
        fn parts_concatenate_to_encode(job in "[0-9]{0,19}", p in any::<i32>(), c in any::<i64>(),
                     states in proptest::collection::vec(any::<u8>(), 0..2048), crc in any::<bool>()) {
            let s = state(&job, p, c, &states);
            let parts = encode_parts(&s, crc).unwrap();
            let joined: Vec<u8> = parts.chunks().iter().flat_map(|b| b.iter().copied()).collect();
            let whole = encode(&s, crc).unwrap();
            prop_assert_eq!(&joined[..], &whole[..]);
            prop_assert_eq!(parts.len(), whole.len() as u64);
            prop_assert_eq!(parts.states.as_ptr(), s.states.as_ptr());
        }

        #[test]
        fn roundtrip(job in "[0-9]{1,19}", p in any::<i32>(), c in any::<i64>(),
                     states in proptest::collection::vec(any::<u8>(), 0..512), crc in any::<bool>()) {
            let s = state(&job, p, c, &states);
            let (back, integrity) = decode(&encode(&s, crc).unwrap()).unwrap();
            prop_assert_eq!(back, s);
            prop_assert_eq!(integrity == Integrity::Verified, crc);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&Bytes::from(data));
        }
    }
}

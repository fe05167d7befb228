//! The checkpoint file encoding: byte-compatible with Java's protostuff encoding of
//! `PipelineState`, plus an integrity field the Java reader skips.
//!
//! Protostuff writes the protobuf wire format with field numbers in declaration order:
//! 1 `jobId` (string), 2 `pipelineId` (int32 varint), 3 `checkpointId` (int64 varint),
//! 4 `states` (bytes), primitives always written even when zero. ckpt appends field
//! [`CHECKSUM_FIELD`] (fixed32): the CRC32C of every byte before it. Files without it (written by
//! Java) still decode; a file with it and a wrong value is reported as corrupt.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint, skip_field};

use super::PipelineState;

/// Field number of the CRC32C integrity field. Unknown to Java, which skips it.
pub const CHECKSUM_FIELD: u32 = 15;

/// Why bytes are not a readable checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The file is empty (Java would read an all-default state; it is never a real checkpoint).
    #[error("the file is empty")]
    Empty,
    /// The bytes end in the middle of a field.
    #[error("truncated or malformed at byte {offset}: {reason}")]
    Malformed {
        /// Where decoding stopped.
        offset: usize,
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

/// Encodes a state exactly as Java's protostuff does, optionally followed by the CRC32C field.
pub fn encode(state: &PipelineState, with_checksum: bool) -> Bytes {
    let mut buf = BytesMut::with_capacity(state.states.len() + state.job_id.len() + 40);
    encode_key(1, WireType::LengthDelimited, &mut buf);
    encode_varint(state.job_id.len() as u64, &mut buf);
    buf.put_slice(state.job_id.as_bytes());
    encode_key(2, WireType::Varint, &mut buf);
    // int32 is sign-extended to 64 bits on the wire, as protobuf and protostuff do.
    encode_varint(i64::from(state.pipeline_id) as u64, &mut buf);
    encode_key(3, WireType::Varint, &mut buf);
    encode_varint(state.checkpoint_id as u64, &mut buf);
    encode_key(4, WireType::LengthDelimited, &mut buf);
    encode_varint(state.states.len() as u64, &mut buf);
    buf.put_slice(&state.states);
    if with_checksum {
        let crc = crc32c::crc32c(&buf);
        encode_key(CHECKSUM_FIELD, WireType::ThirtyTwoBit, &mut buf);
        buf.put_u32_le(crc);
    }
    buf.freeze()
}

/// Decodes a checkpoint file. `states` shares the input buffer (no copy).
pub fn decode(data: &Bytes) -> Result<(PipelineState, Integrity), CodecError> {
    if data.is_empty() {
        return Err(CodecError::Empty);
    }
    let total = data.len();
    let mut buf = data.clone();
    let mut job_id = None;
    let mut pipeline_id = None;
    let mut checkpoint_id = None;
    let mut states = None;
    let mut integrity = Integrity::Absent;
    while buf.has_remaining() {
        let offset = total - buf.remaining();
        let malformed = |reason: String| CodecError::Malformed { offset, reason };
        let (field, wire) = decode_key(&mut buf).map_err(|e| malformed(e.to_string()))?;
        match (field, wire) {
            (1, WireType::LengthDelimited) => {
                let bytes = length_delimited(&mut buf).map_err(malformed)?;
                let text =
                    String::from_utf8(bytes.to_vec()).map_err(|_| CodecError::Malformed {
                        offset,
                        reason: "jobId is not UTF-8".into(),
                    })?;
                job_id = Some(text);
            }
            (2, WireType::Varint) => {
                let v = decode_varint(&mut buf).map_err(|e| malformed(e.to_string()))?;
                pipeline_id = Some(v as i64 as i32);
            }
            (3, WireType::Varint) => {
                let v = decode_varint(&mut buf).map_err(|e| malformed(e.to_string()))?;
                checkpoint_id = Some(v as i64);
            }
            (4, WireType::LengthDelimited) => {
                states = Some(length_delimited(&mut buf).map_err(malformed)?)
            }
            (CHECKSUM_FIELD, WireType::ThirtyTwoBit) => {
                if buf.remaining() < 4 {
                    return Err(malformed("the checksum field is cut short".into()));
                }
                let stored = buf.get_u32_le();
                let computed = crc32c::crc32c(&data[..offset]);
                if stored != computed {
                    return Err(CodecError::ChecksumMismatch { stored, computed });
                }
                integrity = Integrity::Verified;
            }
            (1..=4, _) => return Err(malformed(format!("field {field} has wire type {wire:?}"))),
            _ => skip_field(wire, field, &mut buf, Default::default())
                .map_err(|e| malformed(e.to_string()))?,
        }
    }
    let missing = |field, name| CodecError::MissingField { field, name };
    Ok((
        PipelineState {
            job_id: job_id.ok_or_else(|| missing(1, "jobId"))?,
            pipeline_id: pipeline_id.ok_or_else(|| missing(2, "pipelineId"))?,
            checkpoint_id: checkpoint_id.ok_or_else(|| missing(3, "checkpointId"))?,
            states: states.ok_or_else(|| missing(4, "states"))?,
        },
        integrity,
    ))
}

fn length_delimited(buf: &mut Bytes) -> Result<Bytes, String> {
    let len = decode_varint(buf).map_err(|e| e.to_string())?;
    let len = usize::try_from(len).map_err(|_| "length does not fit in memory".to_string())?;
    if len > buf.remaining() {
        return Err(format!(
            "a field claims {len} bytes but only {} remain",
            buf.remaining()
        ));
    }
    Ok(buf.split_to(len))
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
        let bytes = encode(&state("1", 1, 2, &[0xAB]), false);
        assert_eq!(
            bytes.as_ref(),
            &[0x0A, 0x01, b'1', 0x10, 0x01, 0x18, 0x02, 0x22, 0x01, 0xAB]
        );
        // Zero primitives are still written.
        let zero = encode(&state("7", 0, 0, &[]), false);
        assert_eq!(
            zero.as_ref(),
            &[0x0A, 0x01, b'7', 0x10, 0x00, 0x18, 0x00, 0x22, 0x00]
        );
    }

    #[test]
    fn checksum_is_appended_and_checked() {
        let s = state("42", 3, 9, b"payload");
        let plain = encode(&s, false);
        let sealed = encode(&s, true);
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
        let full = encode(&state("42", 3, 9, b"payload"), true);
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
        let mut bytes = encode(&state("5", 1, 1, b"x"), false).to_vec();
        bytes.extend_from_slice(&[0x2A, 0x02, 0xFF, 0xFF]); // field 5, length-delimited
        assert!(decode(&Bytes::from(bytes)).is_ok());
    }

    proptest! {
        #[test]
        fn roundtrip(job in "[0-9]{1,19}", p in any::<i32>(), c in any::<i64>(),
                     states in proptest::collection::vec(any::<u8>(), 0..512), crc in any::<bool>()) {
            let s = state(&job, p, c, &states);
            let (back, integrity) = decode(&encode(&s, crc)).unwrap();
            prop_assert_eq!(back, s);
            prop_assert_eq!(integrity == Integrity::Verified, crc);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&Bytes::from(data));
        }
    }
}

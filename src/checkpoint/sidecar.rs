//! Hadoop's checksum sidecars: the hidden `.<name>.crc` file that Hadoop's checksumming local
//! file system (`LocalFileSystem`, a `ChecksumFileSystem`) writes beside every file it writes.
//! SeaTunnel's `hdfs` plugin with `fs.defaultFS: file:///` goes through it, so a namespace the
//! Java engine wrote on local disk has one beside every checkpoint file.
//!
//! Format: the 4 bytes `crc\0`, the number of bytes per checksum as a big-endian `i32`, then
//! one big-endian CRC32 (the zlib polynomial, not CRC32C) per chunk of that many bytes of the
//! file, the last chunk possibly shorter. An empty file has a header and no checksum.
//!
//! ckpt treats a sidecar as part of its file: reads check it, deletes remove it, `prune`
//! removes sidecars whose file is gone. Like Hadoop's reader, a sidecar without the header is
//! ignored with a warning; one whose checksums disagree with the file makes the file unusable
//! (Hadoop's reader refuses it with a `ChecksumException`). Pure logic, no I/O.

/// The first bytes of a checksum file.
pub const MAGIC: &[u8; 4] = b"crc\0";
/// Size of the header (magic and bytes per checksum).
pub const HEADER_LEN: usize = 8;
/// Hadoop's default `file.bytes-per-checksum`.
pub const DEFAULT_BYTES_PER_CHECKSUM: u32 = 512;
/// Suffix of a sidecar's name.
const SUFFIX: &str = ".crc";

/// Why a sidecar does not agree with its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidecarError {
    /// No `crc\0` header: not a checksum file (Hadoop ignores such a sidecar).
    #[error("not a Hadoop checksum file (no crc header)")]
    NotAChecksumFile,
    /// The header declares zero or a negative number of bytes per checksum.
    #[error("declares {0} bytes per checksum")]
    BadBytesPerChecksum(i32),
    /// The number of checksums does not match the file's length.
    #[error(
        "holds {found} bytes of checksums, a {file_len}-byte file needs {expected} ({bytes_per_checksum} bytes per checksum): the file was changed or truncated after it was written"
    )]
    WrongLength {
        /// Bytes of checksums found after the header.
        found: usize,
        /// Bytes of checksums the file needs.
        expected: usize,
        /// The file's length.
        file_len: usize,
        /// Bytes per checksum from the header.
        bytes_per_checksum: u32,
    },
    /// A chunk's CRC differs.
    #[error("checksum mismatch in the chunk at byte {offset} of the file")]
    Mismatch {
        /// Offset of the chunk in the file.
        offset: usize,
    },
}

impl SidecarError {
    /// True when Hadoop's reader would refuse the file (as opposed to ignoring the sidecar).
    pub fn makes_file_unreadable(&self) -> bool {
        !matches!(self, SidecarError::NotAChecksumFile)
    }
}

/// The sidecar's name for a file name: `.<name>.crc`.
pub fn sidecar_name(file_name: &str) -> String {
    format!(".{file_name}{SUFFIX}")
}

/// The name of the file a sidecar belongs to, when `name` is a sidecar's name.
pub fn file_of_sidecar(name: &str) -> Option<&str> {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .filter(|file| !file.is_empty())
}

/// Checks `sidecar` against the content of its file.
pub fn check(sidecar: &[u8], data: &[u8]) -> Result<(), SidecarError> {
    let (magic, rest) = sidecar
        .split_first_chunk::<4>()
        .ok_or(SidecarError::NotAChecksumFile)?;
    if magic != MAGIC {
        return Err(SidecarError::NotAChecksumFile);
    }
    let (bpc, sums) = rest
        .split_first_chunk::<4>()
        .ok_or(SidecarError::NotAChecksumFile)?;
    let declared = i32::from_be_bytes(*bpc);
    let bytes_per_checksum = u32::try_from(declared)
        .ok()
        .filter(|n| *n > 0)
        .ok_or(SidecarError::BadBytesPerChecksum(declared))?;
    let chunk = usize::try_from(bytes_per_checksum).unwrap_or(usize::MAX);
    let expected = data.len().div_ceil(chunk).saturating_mul(4);
    if sums.len() != expected {
        return Err(SidecarError::WrongLength {
            found: sums.len(),
            expected,
            file_len: data.len(),
            bytes_per_checksum,
        });
    }
    for (index, (piece, sum)) in data.chunks(chunk).zip(sums.chunks_exact(4)).enumerate() {
        if crc32fast::hash(piece).to_be_bytes() != sum {
            return Err(SidecarError::Mismatch {
                offset: index.saturating_mul(chunk),
            });
        }
    }
    Ok(())
}

/// The sidecar Hadoop writes for `data` with `bytes_per_checksum` bytes per checksum (at
/// least 1): for tests and for golden files.
pub fn encode(data: &[u8], bytes_per_checksum: u32) -> Vec<u8> {
    let bpc = bytes_per_checksum.clamp(1, i32::MAX as u32);
    let chunk = usize::try_from(bpc).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + data.len().div_ceil(chunk) * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&bpc.to_be_bytes());
    for piece in data.chunks(chunk) {
        out.extend_from_slice(&crc32fast::hash(piece).to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(sidecar_name("1-2-3-4.ser"), ".1-2-3-4.ser.crc");
        assert_eq!(file_of_sidecar(".1-2-3-4.ser.crc"), Some("1-2-3-4.ser"));
        assert_eq!(file_of_sidecar("1-2-3-4.ser.crc"), None);
        assert_eq!(file_of_sidecar("..crc"), None);
        assert_eq!(file_of_sidecar(".crc"), None);
    }

    #[test]
    fn known_answer() {
        // CRC32 of "123456789" is 0xCBF43926 (the standard check value).
        let sidecar = encode(b"123456789", 512);
        assert_eq!(
            sidecar,
            [b'c', b'r', b'c', 0, 0, 0, 2, 0, 0xCB, 0xF4, 0x39, 0x26]
        );
        assert_eq!(check(&sidecar, b"123456789"), Ok(()));
        // An empty file: the header only.
        assert_eq!(encode(b"", 512), b"crc\0\0\0\x02\0");
        assert_eq!(check(b"crc\0\0\0\x02\0", b""), Ok(()));
    }

    #[test]
    fn disagreements() {
        let data = vec![7u8; 1300];
        let good = encode(&data, 512);
        let mut flipped = data.clone();
        flipped[1100] ^= 1;
        assert_eq!(
            check(&good, &flipped),
            Err(SidecarError::Mismatch { offset: 1024 })
        );
        assert!(matches!(
            check(&good, &data[..1000]),
            Err(SidecarError::WrongLength {
                found: 12,
                expected: 8,
                ..
            })
        ));
        assert_eq!(
            check(b"nope\0\0\x02\0", &data),
            Err(SidecarError::NotAChecksumFile)
        );
        assert_eq!(check(b"crc", &data), Err(SidecarError::NotAChecksumFile));
        assert_eq!(
            check(b"crc\0\xff\xff\xff\xff", &data),
            Err(SidecarError::BadBytesPerChecksum(-1))
        );
        assert_eq!(
            check(b"crc\0\0\0\0\0", &data),
            Err(SidecarError::BadBytesPerChecksum(0))
        );
        assert!(!SidecarError::NotAChecksumFile.makes_file_unreadable());
        assert!(SidecarError::Mismatch { offset: 0 }.makes_file_unreadable());
    }

    proptest! {
        #[test]
        fn encoded_sidecars_check(data in proptest::collection::vec(any::<u8>(), 0..3000), bpc in 1u32..1100) {
            prop_assert_eq!(check(&encode(&data, bpc), &data), Ok(()));
        }

        #[test]
        fn check_never_panics(sidecar in proptest::collection::vec(any::<u8>(), 0..64), data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check(&sidecar, &data);
        }
    }
}

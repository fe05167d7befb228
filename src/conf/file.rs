//! Bounded reading of configuration files (`seatunnel.yaml`, Hadoop site files): only regular
//! files, at most [`MAX_CONFIG_FILE_BYTES`], so `/dev/zero`, a FIFO or a huge file can neither
//! exhaust memory nor block the process.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Largest configuration or site file read (16 MiB; real ones are a few KiB).
pub const MAX_CONFIG_FILE_BYTES: u64 = 16 << 20;

/// Why a configuration file could not be read. The file name is added by the caller.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    /// The file cannot be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The path names a directory, FIFO, device or socket.
    #[error("not a regular file (it is {kind}); name a configuration file")]
    NotAFile {
        /// What the path is.
        kind: &'static str,
    },
    /// The file is larger than the limit.
    #[error(
        "larger than the {} MiB limit for configuration files; is this the right file?",
        .limit >> 20
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The content is not UTF-8 text.
    #[error("not UTF-8 text: {0}")]
    NotUtf8(#[from] std::string::FromUtf8Error),
}

/// Reads a configuration file as text: refuses anything but a regular file (checked before
/// opening, so a FIFO is never opened) and anything larger than [`MAX_CONFIG_FILE_BYTES`]
/// (the read itself is bounded too, in case the file grows meanwhile).
pub fn read_config_file(path: &Path) -> Result<String, ReadFileError> {
    read_bounded(path, MAX_CONFIG_FILE_BYTES)
}

fn read_bounded(path: &Path, limit: u64) -> Result<String, ReadFileError> {
    let before = std::fs::metadata(path)?;
    regular(&before)?;
    let file = File::open(path)?;
    // The path may have been replaced between the check and the open.
    let opened = file.metadata()?;
    regular(&opened)?;
    if opened.len() > limit {
        return Err(ReadFileError::TooLarge { limit });
    }
    let capacity = usize::try_from(opened.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(ReadFileError::TooLarge { limit });
    }
    Ok(String::from_utf8(bytes)?)
}

fn regular(meta: &Metadata) -> Result<(), ReadFileError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(ReadFileError::NotAFile {
        kind: kind_of(meta),
    })
}

fn kind_of(meta: &Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_files_and_refuses_large_ones_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("a.yaml");
        std::fs::write(&small, "x: 1\n").unwrap();
        assert_eq!(read_bounded(&small, 5).unwrap(), "x: 1\n");
        let err = read_bounded(&small, 4).unwrap_err();
        assert!(matches!(err, ReadFileError::TooLarge { limit: 4 }), "{err}");
        let err = read_config_file(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        #[cfg(unix)]
        {
            let err = read_config_file(Path::new("/dev/zero")).unwrap_err();
            assert!(err.to_string().contains("character device"), "{err}");
        }
        let big = dir.path().join("big.xml");
        File::create(&big)
            .unwrap()
            .set_len(MAX_CONFIG_FILE_BYTES + 1)
            .unwrap();
        let err = read_config_file(&big).unwrap_err().to_string();
        assert!(err.contains("16 MiB"), "{err}");
        std::fs::write(&small, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_config_file(&small),
            Err(ReadFileError::NotUtf8(_))
        ));
    }
}

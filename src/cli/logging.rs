//! Logging of the `ckpt` command: `tracing` events on stderr, at the level `-v` asks for
//! (`RUST_LOG` wins when set), in colour only when stderr is a terminal and `NO_COLOR` is unset,
//! and with URL passwords and credentials redacted from every line as a last safety net
//! (the sources redact them already).

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The level `-v` flags ask for: none → error, `-v` info, `-vv` debug, `-vvv` trace.
pub fn default_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// True when log lines may carry ANSI colour codes: stderr is a terminal and `NO_COLOR` is
/// unset or empty (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the subscriber for the process (call once, before the runtime starts).
pub fn init(verbose: u8) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_level(verbose)));
    let ansi = use_colour(
        io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_ansi(ansi)
        .with_target(verbose > 1)
        .init();
}

/// Writes formatted log lines to stderr with [`ckpt::conf::redact_log_text`] applied.
#[derive(Debug, Clone, Copy)]
pub struct RedactingStderr;

/// The writer of one event.
#[derive(Debug)]
pub struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(ckpt::conf::redact_log_text(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn levels() {
        assert_eq!(default_level(0), "error");
        assert_eq!(default_level(2), "debug");
        assert_eq!(default_level(9), "trace");
    }
}

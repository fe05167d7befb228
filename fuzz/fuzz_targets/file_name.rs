#![no_main]
//! Fuzz target `file_name`: see ckpt::fuzzing::file_name.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::file_name(data));

#![no_main]
//! Fuzz target `checkpoint_decode`: see ckpt::fuzzing::checkpoint_decode.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::checkpoint_decode(data));

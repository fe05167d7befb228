#![no_main]
//! Fuzz target `plugin_config`: see ckpt::fuzzing::plugin_config.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::plugin_config(data));

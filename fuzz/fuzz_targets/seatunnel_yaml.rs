#![no_main]
//! Fuzz target `seatunnel_yaml`: see ckpt::fuzzing::seatunnel_yaml.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::seatunnel_yaml(data));

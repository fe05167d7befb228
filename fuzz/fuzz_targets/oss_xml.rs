#![no_main]
//! Fuzz target `oss_xml`: see ckpt::fuzzing::oss_xml.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::oss_xml(data));

#![no_main]
//! Fuzz target `site_xml`: see ckpt::fuzzing::site_xml.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ckpt::fuzzing::site_xml(data));

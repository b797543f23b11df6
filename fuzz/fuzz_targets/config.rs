#![no_main]
//! See `trackgate::fuzzing::config` for the input layout and the properties checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trackgate::fuzzing::config(data));

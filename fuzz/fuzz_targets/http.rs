#![no_main]
//! See `trackgate::fuzzing::http` for the input layout and the properties checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trackgate::fuzzing::http(data));

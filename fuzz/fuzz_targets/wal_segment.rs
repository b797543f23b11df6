#![no_main]
//! See `trackgate::fuzzing::wal_segment`: the input is the log's only segment file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("trackgate-fuzz-wal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_ok() {
        trackgate::fuzzing::wal_segment(data, &dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
});

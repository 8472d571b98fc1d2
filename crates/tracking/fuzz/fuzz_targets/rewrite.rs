#![no_main]
// Body lives in the library (`beacon_tracking::fuzzing`) so `cargo test` compiles it too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| beacon_tracking::fuzzing::rewrite(data));

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| beacon_tracking::fuzzing::open_tokens(data));

#![no_main]
// Token → Location: the click redirect's whole pure path (`beacon_tracking::fuzzing::redirect`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| beacon_tracking::fuzzing::redirect(data));

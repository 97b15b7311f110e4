//! `cargo fuzz run -s none --features libfuzzer verifier_key`: the body is [`fuzz::log::verifier_key`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::verifier_key(data);
});

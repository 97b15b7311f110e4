//! `cargo fuzz run -s none --features libfuzzer name_proof`: the body is [`fuzz::names::name_proof`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::name_proof(data);
});

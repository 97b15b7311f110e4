//! `cargo fuzz run -s none --features libfuzzer header`: the body is [`fuzz::chain::header`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::header(data);
});

//! `cargo fuzz run -s none --features libfuzzer transaction`: the body is [`fuzz::chain::transaction`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::transaction(data);
});

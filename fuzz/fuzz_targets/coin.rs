//! `cargo fuzz run -s none --features libfuzzer coin`: the body is [`fuzz::chain::coin`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::coin(data);
});

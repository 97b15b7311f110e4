//! `cargo fuzz run -s none --features libfuzzer block`: the body is [`fuzz::chain::block`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::block(data);
});

//! `cargo fuzz run -s none --features libfuzzer index_entry`: the body is [`fuzz::chain::index_entry`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::index_entry(data);
});

//! `cargo fuzz run -s none --features libfuzzer add_checkpoint`: the body is [`fuzz::witness::add_checkpoint`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::witness::add_checkpoint(data);
});

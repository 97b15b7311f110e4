//! `cargo fuzz run -s none --features libfuzzer anchor`: the body is [`fuzz::log::anchor`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::anchor(data);
});

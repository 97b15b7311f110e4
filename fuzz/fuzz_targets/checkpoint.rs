//! `cargo fuzz run -s none --features libfuzzer checkpoint`: the body is [`fuzz::log::checkpoint`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::checkpoint(data);
});

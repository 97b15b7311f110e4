//! `cargo fuzz run -s none --features libfuzzer hash_tile`: the body is [`fuzz::log::hash_tile`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::hash_tile(data);
});

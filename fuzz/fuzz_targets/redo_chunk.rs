//! `cargo fuzz run -s none --features libfuzzer redo_chunk`: the body is [`fuzz::chain::redo_chunk`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::redo_chunk(data);
});

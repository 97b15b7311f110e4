//! `cargo fuzz run -s none --features libfuzzer block_undo`: the body is [`fuzz::chain::block_undo`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::block_undo(data);
});

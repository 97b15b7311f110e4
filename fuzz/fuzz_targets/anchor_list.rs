//! `cargo fuzz run -s none --features libfuzzer anchor_list`: the body is [`fuzz::log::anchor_list`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::anchor_list(data);
});

//! `cargo fuzz run -s none --features libfuzzer name_changes`: the body is [`fuzz::names::name_changes`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::name_changes(data);
});

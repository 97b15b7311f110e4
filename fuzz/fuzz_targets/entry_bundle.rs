//! `cargo fuzz run -s none --features libfuzzer entry_bundle`: the body is [`fuzz::log::entry_bundle`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::entry_bundle(data);
});

//! `cargo fuzz run -s none --features libfuzzer name_text`: the body is [`fuzz::names::name_text`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::name_text(data);
});

//! `cargo fuzz run -s none --features libfuzzer name_record`: the body is [`fuzz::names::name_record`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::name_record(data);
});

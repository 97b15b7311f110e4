//! `cargo fuzz run -s none --features libfuzzer name_operation`: the body is [`fuzz::names::name_operation`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::name_operation(data);
});

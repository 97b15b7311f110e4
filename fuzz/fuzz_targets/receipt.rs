//! `cargo fuzz run -s none --features libfuzzer receipt`: the body is [`fuzz::log::receipt`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::receipt(data);
});

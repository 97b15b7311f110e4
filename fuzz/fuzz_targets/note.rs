//! `cargo fuzz run -s none --features libfuzzer note`: the body is [`fuzz::log::note`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::note(data);
});

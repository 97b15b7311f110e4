//! `cargo fuzz run -s none --features libfuzzer policy`: the body is [`fuzz::witness::policy`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::witness::policy(data);
});

//! `cargo fuzz run -s none --features libfuzzer witness_answer`: the body is [`fuzz::witness::witness_answer`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::witness::witness_answer(data);
});

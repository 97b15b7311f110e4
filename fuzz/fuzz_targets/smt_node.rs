//! `cargo fuzz run -s none --features libfuzzer smt_node`: the body is [`fuzz::names::smt_node`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::names::smt_node(data);
});

//! `cargo fuzz run -s none --features libfuzzer p2p_message`: the body is
//! [`fuzz::chain::p2p_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::chain::p2p_message(data);
});

//! `cargo fuzz run -s none --features libfuzzer audit_state`: the body is [`fuzz::wallet::audit_state`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::wallet::audit_state(data);
});

//! `cargo fuzz run -s none --features libfuzzer keystore`: the body is [`fuzz::wallet::keystore`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::wallet::keystore(data);
});

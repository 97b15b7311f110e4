//! `cargo fuzz run -s none --features libfuzzer rpc_params`: the body is [`fuzz::rpc::rpc_params`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::rpc::rpc_params(data);
});

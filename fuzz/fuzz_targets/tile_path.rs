//! `cargo fuzz run -s none --features libfuzzer tile_path`: the body is [`fuzz::log::tile_path`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz::log::tile_path(data);
});

//! Chain states on disk for measurements: the coins cache they run with, the untimed
//! disconnect before each timed connect, and copies of a stopped node's directory.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use chain_node::{BlockHash, CacheConfig, ChainState};

/// The coins cache of the benchmarks: the default memory and block bounds, and no time
/// bound inside a run, so that no flush lands in a timed part unannounced.
pub(crate) fn bench_cache() -> CacheConfig {
    CacheConfig {
        max_age: Duration::from_secs(24 * 3600),
        ..CacheConfig::default()
    }
}

/// Disconnects `first` and everything above it, then writes the cache, untimed.
pub(crate) fn disconnect_and_flush(st: &mut ChainState, first: &BlockHash) {
    st.invalidate_block(first).unwrap();
    st.flush().unwrap();
}

/// Copies the directory tree `from` into `to` (created), file by file: a stopped
/// node's data directory, so that two different blocks can be mined on the same state.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

//! Fuzz targets for every decoder and parser of the workspace.
//!
//! Each [`Target`] is a property check over one input: decoding never panics, what
//! is rejected is rejected with an error, and what is accepted is written back by the
//! crate's own encoder to exactly the input (canonical formats) or to a value that
//! reads back equal. The same bodies run in two engines:
//!
//! - coverage-guided, with libFuzzer through `cargo fuzz` on the stable toolchain
//!   (`cargo fuzz run -s none --features libfuzzer TARGET`; the binaries are in
//!   `fuzz_targets/`, one per target);
//! - bounded, in `cargo test`: every seed (valid inputs built with the encoders, or
//!   taken from published vectors in `seeds/`), every regression case in
//!   `regressions/`, and a deterministic set of structure-aware mutations of the
//!   seeds ([`mutate`]).
//!
//! ```
//! let target = fuzz::target("checkpoint").unwrap();
//! for seed in target.seeds() {
//!     assert!(target.run(&seed));
//! }
//! assert!(!target.run(b"not a checkpoint"));
//! ```

pub mod chain;
pub mod log;
pub mod mutate;
pub mod names;
pub mod rpc;
pub mod wallet;
pub mod witness;

use std::path::{Path, PathBuf};

/// One fuzz target: a property check and its valid seed inputs.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Its name: the `cargo fuzz` target, and the folder of its seeds and regressions.
    pub name: &'static str,
    /// Checks the properties on one input and says whether the input was accepted.
    ///
    /// # Panics
    /// When a property fails: that is a bug found.
    pub check: fn(&[u8]) -> bool,
    /// Valid inputs built with the crates' encoders.
    pub generated: fn() -> Vec<Vec<u8>>,
    /// How many mutations the bounded run in `cargo test` checks: fewer where one
    /// case costs a key derivation.
    pub bounded_cases: usize,
}

impl Target {
    /// Runs the check on one input; `true` when the input was accepted.
    ///
    /// # Panics
    /// When a property fails.
    pub fn run(&self, data: &[u8]) -> bool {
        (self.check)(data)
    }

    /// Every seed: the generated ones, then the files in `seeds/NAME/`. All of them
    /// are valid inputs, which the target accepts.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        let mut out = (self.generated)();
        out.extend(read_files(&crate_dir().join("seeds").join(self.name)));
        out
    }

    /// The inputs that once failed a property, kept in `regressions/NAME/`.
    pub fn regressions(&self) -> Vec<Vec<u8>> {
        read_files(&crate_dir().join("regressions").join(self.name))
    }
}

fn none() -> Vec<Vec<u8>> {
    Vec::new()
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "header",
        check: chain::header,
        generated: chain::header_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "transaction",
        check: chain::transaction,
        generated: chain::transaction_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "block",
        check: chain::block,
        generated: chain::block_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "p2p_message",
        check: chain::p2p_message,
        generated: chain::p2p_message_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "coin",
        check: chain::coin,
        generated: chain::coin_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "block_undo",
        check: chain::block_undo,
        generated: chain::block_undo_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "index_entry",
        check: chain::index_entry,
        generated: chain::index_entry_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "redo_chunk",
        check: chain::redo_chunk,
        generated: chain::redo_chunk_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "note",
        check: log::note,
        generated: log::note_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "verifier_key",
        check: log::verifier_key,
        generated: log::verifier_key_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "checkpoint",
        check: log::checkpoint,
        generated: log::checkpoint_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "anchor",
        check: log::anchor,
        generated: log::anchor_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "anchor_list",
        check: log::anchor_list,
        generated: log::anchor_list_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "tile_path",
        check: log::tile_path,
        generated: log::tile_path_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "hash_tile",
        check: log::hash_tile,
        generated: log::hash_tile_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "entry_bundle",
        check: log::entry_bundle,
        generated: log::entry_bundle_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "receipt",
        check: log::receipt,
        generated: log::receipt_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "policy",
        check: witness::policy,
        generated: witness::policy_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "add_checkpoint",
        check: witness::add_checkpoint,
        generated: witness::add_checkpoint_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "witness_answer",
        check: witness::witness_answer,
        generated: witness::witness_answer_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "rpc_params",
        check: rpc::rpc_params,
        generated: rpc::rpc_params_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "keystore",
        check: wallet::keystore,
        generated: none,
        // Each unlock derives the BIP39 seed (2048 rounds of HMAC-SHA512).
        bounded_cases: 120,
    },
    Target {
        name: "audit_state",
        check: wallet::audit_state,
        generated: wallet::audit_state_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "name_operation",
        check: names::name_operation,
        generated: names::name_operation_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "name_record",
        check: names::name_record,
        generated: names::name_record_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "name_changes",
        check: names::name_changes,
        generated: names::name_changes_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "name_proof",
        check: names::name_proof,
        generated: names::name_proof_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "smt_node",
        check: names::smt_node,
        generated: names::smt_node_seeds,
        bounded_cases: 1500,
    },
    Target {
        name: "name_text",
        check: names::name_text,
        generated: names::name_text_seeds,
        bounded_cases: 1500,
    },
];

/// The target of this name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// This crate's folder, where `seeds/`, `regressions/` and `corpus/` are.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The contents of the files directly in `dir`, in name order (none if it is missing).
fn read_files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

//! The bounded run of every fuzz target, part of `cargo test`: each target's seeds
//! (all accepted), its regression cases, and a deterministic set of structure-aware
//! mutations of the seeds. `FUZZ_CASES=N` sets the number of mutations per target
//! (default: the target's `bounded_cases`) for a longer run.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::print_stderr)]

use fuzz::mutate::{Rng, mutate};
use fuzz::{TARGETS, Target};

fn cases(target: &Target) -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(target.bounded_cases)
}

/// Runs one input, printing it (hex) before passing on a failure, so that the case
/// can be saved under `fuzz/regressions/NAME/`.
fn run_case(target: &Target, what: &str, input: &[u8]) -> bool {
    match std::panic::catch_unwind(|| target.run(input)) {
        Ok(accepted) => accepted,
        Err(panic) => {
            eprintln!(
                "target {} failed on {what}; input (hex): {}",
                target.name,
                hex::encode(input)
            );
            std::panic::resume_unwind(panic)
        }
    }
}

fn bounded_run(name: &str) {
    let target = fuzz::target(name).expect("a known target");
    let seeds = target.seeds();
    assert!(!seeds.is_empty(), "target {name} has no seeds");
    for (i, seed) in seeds.iter().enumerate() {
        assert!(
            run_case(target, &format!("seed {i}"), seed),
            "target {name} rejects its seed {i} ({})",
            String::from_utf8_lossy(seed)
        );
    }
    for (i, case) in target.regressions().iter().enumerate() {
        run_case(target, &format!("regression case {i}"), case);
    }
    let mut rng = Rng::from_name(name);
    let (mut accepted, mut rejected) = (0usize, 0usize);
    for i in 0..cases(target) {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(seed, &seeds, &mut rng);
        if run_case(target, &format!("mutation {i}"), &input) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // The mutations must reach the error paths, or they test nothing.
    assert!(
        rejected > 0 || cases(target) == 0,
        "target {name}: no mutation was rejected ({accepted} accepted)"
    );
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                bounded_run(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_bounded_run() {
            let tested = [$(stringify!($name)),*];
            for t in TARGETS {
                assert!(tested.contains(&t.name), "{} has no test here", t.name);
            }
        }
    };
}

targets!(
    header,
    transaction,
    block,
    p2p_message,
    coin,
    block_undo,
    index_entry,
    redo_chunk,
    note,
    verifier_key,
    checkpoint,
    anchor,
    anchor_list,
    tile_path,
    hash_tile,
    entry_bundle,
    receipt,
    policy,
    add_checkpoint,
    witness_answer,
    rpc_params,
    keystore,
    audit_state,
    name_operation,
    name_record,
    name_changes,
    name_proof,
    smt_node,
    name_text,
);

#[test]
fn regression_folders_name_targets() {
    for dir in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(fuzz::crate_dir().join(dir)) else {
            continue;
        };
        for e in entries.flatten().filter(|e| e.path().is_dir()) {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(fuzz::target(&name).is_some(), "{dir}/{name} is no target");
        }
    }
}

//! Property tests of the formats and the tile store: round trips, and proofs from
//! tiles against the naive oracle. Hostile input to every parser is the fuzz
//! targets' work (`fuzz/`, run in `cargo test -p fuzz`).

use merkle_log::tiles::{
    TileRequest, decode_bundle, index_path, parse_index_path, parse_tile_path, push_bundle_entry,
    tiles_for_size,
};
use merkle_log::{Checkpoint, FetchedTiles, Hash, Receipt, TileId, TileNodeStore, Tree};
use proptest::prelude::*;

use crate::oracle;
use crate::properties::config;

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn index_paths_round_trip(n in any::<u64>()) {
        prop_assert_eq!(parse_index_path(&index_path(n)), Some(n));
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..8, index in any::<u64>(), width in 1u16..=256) {
        let tile = TileId { level, index, width };
        let path = tile.path();
        prop_assert_eq!(parse_tile_path(path.strip_prefix("tile/").unwrap()), Ok(TileRequest::Hashes(tile)));
        let entries = tile.entries_path();
        prop_assert_eq!(
            parse_tile_path(entries.strip_prefix("tile/").unwrap()),
            Ok(TileRequest::Entries { index, width })
        );
    }

    #[test]
    fn checkpoints_and_receipts_round_trip(
        origin in "[a-z./]{1,30}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        index in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..64),
        extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    ) {
        let cp = Checkpoint::new(&origin, size, Hash(root)).unwrap();
        prop_assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp.clone()));
        let r = Receipt {
            extra,
            index,
            proof: proof.into_iter().map(Hash).collect(),
            checkpoint: format!("{}\n\u{2014} k AAAAAAA=\n", cp.to_text()),
        };
        prop_assert_eq!(Receipt::parse(&r.encode()), Ok(r));
    }

    #[test]
    fn bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..40)) {
        let mut bytes = Vec::new();
        for e in &entries {
            push_bundle_entry(&mut bytes, e).unwrap();
        }
        let width = u16::try_from(entries.len()).unwrap();
        let got = decode_bundle(&bytes, width).unwrap();
        prop_assert_eq!(got, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}

/// The tiles of a tree of `leaves`, computed with the naive MTH.
fn naive_tiles(leaves: &[[u8; 32]]) -> FetchedTiles {
    let mut tiles = FetchedTiles::new();
    let n = leaves.len() as u64;
    for (level, full, partial) in tiles_for_size(n) {
        for index in 0..full + u64::from(partial > 0) {
            let tile = TileId::at_size(level, index, n).unwrap();
            let span = 1usize << (8 * u32::from(level));
            let hashes = (0..usize::from(tile.width))
                .map(|j| {
                    let first = (index as usize * 256 + j) * span;
                    Hash(oracle::mth(&leaves[first..first + span]))
                })
                .collect();
            tiles.insert(tile, hashes);
        }
    }
    tiles
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn proofs_from_tiles_match_the_oracle(n in 1usize..1400, m_frac in 0.0f64..=1.0, i_frac in 0.0f64..1.0) {
        let leaves: Vec<[u8; 32]> = (0..n as u64).map(|i| oracle::leaf(&i.to_le_bytes())).collect();
        let m = ((n as f64) * m_frac) as usize;
        let i = (((n as f64) * i_frac) as usize).min(n - 1);
        let tree = Tree::open(n as u64, TileNodeStore::new(n as u64, naive_tiles(&leaves))).unwrap();
        prop_assert_eq!(tree.root().0, oracle::mth(&leaves));
        let proof: Vec<[u8; 32]> = tree.consistency_proof(m as u64, n as u64).unwrap().iter().map(|h| h.0).collect();
        prop_assert_eq!(proof, oracle::proof(m, &leaves));
        let path: Vec<[u8; 32]> = tree.inclusion_proof(i as u64, n as u64).unwrap().iter().map(|h| h.0).collect();
        prop_assert_eq!(path, oracle::path(i, &leaves));
        if m > 0 {
            prop_assert_eq!(tree.root_at(m as u64).unwrap().0, oracle::mth(&leaves[..m]));
        }
    }
}

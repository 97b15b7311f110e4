//! Headers first: header batches before data, blocks arriving out of order, refused
//! headers that leave nothing behind, the anti-DoS rule for low-work chains, locators
//! and `getheaders` answers against naive computations from Core's documented
//! behaviour, and the upgrade of a format-2 store.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::error::{BlockError, ChainError};
use chain_node::u256::U256;
use chain_node::{
    Block, BlockHash, ChainState, FORMAT_VERSION, Header, HeadersOutcome, Height,
    MAX_HEADERS_RESULTS, MAX_LOCATOR_HASHES, MAX_PENDING_HEADERS, Network, Params, PendingHeaders,
    TipStatus,
};

use crate::chain::{NOW, event_list, extend, open_raw};
use crate::helpers::{MemChain, solve};

/// Work of one regtest block: the target 0x207fffff is 0x7fffff * 2^232, and
/// floor(2^256 / (0x7fffff * 2^232 + 1)) = floor(2^24 / 0x7fffff.000…) = 2.
const REGTEST_BLOCK_WORK: u64 = 2;

fn regtest() -> Params {
    Network::Regtest.params()
}

/// `n` valid regtest headers on `parent`, one minute apart (times shifted by `tag`),
/// solved by a nonce search here.
fn header_chain(parent: &Header, n: usize, tag: u32) -> Vec<Header> {
    let mut out: Vec<Header> = Vec::with_capacity(n);
    let mut prev = *parent;
    for i in 0..n {
        let h = solve(Header {
            version: 1,
            prev: prev.hash(),
            merkle_root: [i as u8; 32],
            time: prev.time + 60 + tag,
            bits: regtest().pow_limit,
            nonce: 0,
        });
        out.push(h);
        prev = h;
    }
    out
}

/// How many index records the store in `dir` holds (the state must be closed).
fn stored_index_records(dir: &std::path::Path) -> usize {
    let db = open_raw(dir);
    db.scan_prefix([b'i']).count()
}

#[test]
fn headers_first_then_blocks_out_of_order_connect_in_order() {
    let dir = crate::helpers::temp_dir("headers-first");
    let params = regtest();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 30, 0);
    let headers: Vec<Header> = blocks.iter().map(|b| b.header).collect();
    let hashes: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        let outcome = state.accept_headers(&headers, NOW).unwrap();
        assert_eq!(
            outcome,
            HeadersOutcome::Stored {
                new: 30,
                last: Some((Height(30), hashes[29])),
            }
        );
        assert_eq!(state.best_header(), (Height(30), hashes[29]));
        assert_eq!(state.tip().0, Height(0));
        assert_eq!(state.blocks_to_download(1024), hashes);
        assert_eq!(state.blocks_to_download(10), hashes[..10].to_vec());
        let tips = state.chain_tips();
        assert!(
            tips.iter()
                .any(|t| t.hash == hashes[29] && t.status == TipStatus::HeadersOnly)
        );
        // Accepting the same headers again stores nothing new.
        assert_eq!(
            state.accept_headers(&headers[10..20], NOW).unwrap(),
            HeadersOutcome::Stored {
                new: 0,
                last: Some((Height(20), hashes[19])),
            }
        );
        // Data arrives from the last block down to the second: nothing connects.
        for b in blocks[1..].iter().rev() {
            let act = state.submit_block(b, NOW).unwrap();
            assert!(act.events.is_empty());
            assert_eq!(state.tip().0, Height(0));
        }
        assert_eq!(state.blocks_to_download(1024), vec![hashes[0]]);
        // The first block completes the ancestry: all thirty connect, in order.
        let act = state.submit_block(&blocks[0], NOW).unwrap();
        let expected: Vec<(bool, u32, BlockHash)> =
            (0..30).map(|i| (true, i as u32 + 1, hashes[i])).collect();
        assert_eq!(event_list(&act.events), expected);
        assert_eq!(state.tip(), (Height(30), hashes[29]));
        assert_eq!(state.utxo_set().unwrap(), mem.utxo);
        assert!(state.blocks_to_download(1024).is_empty());
        assert!(matches!(
            state.submit_block(&blocks[3], NOW),
            Err(ChainError::Duplicate { .. })
        ));
    }
    let state = ChainState::open(&dir, params).unwrap();
    assert_eq!(state.tip(), (Height(30), hashes[29]));
    assert_eq!(state.best_header(), (Height(30), hashes[29]));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
}

#[test]
fn the_download_list_follows_the_best_header_chain_after_the_fork() {
    let mut state = ChainState::open_temporary(regtest()).unwrap();
    let mut mem = MemChain::new(regtest());
    let ours = extend(&mut mem, 5, 0);
    for b in &ours {
        state.submit_block(b, NOW).unwrap();
    }
    // Headers of a longer branch forking after block 2.
    let theirs = header_chain(&ours[1].header, 6, 7);
    state.accept_headers(&theirs, NOW).unwrap();
    assert_eq!(state.best_header(), (Height(8), theirs[5].hash()));
    let want: Vec<BlockHash> = theirs.iter().map(Header::hash).collect();
    assert_eq!(state.blocks_to_download(100), want);
    assert_eq!(state.blocks_to_download(2), want[..2].to_vec());
    assert_eq!(state.tip(), (Height(5), ours[4].hash()));
}

#[test]
fn invalid_or_unconnected_headers_are_refused_and_nothing_is_stored() {
    let dir = crate::helpers::temp_dir("bad-headers");
    let params = regtest();
    let genesis = params.genesis.header;
    let good = header_chain(&genesis, 10, 0);
    // A header whose hash, read big-endian, exceeds 0x7fffff * 2^232: its first byte
    // is 0x80 or more.
    let mut high = good[5];
    high.nonce = 0;
    while high.hash().as_bytes()[0] < 0x80 {
        high.nonce += 1;
    }
    let mut time_too_old = good[5];
    time_too_old.time = genesis.time; // not after the median of its ancestors
    let time_too_old = solve(time_too_old);
    let mut time_too_new = good[5];
    time_too_new.time = (NOW + 2 * 60 * 60 + 1) as u32;
    let time_too_new = solve(time_too_new);
    let mut wrong_bits = good[5];
    wrong_bits.bits = chain_node::pow::CompactTarget(0x1f7f_ffff);
    let wrong_bits = solve(wrong_bits);
    let mut unconnected = good[5];
    unconnected.prev = BlockHash([7; 32]);
    let unconnected = solve(unconnected);
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    for (what, bad, check) in [
        ("high hash", high, "HighHash"),
        ("time too old", time_too_old, "TimeTooOld"),
        ("time too new", time_too_new, "TimeTooNew"),
        ("wrong bits", wrong_bits, "WrongBits"),
        ("unconnected", unconnected, "Unconnected"),
    ] {
        let mut batch = good.clone();
        batch[5] = bad;
        let err = state.accept_headers(&batch, NOW).unwrap_err();
        assert!(err.is_peer_fault(), "{what}: {err}");
        let named = match &err {
            ChainError::BadHeader {
                index: 5, source, ..
            } => match source.as_ref() {
                BlockError::HighHash { .. } => "HighHash",
                BlockError::TimeTooOld { .. } => "TimeTooOld",
                BlockError::TimeTooNew { .. } => "TimeTooNew",
                BlockError::WrongBits { .. } => "WrongBits",
                other => panic!("{what}: {other:?}"),
            },
            ChainError::UnconnectedHeader { index: 5, .. } => "Unconnected",
            other => panic!("{what}: {other:?}"),
        };
        assert_eq!(named, check, "{what}");
        for h in &good {
            assert!(state.entry(&h.hash()).is_none(), "{what}: stored");
        }
        assert_eq!(state.best_header(), (Height(0), params.genesis_hash()));
    }
    // A first header that connects to nothing.
    let orphan = header_chain(&good[3], 3, 0);
    assert!(matches!(
        state.accept_headers(&orphan, NOW),
        Err(ChainError::UnconnectedHeader { index: 0, .. })
    ));
    // Too many at once.
    let many = vec![good[0]; MAX_HEADERS_RESULTS + 1];
    assert!(matches!(
        state.accept_headers(&many, NOW),
        Err(ChainError::TooManyHeaders { .. })
    ));
    drop(state);
    assert_eq!(stored_index_records(&dir), 1, "only genesis is indexed");
    // The good chain is accepted afterwards; a chain on an invalidated header is not.
    let mut state = ChainState::open(&dir, params).unwrap();
    state.accept_headers(&good, NOW).unwrap();
    state.invalidate_block(&good[4].hash()).unwrap();
    assert_eq!(state.best_header(), (Height(4), good[3].hash()));
    let more = header_chain(&good[9], 2, 0);
    assert!(matches!(
        state.accept_headers(&more, NOW),
        Err(ChainError::InvalidAncestor { .. })
    ));
    assert!(state.entry(&more[0].hash()).is_none());
    state.reconsider_block(&good[4].hash()).unwrap();
    assert_eq!(state.best_header(), (Height(10), good[9].hash()));
    state.accept_headers(&more, NOW).unwrap();
    assert_eq!(state.best_header(), (Height(12), more[1].hash()));
}

#[test]
fn a_low_work_header_chain_from_genesis_is_never_stored_and_held_within_its_bound() {
    let dir = crate::helpers::temp_dir("low-work");
    let mut params = regtest();
    // A minimum chain work of a million regtest blocks.
    params.minimum_chain_work = U256::from_u64(1_000_000 * REGTEST_BLOCK_WORK);
    let genesis = params.genesis.header;
    let chain = header_chain(&genesis, MAX_PENDING_HEADERS + MAX_HEADERS_RESULTS, 0);
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    // Without a buffer nothing is kept.
    match state.accept_headers(&chain[..2000], NOW).unwrap() {
        HeadersOutcome::LowWork {
            held, work, last, ..
        } => {
            assert_eq!(held, 0);
            assert_eq!(work, U256::from_u64(2001 * REGTEST_BLOCK_WORK));
            assert_eq!(last, (Height(2000), chain[1999].hash()));
        }
        other => panic!("{other:?}"),
    }
    // With one, the chain is held in memory up to the bound, then dropped.
    let mut pending = PendingHeaders::new();
    for (i, batch) in chain.chunks(MAX_HEADERS_RESULTS).enumerate() {
        let result = state.accept_peer_headers(&mut pending, batch, NOW);
        if (i + 1) * MAX_HEADERS_RESULTS <= MAX_PENDING_HEADERS {
            match result.unwrap() {
                HeadersOutcome::LowWork { held, .. } => {
                    assert_eq!(held, (i + 1) * MAX_HEADERS_RESULTS);
                    assert!(held <= MAX_PENDING_HEADERS);
                }
                other => panic!("{other:?}"),
            }
        } else {
            assert!(matches!(
                result,
                Err(ChainError::PendingFull {
                    max: MAX_PENDING_HEADERS
                })
            ));
            assert!(pending.is_empty());
        }
        assert!(state.entry(&batch[0].hash()).is_none());
        assert_eq!(state.best_header().0, Height(0));
    }
    drop(state);
    assert_eq!(stored_index_records(&dir), 1, "only genesis is indexed");
    // With a minimum of 3,000 blocks, the held chain is stored once it passes it.
    params.minimum_chain_work = U256::from_u64(3_000 * REGTEST_BLOCK_WORK);
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    let mut pending = PendingHeaders::new();
    assert!(matches!(
        state.accept_peer_headers(&mut pending, &chain[..2000], NOW),
        Ok(HeadersOutcome::LowWork { held: 2000, .. })
    ));
    assert_eq!(
        state
            .accept_peer_headers(&mut pending, &chain[2000..4000], NOW)
            .unwrap(),
        HeadersOutcome::Stored {
            new: 4000,
            last: Some((Height(4000), chain[3999].hash())),
        }
    );
    assert!(pending.is_empty());
    assert_eq!(state.best_header(), (Height(4000), chain[3999].hash()));
    drop(state);
    assert_eq!(stored_index_records(&dir), 4001);
}

#[test]
fn side_branches_far_below_the_tip_are_not_stored() {
    let params = regtest();
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 300, 0);
    for b in &blocks {
        state.submit_block(b, NOW).unwrap();
    }
    // Core's threshold: tip work less 144 blocks of the tip's proof. The tip at height
    // 300 has 301 blocks of work, so a chain needs 301 - 144 = 157 blocks (height 156).
    let threshold = U256::from_u64((301 - 144) * REGTEST_BLOCK_WORK);
    assert_eq!(state.anti_dos_threshold(), threshold);
    let fork = header_chain(&params.genesis.header, 156, 3);
    match state.accept_headers(&fork[..155], NOW).unwrap() {
        HeadersOutcome::LowWork {
            work, threshold: t, ..
        } => {
            assert_eq!(work, U256::from_u64(156 * REGTEST_BLOCK_WORK));
            assert_eq!(t, threshold);
        }
        other => panic!("{other:?}"),
    }
    assert!(state.entry(&fork[0].hash()).is_none());
    assert!(matches!(
        state.accept_headers(&fork, NOW).unwrap(),
        HeadersOutcome::Stored { new: 156, .. }
    ));
    assert_eq!(state.tip(), (Height(300), blocks[299].hash()));
    assert_eq!(state.best_header(), (Height(300), blocks[299].hash()));
    // Blocks nobody asked for: stored only with at least the tip's work (Core's
    // `AcceptBlock` for unrequested blocks).
    let mut stale = MemChain::new(params.clone());
    let stale_block = extend(&mut stale, 1, 11).remove(0);
    assert!(matches!(
        state.submit_unrequested_block(&stale_block, NOW),
        Err(ChainError::LowWork { .. })
    ));
    assert!(state.entry(&stale_block.hash()).is_none());
    let (_, sibling) = crate::chain::branch(&params, &blocks[..299], 1, 13);
    state.submit_unrequested_block(&sibling[0], NOW).unwrap();
    assert!(
        state.entry(&sibling[0].hash()).is_some(),
        "equal work is stored"
    );
    assert_eq!(
        state.tip(),
        (Height(300), blocks[299].hash()),
        "first seen stays"
    );
    let (_, next) = crate::chain::branch(&params, &blocks, 1, 0);
    state.submit_unrequested_block(&next[0], NOW).unwrap();
    assert_eq!(state.tip(), (Height(301), next[0].hash()));
}

/// Core's `LocatorEntries` written out over heights: the heights a locator from
/// `height` names.
fn naive_locator_heights(height: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut h = i64::from(height);
    let mut step = 1i64;
    loop {
        out.push(h as u32);
        if h == 0 {
            return out;
        }
        h = (h - step).max(0);
        if out.len() > 10 {
            step *= 2;
        }
    }
}

#[test]
fn locators_have_core_s_shape() {
    let params = regtest();
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 40, 0);
    for b in &blocks {
        state.submit_block(b, NOW).unwrap();
    }
    let mut active = vec![params.genesis_hash()];
    active.extend(blocks.iter().map(Block::hash));
    let expected: Vec<BlockHash> = naive_locator_heights(40)
        .into_iter()
        .map(|h| active[h as usize])
        .collect();
    assert_eq!(state.locator(), expected);
    // Spot check of the oracle itself: eleven steps of one, then doubling.
    assert_eq!(
        naive_locator_heights(40),
        vec![
            40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 27, 23, 15, 0
        ]
    );
    // The best header's locator, over headers without data, and a side branch's.
    let headers = header_chain(&blocks[39].header, 1000, 0);
    state.accept_headers(&headers, NOW).unwrap();
    let mut best = active.clone();
    best.extend(headers.iter().map(Header::hash));
    let (height, hash) = state.best_header();
    let expected: Vec<BlockHash> = naive_locator_heights(height.0)
        .into_iter()
        .map(|h| best[h as usize])
        .collect();
    assert_eq!(state.locator_from(&hash).unwrap(), expected);
    // headers[499] is at height 540.
    let side = header_chain(&headers[499], 30, 5);
    state.accept_headers(&side, NOW).unwrap();
    let mut side_chain = best[..=540].to_vec();
    side_chain.extend(side.iter().map(Header::hash));
    let side_tip = side.last().unwrap().hash();
    let expected: Vec<BlockHash> = naive_locator_heights(570)
        .into_iter()
        .map(|h| side_chain[h as usize])
        .collect();
    assert_eq!(state.locator_from(&side_tip).unwrap(), expected);
    assert!(state.locator_from(&BlockHash([9; 32])).is_none());
}

#[test]
fn headers_after_answers_as_core_s_getheaders() {
    let params = regtest();
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 2050, 0);
    for b in &blocks {
        state.submit_block(b, NOW).unwrap();
    }
    let headers: Vec<Header> = std::iter::once(params.genesis.header)
        .chain(blocks.iter().map(|b| b.header))
        .collect();
    let hash = |h: usize| headers[h].hash();
    // From genesis: the first 2,000 after it, whatever is asked for.
    let got = state.headers_after(&[hash(0)], None, usize::MAX).unwrap();
    assert_eq!(got, headers[1..=2000].to_vec());
    // A peer on a branch forking at 1,000: its own hashes are unknown here.
    let theirs = header_chain(&headers[1000], 20, 9);
    let mut locator: Vec<BlockHash> = theirs.iter().rev().take(11).map(Header::hash).collect();
    locator.extend([hash(1000), hash(990), hash(0)]);
    let got = state.headers_after(&locator, None, 2000).unwrap();
    assert_eq!(got, headers[1001..=2050].to_vec());
    // Ending at `stop`, and at `max`.
    let got = state
        .headers_after(&locator, Some(&hash(1010)), 2000)
        .unwrap();
    assert_eq!(got, headers[1001..=1010].to_vec());
    let got = state.headers_after(&locator, None, 5).unwrap();
    assert_eq!(got, headers[1001..=1005].to_vec());
    // A known header off the active chain is passed over for the next locator entry
    // (a branch near the tip, so that it is stored).
    let near = header_chain(&headers[2040], 3, 9);
    assert!(matches!(
        state.accept_headers(&near, NOW).unwrap(),
        HeadersOutcome::Stored { new: 3, .. }
    ));
    let locator = [near[2].hash(), hash(1500), hash(0)];
    let got = state.headers_after(&locator, None, 3).unwrap();
    assert_eq!(got, headers[1501..=1503].to_vec());
    // A known header above the tip, on its chain, stands for the tip.
    let above = header_chain(&headers[2050], 2, 0);
    state.accept_headers(&above, NOW).unwrap();
    let got = state
        .headers_after(&[above[1].hash(), hash(0)], None, 10)
        .unwrap();
    assert!(got.is_empty());
    // An up-to-date peer gets nothing; an empty locator asks for `stop` alone.
    assert!(
        state
            .headers_after(&[hash(2050)], None, 2000)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        state.headers_after(&[], Some(&hash(7)), 2000).unwrap(),
        vec![headers[7]]
    );
    assert!(
        state
            .headers_after(&[], Some(&near[0].hash()), 2000)
            .unwrap()
            .is_empty(),
        "only an active block is answered alone"
    );
    let long = vec![hash(0); MAX_LOCATOR_HASHES + 1];
    assert!(matches!(
        state.headers_after(&long, None, 10),
        Err(ChainError::LocatorTooLong { .. })
    ));
}

#[test]
fn reindex_after_headers_first_sync_matches() {
    let dir = crate::helpers::temp_dir("headers-reindex");
    let params = regtest();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 40, 0);
    let extra = header_chain(&blocks[39].header, 5, 0);
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        let headers: Vec<Header> = blocks.iter().map(|b| b.header).collect();
        state.accept_headers(&headers, NOW).unwrap();
        state.accept_headers(&extra, NOW).unwrap();
        for b in blocks.iter().rev() {
            state.submit_block(b, NOW).unwrap();
        }
        assert_eq!(state.tip(), (Height(40), blocks[39].hash()));
    }
    let mut state = ChainState::open_for_reindex(&dir, params).unwrap();
    state.reindex(|_, _| {}).unwrap();
    assert_eq!(state.tip(), (Height(40), blocks[39].hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    assert_eq!(state.best_header(), (Height(45), extra[4].hash()));
    let want: Vec<BlockHash> = extra.iter().map(Header::hash).collect();
    assert_eq!(state.blocks_to_download(1024), want);
}

#[test]
fn a_format_2_store_is_refused_with_advice_and_upgraded_by_reindex() {
    let dir = crate::helpers::temp_dir("format2");
    let params = regtest();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 12, 0);
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        for b in &blocks {
            state.submit_block(b, NOW).unwrap();
        }
        state.invalidate_block(&blocks[9].hash()).unwrap();
    }
    // Rewrite the store as format 2 wrote it (docs/storage.md of format 2): version 2,
    // and a status byte of 0 (valid) or 1 (invalid) after header, height and chainwork.
    {
        let db = open_raw(&dir);
        let records: Vec<(sled::IVec, sled::IVec)> =
            db.scan_prefix([b'i']).map(Result::unwrap).collect();
        for (key, value) in records {
            let mut v = value.to_vec();
            v[116] = u8::from(v[116] & 0xf0 == 0x10);
            db.insert(key, v).unwrap();
        }
        db.insert(b"v", &2u32.to_le_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = ChainState::open(&dir, params.clone()).unwrap_err();
    assert!(matches!(
        err,
        ChainError::OldFormat {
            found: 2,
            expected: FORMAT_VERSION
        }
    ));
    let message = err.to_string();
    assert!(message.contains("chain-node reindex") && message.contains("remove"));
    let mut state = ChainState::open_for_reindex(&dir, params.clone()).unwrap();
    state.reindex(|_, _| {}).unwrap();
    assert_eq!(state.tip(), (Height(9), blocks[8].hash()));
    let mut nine = MemChain::new(params.clone());
    for b in &blocks[..9] {
        nine.connect(b).unwrap();
    }
    assert_eq!(state.utxo_set().unwrap(), nine.utxo);
    drop(state);
    let state = ChainState::open(&dir, params).unwrap();
    assert_eq!(state.tip(), (Height(9), blocks[8].hash()));
    assert!(state.entry(&blocks[11].hash()).unwrap().status.is_failed());
}

#[test]
fn a_block_failing_after_headers_first_marks_its_descendants_and_moves_the_best_header() {
    use chain_node::{Amount, COIN};

    use crate::helpers::{address, coinbase, key, make_block};
    let params = regtest();
    let mut mem = MemChain::new(params.clone());
    let mut blocks = extend(&mut mem, 4, 0);
    // Block 5 pays one unit more than the subsidy (50 coins below the first halving);
    // its header is valid. Blocks 6 to 10 build on it.
    let miner = address(&key(200));
    let mut prev = blocks[3].header;
    for height in 5..=10u32 {
        let pay = 50 * COIN + u64::from(height == 5);
        let b = make_block(
            &params,
            &prev,
            prev.time + 60,
            vec![coinbase(height, miner, Amount::from_units(pay))],
        );
        prev = b.header;
        blocks.push(b);
    }
    let hashes: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
    let mut state = ChainState::open_temporary(params).unwrap();
    let headers: Vec<Header> = blocks.iter().map(|b| b.header).collect();
    state.accept_headers(&headers, NOW).unwrap();
    assert_eq!(state.best_header(), (Height(10), hashes[9]));
    // Data of 2 to 9 first, then 1: 1 to 4 connect, 5 fails.
    for b in blocks[1..9].iter().rev() {
        state.submit_block(b, NOW).unwrap();
    }
    let act = state.submit_block(&blocks[0], NOW).unwrap();
    let expected: Vec<(bool, u32, BlockHash)> =
        (0..4).map(|i| (true, i as u32 + 1, hashes[i])).collect();
    assert_eq!(event_list(&act.events), expected);
    assert_eq!(act.invalid.len(), 1);
    assert_eq!(act.invalid[0].0, hashes[4]);
    assert!(matches!(
        act.invalid[0].1,
        BlockError::CoinbaseOverpays { .. }
    ));
    assert_eq!(state.tip(), (Height(4), hashes[3]));
    // Every descendant is invalid, with or without data; none is to be downloaded.
    for h in &hashes[4..] {
        assert!(state.entry(h).unwrap().status.is_failed());
    }
    assert_eq!(state.best_header(), (Height(4), hashes[3]));
    assert!(state.blocks_to_download(1024).is_empty());
    assert!(matches!(
        state.submit_block(&blocks[9], NOW),
        Err(ChainError::KnownInvalid { .. })
    ));
    let more = header_chain(&blocks[9].header, 1, 0);
    assert!(matches!(
        state.accept_headers(&more, NOW),
        Err(ChainError::InvalidAncestor { .. })
    ));
    assert!(
        state
            .chain_tips()
            .iter()
            .any(|t| t.hash == hashes[9] && t.status == TipStatus::Invalid)
    );
}

#[test]
fn the_retarget_rule_applies_to_headers_held_in_memory_and_stored() {
    use chain_node::Amount;
    use chain_node::pow::{CompactTarget, Target};

    use crate::helpers::{address, coinbase, key, make_block_bits};
    // Testnet with a retarget every 4 blocks (as `testnet_retarget_at_2n_uses_n_full_
    // intervals` in chain.rs), blocks every 15 s: twice as fast as the 30 s spacing.
    let mut params = crate::helpers::testnet_with_fast_retarget();
    let limit = params.pow_limit;
    let genesis = params.genesis.header;
    let mut headers = Vec::new();
    let mut prev = genesis;
    for h in 1..=7u32 {
        let b = make_block_bits(
            limit,
            &prev,
            genesis.time + 15 * h,
            vec![coinbase(h, address(&key(1)), Amount::from_units(1))],
        );
        prev = b.header;
        headers.push(b.header);
    }
    // Naive oracle: at height 8 the window (block 3 -> 7) is 60 s of 120 s, so the
    // limit 0xffff << 224 halves to 0xffff << 223, re-rounded to compact.
    let halved = Target::new(U256::from_u64(0xffff).shl(223))
        .unwrap()
        .to_compact();
    let eighth = |bits: CompactTarget| {
        make_block_bits(
            bits,
            &prev,
            genesis.time + 15 * 8,
            vec![coinbase(8, address(&key(1)), Amount::from_units(1))],
        )
        .header
    };
    let (wrong, right) = (eighth(limit), eighth(halved));
    // Held: the testnet minimum chain work (1,000 blocks) keeps the chain in memory, and
    // the eighth header's context comes from the held ones.
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    let mut pending = PendingHeaders::new();
    assert!(matches!(
        state.accept_peer_headers(&mut pending, &headers[..5], NOW),
        Ok(HeadersOutcome::LowWork { held: 5, .. })
    ));
    match state.accept_peer_headers(&mut pending, &[headers[5], headers[6], wrong], NOW) {
        Err(ChainError::BadHeader {
            index: 2, source, ..
        }) => match *source {
            BlockError::WrongBits { expected, .. } => {
                assert_eq!(CompactTarget(expected), halved);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(pending.is_empty(), "an error drops what was held");
    state
        .accept_peer_headers(&mut pending, &headers[..5], NOW)
        .unwrap();
    assert!(matches!(
        state.accept_peer_headers(&mut pending, &[headers[5], headers[6], right], NOW),
        Ok(HeadersOutcome::LowWork { held: 8, .. })
    ));
    // Stored: without a minimum, the same headers go to the index in two batches.
    params.minimum_chain_work = U256::ZERO;
    let mut state = ChainState::open_temporary(params).unwrap();
    state.accept_headers(&headers[..4], NOW).unwrap();
    assert!(matches!(
        state.accept_headers(&[headers[4], headers[5], headers[6], wrong], NOW),
        Err(ChainError::BadHeader { index: 3, .. })
    ));
    assert!(state.entry(&headers[4].hash()).is_none());
    assert!(matches!(
        state.accept_headers(&[headers[4], headers[5], headers[6], right], NOW),
        Ok(HeadersOutcome::Stored { new: 4, .. })
    ));
    assert_eq!(state.best_header(), (Height(8), right.hash()));
}

//! `listdataoutputs`: data outputs found by prefix, page by page, against a list the
//! test keeps of what it put in each block; a reorganisation between two pages shows
//! as a `prevhash` that is not the last page's `lasthash`; bad parameters are refused
//! with the bound they break.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::rpc::{MAX_LIST_BLOCKS, dispatch};
use chain_node::{
    Amount, BlockHash, Header, Height, Network, OutputKind, Transaction, TxOut, block_subsidy,
};
use serde_json::{Value, json};

use crate::helpers::{TestNode, address, key, make_block};

/// A block on `prev` at `height` whose coinbase pays the subsidy and carries one data
/// output per item of `data`.
fn block_with_data(node: &TestNode, prev: &Header, height: u32, data: &[Vec<u8>]) -> Header {
    let params = node.params();
    let mut outputs = vec![TxOut::pay(
        block_subsidy(Height(height), params),
        address(&key(1)),
    )];
    outputs.extend(data.iter().map(|d| TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(d.clone()),
    }));
    // No name operations: the empty name state's root.
    outputs.push(chain_node::name_root::name_root_output(&naming::StateRoot(
        [0; 32],
    )));
    let coinbase = Transaction::coinbase(Height(height), vec![], outputs);
    let block = make_block(params, prev, prev.time + 60, vec![coinbase]);
    node.submit_block(&block).unwrap();
    block.header
}

fn call(node: &TestNode, params: Value) -> Result<Value, (i64, String)> {
    dispatch(node, "listdataoutputs", &params).map_err(|e| (e.code, e.message))
}

/// Every page from height 0, in order: (height, data) of each output listed, and
/// checks that each page starts where the last one ended.
fn scan(node: &TestNode, prefix: &[u8], max_blocks: u64) -> Vec<(u64, Vec<u8>)> {
    let mut found = Vec::new();
    let mut from = 0u64;
    let mut last: Option<String> = None;
    loop {
        let page = call(node, json!([hex::encode(prefix), from, max_blocks])).unwrap();
        assert_eq!(page["from"], json!(from));
        assert_eq!(page["prevhash"].as_str().map(str::to_owned), last);
        for o in page["outputs"].as_array().unwrap() {
            found.push((
                o["height"].as_u64().unwrap(),
                hex::decode(o["data"].as_str().unwrap()).unwrap(),
            ));
            assert_eq!(o["amount"], json!(0));
        }
        let next = page["next"].as_u64().unwrap();
        assert!(next - from <= max_blocks, "a page scanned too many blocks");
        last = page["lasthash"].as_str().map(str::to_owned);
        from = next;
        if page["complete"].as_bool().unwrap() {
            return found;
        }
    }
}

#[test]
fn data_outputs_are_listed_by_prefix_page_by_page() {
    let node = TestNode::open(Network::Regtest, "data-outputs", |_| {});
    let mut tip = node.params().genesis.header;
    // What the test put in each block, kept here: the oracle.
    let mut placed: Vec<(u64, Vec<u8>)> = Vec::new();
    for h in 1..=10u32 {
        let data: Vec<Vec<u8>> = match h % 3 {
            0 => vec![b"OTLA\x01tenth".to_vec(), b"other".to_vec()],
            1 => vec![format!("OTLA\x01block {h}").into_bytes()],
            _ => vec![b"OTL".to_vec(), vec![0xff; 256]],
        };
        tip = block_with_data(&node, &tip, h, &data);
        placed.extend(data.into_iter().map(|d| (u64::from(h), d)));
    }
    for prefix in [&b"OTLA\x01"[..], b"OTL", b"other", &[0xff; 256], b"none"] {
        let expected: Vec<(u64, Vec<u8>)> = placed
            .iter()
            .filter(|(_, d)| d.starts_with(prefix))
            .cloned()
            .collect();
        for pages in [1, 3, MAX_LIST_BLOCKS] {
            assert_eq!(scan(&node, prefix, pages), expected, "prefix {prefix:?}");
        }
    }
    // The genesis coinbase's data output is found as any other.
    let genesis = call(&node, json!([hex::encode(b"chain-node"), 0, 1])).unwrap();
    assert_eq!(genesis["outputs"][0]["height"], json!(0));
    assert_eq!(genesis["prevhash"], Value::Null);

    // A reorganisation between two pages: the page after it does not start where
    // the one before it ended.
    let first = call(&node, json!([hex::encode(b"OTLA"), 0, 6])).unwrap();
    let at5: BlockHash = first["lasthash"].as_str().unwrap().parse().unwrap();
    node.invalidate_block(&at5).unwrap();
    let mut side = node
        .read(|v| v.chain().hash_at(Height(4)))
        .unwrap()
        .unwrap();
    let mut side_header = node
        .read(move |v| v.chain().entry(&side))
        .unwrap()
        .unwrap()
        .header;
    for h in 5..=12u32 {
        side_header = block_with_data(&node, &side_header, h, &[b"OTLA\x01side".to_vec()]);
        side = side_header.hash();
    }
    assert_eq!(node.tip().unwrap().1, side);
    let second = call(&node, json!([hex::encode(b"OTLA"), 6, 6])).unwrap();
    assert_ne!(second["prevhash"], first["lasthash"]);
    assert_eq!(
        second["outputs"][0]["data"],
        json!(hex::encode(b"OTLA\x01side"))
    );
}

#[test]
fn bad_parameters_are_refused_with_their_bound() {
    let node = TestNode::open(Network::Regtest, "data-outputs-bad", |_| {});
    let tip = node.tip().unwrap().0.0;
    let cases = [
        (json!(["", 0]), -8, "prefix must be 1 to 256 bytes"),
        (json!(["zz", 0]), -8, "prefix must be 1 to 256 bytes"),
        (
            json!([hex::encode([1u8; 257]), 0]),
            -8,
            "prefix must be 1 to 256 bytes",
        ),
        (json!(["4f", 0, 0]), -8, "1 to 1000 blocks"),
        (
            json!(["4f", 0, MAX_LIST_BLOCKS + 1]),
            -8,
            "1 to 1000 blocks",
        ),
        (json!(["4f", -1]), -8, "must not be negative"),
        (json!(["4f", tip + 2]), -8, "past the tip"),
        (json!(["4f"]), -1, "missing parameter fromheight"),
        (json!([7, 0]), -3, "prefix must be a string"),
    ];
    for (params, code, words) in cases {
        let (c, msg) = call(&node, params.clone()).unwrap_err();
        assert_eq!(c, code, "{params}: {msg}");
        assert!(msg.contains(words), "{params}: {msg}");
    }
    // Just past the tip is an empty, complete page.
    let page = call(&node, json!(["4f", tip + 1])).unwrap();
    assert_eq!(page["outputs"], json!([]));
    assert_eq!(page["complete"], json!(true));
}

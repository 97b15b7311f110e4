//! Zone files through a node: `putzonefile` refuses unreferenced, oversized and
//! non-hex data and stores nothing, and a zone-file reference follows a reorg.
//! Expected hashes are SHA-256 computed here with the `sha2` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chain_node::{Network, Node};
use naming::{Name, ZoneFileHash};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::key;
use crate::name_flow::Registrar;

/// A zone file in the spirit of RFC 1035 master files.
const FILE: &[u8] =
    b"$ORIGIN alice.id\n$TTL 3600\n_http._tcp URI 10 1 \"https://alice.example/\"\n";

/// The price of `alice.id` under `names::test_terms`.
const PRICE: u64 = 2_000;

fn rpc(node: &Node, method: &str, params: Value) -> Result<Value, (i64, String)> {
    chain_node::rpc::dispatch(node, method, &params).map_err(|e| (e.code, e.message))
}

/// SHA-256 of `data` (the oracle for the zone-file hash).
fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The node's copy of the file with `hash`, `None` on -5.
fn zone_file(node: &Node, hash: &[u8; 32]) -> Option<Vec<u8>> {
    match rpc(node, "getzonefile", json!([hex::encode(hash)])) {
        Ok(v) => Some(hex::decode(v.as_str().unwrap()).unwrap()),
        Err((-5, message)) => {
            assert!(message.contains("Zone file not found"), "{message}");
            None
        }
        Err(e) => panic!("getzonefile: {e:?}"),
    }
}

/// Launches `id`, preorders `alice.id` with `FILE`'s hash and returns the register
/// transaction, not sent.
fn prepare_alice(reg: &Registrar<'_>) -> chain_node::Transaction {
    reg.launch_namespace(&key(2), &"id".parse().unwrap());
    let name: Name = "alice.id".parse().unwrap();
    reg.preorder(&key(3), &name, PRICE, Some(ZoneFileHash(sha256(FILE))))
}

#[test]
fn putzonefile_refuses_oversized_and_malformed_data_and_a_reorg_drops_the_reference() {
    let node = crate::helpers::TestNode::open(Network::Regtest, "zone-refusals", |c| {
        c.mining_threads = 1;
    });
    let hash = ZoneFileHash(sha256(FILE));
    let reg = Registrar::new(&node);
    let register = prepare_alice(&reg);
    let referenced = || {
        node.read(move |v| v.chain().zone_file_referenced(&hash))
            .unwrap()
    };
    assert!(!referenced().unwrap());
    reg.mine(register);
    assert!(referenced().unwrap());

    // 4,097 bytes: over the bound, refused before anything is looked up.
    let big = vec![b'x'; 4097];
    let (code, message) = rpc(&node, "putzonefile", json!([hex::encode(&big)])).unwrap_err();
    assert_eq!(code, -8);
    assert!(
        message.contains("4097 bytes exceeds the maximum"),
        "{message}"
    );
    assert_eq!(zone_file(&node, &sha256(&big)), None);
    // Not hex; a hash that is not 32 bytes.
    let (code, _) = rpc(&node, "putzonefile", json!(["zz"])).unwrap_err();
    assert_eq!(code, -22);
    let (code, _) = rpc(&node, "getzonefile", json!(["abcd"])).unwrap_err();
    assert_eq!(code, -8);
    // Exactly 4,096 bytes is within the bound, but referenced by nothing.
    let (code, message) =
        rpc(&node, "putzonefile", json!([hex::encode(vec![b'y'; 4096])])).unwrap_err();
    assert_eq!(code, -8);
    assert!(
        message.contains("referenced by no name record"),
        "{message}"
    );
    assert_eq!(zone_file(&node, &sha256(&vec![b'y'; 4096])), None);

    // Disconnecting the register's block removes the reference; reconnecting restores it.
    let (_, tip) = node.tip().unwrap();
    node.invalidate_block(&tip).unwrap();
    assert!(!referenced().unwrap());
    node.reconsider_block(&tip).unwrap();
    assert!(referenced().unwrap());
    assert_eq!(
        rpc(&node, "putzonefile", json!([hex::encode(FILE)])).unwrap(),
        json!(hex::encode(hash.as_bytes()))
    );
    assert_eq!(zone_file(&node, hash.as_bytes()).as_deref(), Some(FILE));
}

//! The name index through a node: a name's whole life in transactions the node relays
//! and mines, an early reveal its mempool refuses, and the name RPCs, whose expected
//! answers come from the operations the test sent (and docs/naming.md's price formula
//! worked by hand).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::{OutPoint, Transaction};
use ed25519_dalek::SigningKey;
use naming::{Commitment, Operation, Salt, ZoneFileHash};

use crate::helpers::{Reads as _, key};
use crate::name_flow::Registrar;
use crate::names::{GRACE, LIFETIME, op_tx, owner_address, owner_text, test_terms};

/// A node's answer to `method`, or its error code and message.
fn rpc(
    node: &chain_node::Node,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, (i64, String)> {
    chain_node::rpc::dispatch(node, method, &params).map_err(|e| (e.code, e.message))
}

/// A name's whole life through transactions the node relays and mines: namespace
/// preorder, reveal and ready; name preorder, an early reveal the mempool refuses with
/// its reason, register, update, transfer, renew; each visible over the RPCs, which
/// refuse invalid and unknown names clearly.
#[test]
fn a_name_life_cycle_mined_by_the_node_is_visible_over_rpc_and_an_early_reveal_is_refused() {
    use serde_json::json;
    // Reveals two blocks after their preorder, so that one block after is early.
    let node = crate::helpers::TestNode::open(chain_node::Network::Regtest, "names-node", |c| {
        c.params.naming.preorder_min_depth = 2;
    });
    let params = node.params().clone();
    let reg = Registrar::new(&node);
    let payer = reg.payer();
    let (creator, alice, bob) = (key(2), key(3), key(4));
    let fund = || reg.fund();
    // Sends through the mempool and mines one block with it.
    let mine = |tx: Transaction| reg.mine(tx);
    // An operation funded by a fresh coin of the payer's, sent and mined.
    let send = |signer: &SigningKey, op: Operation, burn: u64| reg.mine(reg.op(signer, op, burn));
    let zone_of =
        || rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap()["zonefilehash"].clone();
    let out0 = |txid: chain_node::TxId| reg.out0(txid);

    // The namespace `id`.
    let id: naming::NamespaceId = "id".parse().unwrap();
    let ns_salt = Salt([7; 16]);
    let (o, c) = fund();
    let ns_price = params.naming.namespace_prices.price(&id).units();
    let preorder = mine(op_tx(
        &params,
        &[(o, c, payer)],
        &creator,
        Operation::NamespacePreorder {
            commitment: Commitment::for_namespace(&id, &ns_salt, &owner_address(&creator)),
        },
        ns_price,
    ));
    reg.generate(1);
    let (o, c) = fund();
    let (po, pc) = out0(preorder);
    mine(op_tx(
        &params,
        &[(o, c, payer), (po, pc, payer)],
        &creator,
        Operation::NamespaceReveal {
            namespace: id.clone(),
            salt: ns_salt,
            terms: test_terms(),
        },
        0,
    ));
    let info = rpc(&node, "getnamespaceinfo", json!(["id"])).unwrap();
    assert_eq!(info["status"], json!("revealed"));
    let (o, c) = fund();
    mine(op_tx(
        &params,
        &[(o, c, payer)],
        &creator,
        Operation::NamespaceReady {
            namespace: id.clone(),
        },
        0,
    ));
    let info = rpc(&node, "getnamespaceinfo", json!(["id"])).unwrap();
    assert_eq!(info["status"], json!("ready"));
    assert_eq!(info["creator"], json!(owner_text(&creator)));
    assert_eq!(info["lifetime"], json!(LIFETIME));
    assert_eq!(info["price_function"]["coeff"], json!(10));

    // alice.id: price, preorder, an early reveal, register.
    let name: naming::Name = "alice.id".parse().unwrap();
    let price = rpc(&node, "getnameprice", json!(["alice.id"])).unwrap();
    // 10 × 2^1 × 100 units (docs/naming.md's formula, by hand).
    assert_eq!(price["price"], json!(2_000));
    assert_eq!(price["available"], json!(true));
    let salt = Salt([8; 16]);
    let (o, c) = fund();
    let preorder_tx = op_tx(
        &params,
        &[(o, c, payer)],
        &alice,
        Operation::NamePreorder {
            commitment: Commitment::for_name(&name, &salt, &owner_address(&alice)),
        },
        2_000,
    );
    let preorder = preorder_tx.txid();
    let zone = ZoneFileHash([0x11; 32]);
    let (o, c) = fund();
    // The reveal, spending the preorder's output (output 0, 2,000 burned and the fee
    // taken from the funding coin).
    let (fo, fc) = reg.funded(2);
    let po = OutPoint {
        txid: preorder,
        vout: 0,
    };
    let pc = chain_node::validation::Coin {
        amount: chain_node::Amount::from_units(fc.amount.units() - 2_000 - 10_000),
        ..fc
    };
    assert_eq!(fo, preorder_tx.spends()[0].prevout);
    let register = op_tx(
        &params,
        &[(o, c, payer), (po, pc, payer)],
        &alice,
        Operation::NameRegister {
            name: name.clone(),
            salt,
            zone_file: Some(zone),
        },
        0,
    );
    // With its preorder only in the mempool, the reveal is refused: not confirmed.
    node.submit_transaction(preorder_tx).unwrap();
    let (code, message) = rpc(
        &node,
        "sendrawtransaction",
        json!([hex::encode(register.to_bytes())]),
    )
    .unwrap_err();
    assert_eq!(code, -26);
    assert!(
        message.contains("early reveal") && message.contains("no preorder with commitment"),
        "{message}"
    );
    reg.generate(1);
    assert_eq!(node.coin(&po).map(|c| c.amount), Some(pc.amount));
    // One block deep, with two required: still early.
    let (code, message) = rpc(
        &node,
        "sendrawtransaction",
        json!([hex::encode(register.to_bytes())]),
    )
    .unwrap_err();
    assert_eq!(code, -26);
    assert!(
        message.contains("early reveal")
            && message.contains("1 blocks deep")
            && message.contains("needs 2"),
        "{message}"
    );
    assert!(
        node.read(|v| v.mempool().is_empty()).unwrap(),
        "nothing relayed"
    );
    reg.generate(1);
    let registered_at = node.tip().unwrap().0.0 + 1;
    mine(register);
    let info = rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap();
    assert_eq!(info["owner"], json!(owner_text(&alice)));
    assert_eq!(info["zonefilehash"], json!(hex::encode([0x11; 32])));
    assert_eq!(info["registered_at"], json!(registered_at));
    assert_eq!(info["expires_at"], json!(registered_at + LIFETIME));
    assert_eq!(
        info["grace_ends_at"],
        json!(registered_at + LIFETIME + GRACE)
    );
    assert_eq!(info["status"], json!("active"));
    assert_eq!(
        rpc(&node, "getnameprice", json!(["alice.id"])).unwrap()["available"],
        json!(false)
    );

    // Update, transfer, renew.
    let update = |signer: &SigningKey, byte: u8| {
        send(
            signer,
            Operation::NameUpdate {
                name: name.clone(),
                zone_file: ZoneFileHash([byte; 32]),
            },
            0,
        )
    };
    update(&alice, 0x22);
    assert_eq!(zone_of(), json!(hex::encode([0x22; 32])));
    send(
        &alice,
        Operation::NameTransfer {
            name: name.clone(),
            new_owner: owner_address(&bob),
            keep_zone_file: true,
        },
        0,
    );
    let info = rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap();
    assert_eq!(info["owner"], json!(owner_text(&bob)));
    assert_eq!(info["zonefilehash"], json!(hex::encode([0x22; 32])));
    // The old owner can no longer change it: the operation is mined and ignored.
    update(&alice, 0x33);
    assert_eq!(zone_of(), json!(hex::encode([0x22; 32])));
    send(&bob, Operation::NameRenew { name: name.clone() }, 2_000);
    let info = rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap();
    assert_eq!(info["expires_at"], json!(registered_at + 2 * LIFETIME));

    // Listing, and the errors.
    let list = rpc(&node, "listnames", json!([])).unwrap();
    assert_eq!(list["names"].as_array().unwrap().len(), 1);
    assert_eq!(list["names"][0]["name"], json!("alice.id"));
    assert_eq!(list["next"], json!(null));
    assert_eq!(
        rpc(&node, "listnames", json!(["alice.id", 5])).unwrap()["names"],
        json!([])
    );
    let (code, message) = rpc(&node, "listnames", json!(["", 0])).unwrap_err();
    assert_eq!(code, -8, "{message}");
    let (code, message) = rpc(&node, "getnameinfo", json!(["nobody.id"])).unwrap_err();
    assert_eq!((code, message.as_str()), (-5, "Name not found: nobody.id"));
    let (code, message) = rpc(&node, "getnameinfo", json!(["Alice.id"])).unwrap_err();
    assert_eq!(code, -8);
    assert_eq!(
        message,
        "invalid name \"Alice.id\": label has byte 0x41 at position 0, outside a-z 0-9 - _"
    );
    let (code, _) = rpc(&node, "getnameinfo", json!(["alice"])).unwrap_err();
    assert_eq!(code, -8);
    let (code, message) = rpc(&node, "getnamespaceinfo", json!(["nope"])).unwrap_err();
    assert_eq!((code, message.as_str()), (-5, "Namespace not found: nope"));
    let (code, _) = rpc(&node, "getnameprice", json!(["x.nope"])).unwrap_err();
    assert_eq!(code, -5);

    // A reorganisation that removes the registration's block removes the name (the
    // namespace stays); reconsidering the block brings back the name as it was.
    let register_block = node.hash_at(registered_at).unwrap().to_hex();
    rpc(&node, "invalidateblock", json!([register_block])).unwrap();
    let (code, _) = rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap_err();
    assert_eq!(code, -5);
    assert_eq!(
        rpc(&node, "getnamespaceinfo", json!(["id"])).unwrap()["status"],
        json!("ready")
    );
    assert_eq!(
        rpc(&node, "getnameprice", json!(["alice.id"])).unwrap()["available"],
        json!(true)
    );
    rpc(&node, "reconsiderblock", json!([register_block])).unwrap();
    let back = rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap();
    assert_eq!(back, info);

    // The same answer over HTTP on a real port.
    let server =
        chain_node::rpc::RpcServer::start((*node).clone(), "127.0.0.1:0".parse().unwrap(), 2)
            .unwrap();
    let cookie = std::fs::read_to_string(node.config().data_dir.join(".cookie")).unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "getnameinfo", "params": ["alice.id"]})
        .to_string();
    let (status, text) =
        crate::process::http(server.local_addr().port(), "POST", &body, Some(&cookie));
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["result"]["owner"], json!(owner_text(&bob)));
    server.stop(&node).unwrap();
}

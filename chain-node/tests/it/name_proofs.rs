//! The name-state commitment and light-client proofs through real nodes: a block whose
//! coinbase commits to no root or to a wrong one is refused by another node and marked
//! invalid; `getnameproof` answers, checked by `chain_node::light` against headers from
//! `getblockheaders` alone, prove a registered name active, an unknown one absent and an
//! expired one expired; any flipped byte of an answer, a broken header link or a header
//! without proof of work fails with `invalid: ...`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::encoding::decode_exact;
use chain_node::light::{NameAnswer, NameAnswerText, ProvenStatus, verify_name_answer};
use chain_node::{Amount, Block, Header, OutPoint, OutputKind, Transaction, TxOut};
use naming::{Commitment, Operation, Salt};
use serde_json::{Value, json};

use crate::helpers::{Reads as _, TestNode, address, key, solve};
use crate::names::{GRACE, LIFETIME, op_tx, owner_address, owner_text, test_terms};

fn rpc(node: &chain_node::Node, method: &str, params: Value) -> Result<Value, (i64, String)> {
    chain_node::rpc::dispatch(node, method, &params).map_err(|e| (e.code, e.message))
}

/// Every header of the node's active chain, fetched in pages of `getblockheaders`.
fn headers(node: &chain_node::Node) -> Vec<Header> {
    let tip = node.tip().unwrap().0.0 as u64;
    let mut out = Vec::new();
    while (out.len() as u64) <= tip {
        let page = rpc(node, "getblockheaders", json!([out.len(), 7])).unwrap();
        for h in page.as_array().unwrap() {
            out.push(decode_exact(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap());
        }
    }
    out
}

fn text(answer: &Value) -> NameAnswerText {
    let s = |k: &str| answer[k].as_str().unwrap().to_owned();
    NameAnswerText {
        name: s("name"),
        height: answer["height"].as_u64().unwrap(),
        block_hash: s("blockhash"),
        tx_count: answer["txcount"].as_u64().unwrap(),
        coinbase: s("coinbase"),
        coinbase_path: answer["coinbasepath"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect(),
        record: answer["record"].as_str().map(str::to_owned),
        proof: s("proof"),
    }
}

/// Decodes and verifies; every failure is reported as its message.
fn check(
    params: &chain_node::Params,
    headers: &[Header],
    t: &NameAnswerText,
) -> Result<chain_node::light::VerifiedName, String> {
    let answer = NameAnswer::from_text(t).map_err(|e| e.to_string())?;
    verify_name_answer(params, headers, &answer).map_err(|e| e.to_string())
}

/// A node with the namespace `id` ready and `alice.id` registered; returns the node and
/// the registration height.
fn node_with_alice(name: &str) -> (TestNode, u32) {
    let node = TestNode::open(chain_node::Network::Regtest, name, |c| {
        c.params.naming.preorder_min_depth = 1;
    });
    let params = node.params().clone();
    let (payer, creator, alice) = (key(1), key(2), key(3));
    node.generate(105, address(&payer)).unwrap();
    let funding = crate::helpers::Funding::new(&node);
    // An operation signed by `signer`, funded by a fresh coin of the payer's and
    // spending `preorder` too when given, mined; returns its first output.
    let send = |signer: &ed25519_dalek::SigningKey, op, burn, preorder: Option<OutPoint>| {
        let (o, c) = funding.take();
        let mut inputs = vec![(o, c, &payer)];
        if let Some(p) = preorder {
            inputs.push((p, node.coin(&p).unwrap(), &payer));
        }
        let tx = op_tx(&params, &inputs, signer, op, burn);
        OutPoint {
            txid: crate::helpers::mine_one(&node, tx, address(&payer)),
            vout: 0,
        }
    };
    let id: naming::NamespaceId = "id".parse().unwrap();
    let ns_salt = Salt([7; 16]);
    let commitment = Commitment::for_namespace(&id, &ns_salt, &owner_address(&creator));
    let ns_price = params.naming.namespace_prices.price(&id).units();
    let pre = send(
        &creator,
        Operation::NamespacePreorder { commitment },
        ns_price,
        None,
    );
    let terms = test_terms();
    let namespace = id.clone();
    let reveal = Operation::NamespaceReveal {
        namespace,
        salt: ns_salt,
        terms,
    };
    send(&creator, reveal, 0, Some(pre));
    send(
        &creator,
        Operation::NamespaceReady { namespace: id },
        0,
        None,
    );
    let name: naming::Name = "alice.id".parse().unwrap();
    let salt = Salt([8; 16]);
    let commitment = Commitment::for_name(&name, &salt, &owner_address(&alice));
    let pre = send(&alice, Operation::NamePreorder { commitment }, 2_000, None);
    let registered_at = node.tip().unwrap().0.0 + 1;
    let register = Operation::NameRegister {
        name,
        salt,
        zone_file: None,
    };
    send(&alice, register, 0, Some(pre));
    assert_eq!(
        rpc(&node, "getnameinfo", json!(["alice.id"])).unwrap()["registered_at"],
        json!(registered_at)
    );
    (node, registered_at)
}

/// A registered name verifies active with its owner, an unknown one absent; later the
/// first verifies expired; every flipped byte of an answer, a broken link and a header
/// without proof of work fail with `invalid:`.
#[test]
fn name_proofs_verify_against_headers_alone_and_every_tampering_fails() {
    let (node, registered_at) = node_with_alice("name-proofs");
    let params = node.params().clone();
    let hs = headers(&node);
    assert_eq!(hs.len() as u32, node.tip().unwrap().0.0 + 1);

    let answer = rpc(&node, "getnameproof", json!(["alice.id"])).unwrap();
    let alice_text = text(&answer);
    let v = check(&params, &hs, &alice_text).unwrap();
    assert_eq!(v.status, ProvenStatus::Active);
    assert_eq!(answer["status"], json!("active"));
    assert_eq!(v.height.0, registered_at);
    let record = v.record.unwrap();
    assert_eq!(record.owner, owner_address(&key(3)));
    // The proven owner as a payment address, and the answer's owner for reading.
    assert_eq!(
        v.owner.map(|a| a.encode(chain_node::Network::Regtest)),
        Some(owner_text(&key(3)))
    );
    assert_eq!(answer["owner"], json!(owner_text(&key(3))));
    assert_eq!(record.registered_at.0, registered_at);

    let nobody = rpc(&node, "getnameproof", json!(["nobody.id"])).unwrap();
    assert_eq!(nobody["record"], Value::Null);
    assert_eq!(nobody["owner"], Value::Null);
    let v = check(&params, &hs, &text(&nobody)).unwrap();
    assert_eq!(
        (v.status, v.record, v.owner),
        (ProvenStatus::Absent, None, None)
    );

    // Claiming the absent name holds alice's record, or alice's holds none, fails.
    let mut swapped = text(&nobody);
    swapped.record = alice_text.record.clone();
    assert!(
        check(&params, &hs, &swapped)
            .unwrap_err()
            .starts_with("invalid:")
    );
    let mut dropped = alice_text.clone();
    dropped.record = None;
    assert!(
        check(&params, &hs, &dropped)
            .unwrap_err()
            .starts_with("invalid:")
    );

    // Every byte of every hex field, flipped, fails.
    let flip = |field: &str, i: usize| -> NameAnswerText {
        let mut t = alice_text.clone();
        let target = match field {
            "blockhash" => &mut t.block_hash,
            "coinbase" => &mut t.coinbase,
            "record" => t.record.as_mut().unwrap(),
            "proof" => &mut t.proof,
            _ => &mut t.coinbase_path[field.parse::<usize>().unwrap()],
        };
        let mut bytes = hex::decode(&*target).unwrap();
        bytes[i] ^= 0x01;
        *target = hex::encode(bytes);
        t
    };
    let mut fields = vec![
        ("blockhash".to_owned(), 32),
        ("coinbase".to_owned(), alice_text.coinbase.len() / 2),
        (
            "record".to_owned(),
            alice_text.record.as_ref().unwrap().len() / 2,
        ),
        ("proof".to_owned(), alice_text.proof.len() / 2),
    ];
    for i in 0..alice_text.coinbase_path.len() {
        fields.push((i.to_string(), 32));
    }
    assert!(!alice_text.coinbase_path.is_empty(), "the block has spends");
    let mut tried = 0;
    for (field, len) in &fields {
        for i in 0..*len {
            let err = check(&params, &hs, &flip(field, i)).unwrap_err();
            assert!(err.starts_with("invalid:"), "{field}[{i}]: {err}");
            tried += 1;
        }
    }
    assert!(tried > 300, "{tried}");
    for count in [alice_text.tx_count - 1, alice_text.tx_count + 1] {
        let mut t = alice_text.clone();
        t.tx_count = count;
        assert!(check(&params, &hs, &t).unwrap_err().starts_with("invalid:"));
    }
    let mut other_name = alice_text.clone();
    other_name.name = "alicf.id".into();
    assert!(
        check(&params, &hs, &other_name)
            .unwrap_err()
            .starts_with("invalid:")
    );

    // A header chain with a broken link, or a header without proof of work, fails.
    let mut broken = hs.clone();
    broken[50].prev = broken[48].hash();
    let err = check(&params, &broken, &alice_text).unwrap_err();
    assert!(
        err.starts_with("invalid: the header at height 50 does not link"),
        "{err}"
    );
    let mut weak = hs.clone();
    let target = chain_node::pow::Target::from_compact(weak[60].bits).unwrap();
    while target.is_met_by(&weak[60].hash()) {
        weak[60].nonce = weak[60].nonce.wrapping_add(1);
    }
    let err = check(&params, &weak, &alice_text).unwrap_err();
    assert!(
        err.starts_with("invalid: the header at height 60 has no valid proof of work"),
        "{err}"
    );
    // Headers that stop before the answer's block, or start elsewhere, fail.
    let short = &hs[..hs.len() - 1];
    assert!(
        check(&params, short, &alice_text)
            .unwrap_err()
            .starts_with("invalid:")
    );
    assert!(
        check(&params, &hs[1..], &alice_text)
            .unwrap_err()
            .starts_with("invalid:")
    );

    // Past its lifetime and grace period the name is proven expired.
    node.generate(LIFETIME + GRACE + 1, address(&key(1)))
        .unwrap();
    let later = rpc(
        &node,
        "getnameproof",
        json!(["alice.id", registered_at + LIFETIME + GRACE + 1]),
    )
    .unwrap();
    let v = check(&params, &headers(&node), &text(&later)).unwrap();
    assert_eq!(v.status, ProvenStatus::Expired);
    assert_eq!(later["status"], json!("expired"));
    assert_eq!(v.record.unwrap().owner, owner_address(&key(3)));
    // Another height than the tip's is refused clearly.
    let (code, message) = rpc(&node, "getnameproof", json!(["alice.id", 3])).unwrap_err();
    assert_eq!(code, -8, "{message}");
    assert!(message.contains("tip only"), "{message}");
}

/// `getblockheaders` returns the headers `getblockheader` returns, and refuses counts
/// out of range and starts past the tip.
#[test]
fn getblockheaders_pages_match_getblockheader_and_refuse_bad_ranges() {
    let node = TestNode::open(chain_node::Network::Regtest, "bulk-headers", |_| {});
    node.generate(5, address(&key(1))).unwrap();
    let page = rpc(&node, "getblockheaders", json!([2, 10])).unwrap();
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 4, "heights 2 to 5");
    for (i, h) in page.iter().enumerate() {
        let hash = rpc(&node, "getblockhash", json!([2 + i])).unwrap();
        let one = rpc(&node, "getblockheader", json!([hash, false])).unwrap();
        assert_eq!(h, &one);
    }
    for (params, code) in [
        (json!([0, 0]), -8),
        (json!([0, 2_001]), -8),
        (json!([6, 1]), -8),
        (json!([-1, 1]), -8),
        (json!(["x", 1]), -3),
    ] {
        assert_eq!(
            rpc(&node, "getblockheaders", params.clone()).unwrap_err().0,
            code,
            "{params}"
        );
    }
    assert_eq!(
        rpc(&node, "getblockheaders", json!([0, 2_000]))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

/// Rebuilds `block` with `coinbase`, re-solved.
fn with_coinbase(block: &Block, coinbase: Transaction) -> Block {
    let mut txs = block.txs.clone();
    txs[0] = coinbase;
    let header = solve(Header {
        merkle_root: crate::helpers::commitment(&txs),
        nonce: 0,
        ..block.header
    });
    Block { header, txs }
}

/// A block whose coinbase commits to no name-state root, to a wrong one, or to two, is
/// refused by a second node with the rule's reason and marked invalid; the block with
/// the right commitment is accepted.
#[test]
fn a_second_node_refuses_and_marks_blocks_with_a_wrong_or_missing_commitment() {
    let miner = TestNode::open(chain_node::Network::Regtest, "commit-miner", |_| {});
    let other = TestNode::open(chain_node::Network::Regtest, "commit-other", |_| {});
    let (template, _) = miner.block_template(address(&key(1)), vec![]).unwrap();
    let good = with_coinbase(&template.block, template.block.txs[0].clone());
    let cb = &good.txs[0];
    // A copy whose coinbase lacks the commitment under the good header is a mutation:
    // refused, nothing marked, and the good block is still accepted below.
    let mut mutated = good.clone();
    mutated.txs[0].outputs.truncate(1);
    let answer = rpc(
        &other,
        "submitblock",
        json!([hex::encode(mutated.to_bytes())]),
    )
    .unwrap();
    assert!(answer.as_str().unwrap().starts_with("mutated:"), "{answer}");
    // The template's coinbase carries the empty tree's root (32 zero bytes).
    let commitment = cb
        .outputs
        .iter()
        .find_map(|o| match &o.kind {
            OutputKind::Burn(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(&commitment[..20], b"open-trust/name-root");
    assert_eq!(&commitment[20..], &[&[1u8][..], &[0; 32]].concat()[..]);

    let pay = cb.outputs[0].clone();
    let mut wrong_data = commitment.clone();
    *wrong_data.last_mut().unwrap() ^= 1;
    let burn = |data: Vec<u8>| TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(data),
    };
    let coinbase =
        |outputs: Vec<TxOut>| Transaction::coinbase(chain_node::Height(1), vec![9], outputs);
    let cases = [
        (coinbase(vec![pay.clone()]), "no name-state commitment"),
        (
            coinbase(vec![pay.clone(), burn(wrong_data)]),
            "commits to name-state root",
        ),
        (
            coinbase(vec![
                pay.clone(),
                burn(commitment.clone()),
                burn(commitment.clone()),
            ]),
            "second name-state commitment",
        ),
    ];
    for (cb, reason) in cases {
        let bad = with_coinbase(&good, cb);
        let answer = rpc(&other, "submitblock", json!([hex::encode(bad.to_bytes())])).unwrap();
        let answer = answer.as_str().unwrap();
        assert!(
            answer.starts_with("rejected:") && answer.contains(reason),
            "{answer}"
        );
        let tips = rpc(&other, "getchaintips", json!([])).unwrap();
        let status = tips
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["hash"] == json!(bad.hash().to_hex()))
            .map(|t| t["status"].clone());
        assert_eq!(status, Some(json!("invalid")), "{tips}");
        assert_eq!(other.tip().unwrap().0.0, 0);
    }
    assert_eq!(
        rpc(&other, "submitblock", json!([hex::encode(good.to_bytes())])).unwrap(),
        Value::Null
    );
    assert_eq!(other.tip().unwrap().1, good.hash());
}

/// The light client's header check applies the difficulty and time rules a header alone
/// allows: on testnet with a retarget every 4 blocks, blocks twice as fast as the spacing
/// make height 8 carry half the limit (the naive figure of `chain.rs`'s retarget test);
/// the limit there, or a time not past the median of the 11 before, is refused.
#[test]
fn the_light_header_check_applies_the_retarget_and_time_rules() {
    use chain_node::light::verify_header_chain;
    use chain_node::pow::Target;
    let params = crate::helpers::testnet_with_fast_retarget();
    let limit = params.pow_limit;
    let genesis = params.genesis.header;
    let mut headers = vec![genesis];
    for h in 1..=7u32 {
        let b = crate::helpers::make_block_bits(
            limit,
            headers.last().unwrap(),
            genesis.time + 15 * h,
            vec![crate::helpers::coinbase(
                h,
                address(&key(1)),
                Amount::from_units(1),
            )],
        );
        headers.push(b.header);
    }
    assert_eq!(verify_header_chain(&params, &headers), Ok(()));
    let halved = Target::new(chain_node::u256::U256::from_u64(0xffff).shl(223))
        .unwrap()
        .to_compact();
    let eighth = |bits, time| {
        let mut hs = headers.clone();
        let b = crate::helpers::make_block_bits(
            bits,
            hs.last().unwrap(),
            time,
            vec![crate::helpers::coinbase(
                8,
                address(&key(1)),
                Amount::from_units(1),
            )],
        );
        hs.push(b.header);
        verify_header_chain(&params, &hs).map_err(|e| e.to_string())
    };
    let t8 = genesis.time + 15 * 8;
    assert_eq!(eighth(halved, t8), Ok(()));
    let err = eighth(limit, t8).unwrap_err();
    assert_eq!(
        err,
        "invalid: the header at height 8 carries the wrong difficulty"
    );
    // The median of blocks 0..=7 is block 4's time.
    let err = eighth(halved, genesis.time + 15 * 4).unwrap_err();
    assert_eq!(
        err,
        "invalid: the header at height 8 has a time the rules refuse"
    );
    assert_eq!(eighth(halved, genesis.time + 15 * 4 + 1), Ok(()));
}

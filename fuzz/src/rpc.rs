//! The target for the node's RPC parameters: a method name and JSON parameters become
//! a typed call (`chain_node::rpc::parse_call`) before anything touches the node.
//!
//! Input: the method name, a newline, then the parameters as JSON.

use chain_node::rpc::{Call, parse_call};
use chain_node::{Address, Network, OutPoint, Transaction};
use serde_json::{Value, json};

/// The error codes the parse layer may answer with (Bitcoin Core's).
const CODES: &[i64] = &[-32601, -1, -3, -8, -5, -22];

/// RPC parameters: parsing never panics, a refusal carries one of the documented
/// codes, and an accepted call is written back by `Call::to_params` to parameters
/// that parse to the same call, for the same method.
pub fn rpc_params(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Some((method, params)) = text.split_once('\n') else {
        return false;
    };
    let Ok(params) = serde_json::from_str::<Value>(params) else {
        return false;
    };
    let mut accepted = false;
    for network in [Network::Regtest, Network::Testnet] {
        match parse_call(method, &params, network) {
            Ok(call) => {
                assert_eq!(call.method(), method);
                let written = call.to_params(network);
                assert_eq!(
                    parse_call(method, &written, network).as_ref(),
                    Ok(&call),
                    "{call:?} is written as {written}, which reads back differently"
                );
                accepted = true;
            }
            Err(e) => assert!(CODES.contains(&e.code), "undocumented code {}", e.code),
        }
    }
    accepted
}

fn line(method: &str, params: &Value) -> Vec<u8> {
    format!("{method}\n{params}").into_bytes()
}

/// Seeds of [`rpc_params`]: every method with positional parameters, and some with
/// named ones, built from the same transactions and blocks as the encoding seeds.
pub fn rpc_params_seeds() -> Vec<Vec<u8>> {
    let net = Network::Regtest;
    let params = net.params();
    let genesis = params.genesis_hash();
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let addr = Address::from_pubkey(&key.verifying_key().to_bytes());
    let text = addr.encode(net);
    let txs: Vec<Transaction> = crate::chain::transaction_seeds()
        .iter()
        .filter_map(|b| chain_node::encoding::decode_exact(b).ok())
        .collect();
    let txid = txs.first().map(Transaction::txid).unwrap_or_default();
    let name: naming::Name = "alice.id"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid name"));
    let calls = vec![
        Call::GetBlockchainInfo,
        Call::GetBlockCount,
        Call::GetBestBlockHash,
        Call::GetBlockHash { height: 7 },
        Call::ListDataOutputs {
            prefix: b"OTLA".to_vec(),
            from: 0,
            max_blocks: 10,
        },
        Call::GetBlock {
            hash: genesis,
            verbosity: 2,
        },
        Call::GetBlockHeader {
            hash: genesis,
            verbose: false,
        },
        Call::GetChainTips,
        Call::GetRawMempool { verbose: true },
        Call::GetMempoolInfo,
        Call::TestMempoolAccept { txs: txs.clone() },
        Call::GetRawTransaction {
            txid,
            verbose: true,
            block: Some(genesis),
        },
        Call::GetTxOut {
            outpoint: OutPoint { txid, vout: 1 },
            include_mempool: false,
        },
        Call::GetAddressUtxos {
            addresses: vec![(text.clone(), addr)],
        },
        Call::GenerateToAddress {
            nblocks: 101,
            address: addr,
        },
        Call::ValidateAddress {
            address: text.clone(),
        },
        Call::GetBlockTemplate,
        Call::SubmitBlock {
            block: params.genesis.clone(),
        },
        Call::InvalidateBlock { hash: genesis },
        Call::ReconsiderBlock { hash: genesis },
        Call::GetNameInfo { name: name.clone() },
        Call::GetNamePrice { name: name.clone() },
        Call::ListNames {
            after: Some(name.clone()),
            count: 10,
        },
        Call::ListNames {
            after: None,
            count: 1,
        },
        Call::GetNamespaceInfo {
            id: "id"
                .parse()
                .unwrap_or_else(|_| unreachable!("a valid namespace id")),
        },
        Call::GetNameProof {
            name: name.clone(),
            height: Some(5),
        },
        Call::GetNameProof { name, height: None },
        Call::GetBlockHeaders {
            start: 0,
            count: 2_000,
        },
        Call::GetZoneFile {
            hash: naming::ZoneFileHash([7; 32]),
        },
        Call::PutZoneFile {
            file: b"$ORIGIN alice.id\n".to_vec(),
        },
        Call::Stop,
    ];
    let sends = txs
        .iter()
        .map(|tx| Call::SendRawTransaction { tx: tx.clone() });
    let mut out: Vec<Vec<u8>> = calls
        .into_iter()
        .chain(sends)
        .collect::<Vec<_>>()
        .iter()
        .map(|c| line(c.method(), &c.to_params(net)))
        .collect();
    out.push(line(
        "getblock",
        &json!({"blockhash": genesis.to_hex(), "verbosity": true}),
    ));
    out.push(line(
        "getaddressutxos",
        &json!([{"addresses": [text.clone(), text]}]),
    ));
    out.push(line("gettxout", &json!({"txid": txid.to_hex(), "n": 0})));
    for (method, params) in [
        ("getpeerinfo", json!([])),
        ("getnetworkinfo", json!([])),
        ("listbanned", json!([])),
        ("addnode", json!(["/ip4/127.0.0.1/tcp/18444", "add"])),
        ("addnode", json!(["127.0.0.1:18444", "onetry"])),
        (
            "addnode",
            json!({"node": "/ip4/10.0.0.1/tcp/1", "command": "remove"}),
        ),
        ("disconnectnode", json!(["/ip4/127.0.0.1/tcp/18444"])),
        ("disconnectnode", json!(["", 3])),
        ("setnetworkactive", json!([false])),
        ("getnameproof", json!({"name": "bob.id", "height": 3})),
        ("listnames", json!(["", 5])),
    ] {
        out.push(line(method, &params));
    }
    out
}

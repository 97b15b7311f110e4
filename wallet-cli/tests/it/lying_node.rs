//! The wallet against a node that lies: a small JSON-RPC server in this file, on an
//! ephemeral port of 127.0.0.1, answering canned replies. It reports coins worth
//! more than all money, the same coin twice, blocks that pay more than all money,
//! and every address as used. Each lie gets a clear error and a non-zero exit, and
//! the wallet directory is left byte for byte as it was.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chain_node::{Address, Amount, Block, Header, Height, Network, Transaction, TxOut};
use serde_json::{Value, json};

use crate::common::wallet_with;
use crate::node_flows::snapshot;

/// All the base units that can ever exist: 21 million coins of 10^8 (docs/consensus.md).
const MAX_MONEY: u64 = 21_000_000 * 100_000_000;
/// The wallet's limits as ADR 0018 states them.
const MAX_KEYS: usize = 10_000;
const GAP_LIMIT: usize = 20;

type Answer = dyn Fn(&str, &Value) -> Option<Value> + Send + Sync;

/// A JSON-RPC 2.0 server over HTTP/1.1 that answers each call with `answer`
/// (`None`: method not found) and records every call.
struct FakeNode {
    url: String,
    addr: std::net::SocketAddr,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeNode {
    fn start(answer: impl Fn(&str, &Value) -> Option<Value> + Send + Sync + 'static) -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer: Arc<Answer> = Arc::new(answer);
        let thread = {
            let (calls, stop) = (calls.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        // One request per connection; an error just drops it.
                        let _ = serve(conn, &*answer, &calls);
                    }
                }
            })
        };
        FakeNode {
            url: format!("http://{addr}"),
            addr,
            calls,
            stop,
            thread: Some(thread),
        }
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    fn methods(&self) -> Vec<String> {
        self.calls().into_iter().map(|(m, _)| m).collect()
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn serve(
    conn: TcpStream,
    answer: &Answer,
    calls: &Mutex<Vec<(String, Value)>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = request["method"].as_str().unwrap_or_default().to_string();
    let params = request["params"].clone();
    calls.lock().unwrap().push((method.clone(), params.clone()));
    let reply = match answer(&method, &params) {
        Some(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
        None => json!({"jsonrpc": "2.0", "id": request["id"],
                       "error": {"code": -32601, "message": "Method not found"}}),
    };
    let text = reply.to_string();
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

/// A wallet directory and the node it talks to.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cookie: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let cookie = tmp.path().join("cookie");
        std::fs::write(&cookie, "__cookie__:secret").unwrap();
        Setup {
            dir: tmp.path().join("wallet"),
            cookie,
            _tmp: tmp,
        }
    }

    fn run(&self, node: &FakeNode, args: &[&str], stdin: Option<&str>) -> Output {
        let mut all: Vec<&OsStr> = vec![OsStr::new("--json")];
        all.extend(args.iter().map(OsStr::new));
        all.extend([OsStr::new("--wallet"), self.dir.as_os_str()]);
        all.extend([OsStr::new("--rpc"), OsStr::new(&node.url)]);
        all.extend([OsStr::new("--rpc-cookie"), self.cookie.as_os_str()]);
        wallet_with(&all, "lying node test", stdin)
    }

    /// Creates the wallet (no node needed) and returns its address and words.
    fn create(&self) -> (String, String) {
        let unused = FakeNode::start(|_, _| None);
        let o = self.run(&unused, &["create"], None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        assert!(unused.calls().is_empty());
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["address"].as_str().unwrap().to_string(),
            v["mnemonic"].as_str().unwrap().to_string(),
        )
    }

    /// Runs a command that must fail with exit 1, and returns its error.
    fn fails(&self, node: &FakeNode, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(node, args, stdin);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert_eq!(o.status.code(), Some(1), "wallet {args:?}: {v}");
        v["error"].as_str().unwrap().to_string()
    }
}

/// One `getaddressutxos` item.
fn coin(address: &str, txid_byte: u8, vout: u32, amount: Value) -> Value {
    json!({
        "address": address,
        "txid": hex::encode([txid_byte; 32]),
        "vout": vout,
        "outputIndex": vout,
        "amount": amount,
        "height": 1,
        "confirmations": 200,
        "coinbase": false,
        "spentby": null,
    })
}

fn regtest_genesis() -> Block {
    let p = Network::Regtest.params();
    p.genesis
}

#[test]
fn coins_worth_more_than_all_money_are_refused() {
    let s = Setup::new();
    let (address, _) = s.create();
    let (bob, _) = Setup::new().create();
    let lies: Vec<(&str, Vec<Value>)> = vec![
        (
            "more than all coins",
            vec![
                coin(&address, 1, 0, json!(MAX_MONEY)),
                coin(&address, 2, 0, json!(MAX_MONEY)),
            ],
        ),
        (
            "more than all coins",
            vec![coin(&address, 1, 0, json!(u64::MAX))],
        ),
        (
            "more than all coins",
            vec![
                coin(&address, 1, 0, json!(MAX_MONEY)),
                coin(&address, 1, 1, json!(1)),
            ],
        ),
        (
            "twice",
            vec![coin(&address, 1, 0, json!(5_000_000_000u64)); 2],
        ),
        ("a bad amount", vec![coin(&address, 1, 0, json!(1e30))]),
        ("a bad amount", vec![coin(&address, 1, 0, json!(-1))]),
    ];
    for (what, coins) in lies {
        let genesis = regtest_genesis();
        let node = FakeNode::start(move |method, params| match method {
            "getaddressutxos" => Some(Value::Array(coins.clone())),
            "getblockcount" => Some(json!(0)),
            "getblockhash" if params[0] == 0 => Some(json!(genesis.hash().to_hex())),
            "getblock" => Some(json!(hex::encode(genesis.to_bytes()))),
            _ => None,
        });
        let before = snapshot(&s.dir);
        for cmd in [
            &["balance"][..],
            &["history"],
            &["send", "--to", &bob, "--amount", "1"],
        ] {
            let err = s.fails(&node, cmd, None);
            assert!(err.contains(what), "{cmd:?} against {what}: {err}");
            assert!(err.contains("node"), "{cmd:?}: {err}");
        }
        // Nothing was broadcast, and nothing changed on disk (no history cache,
        // no change key).
        assert!(
            !node.methods().iter().any(|m| m == "sendrawtransaction"),
            "{what}"
        );
        assert_eq!(snapshot(&s.dir), before, "{what}");
    }
}

#[test]
fn blocks_that_pay_more_than_all_money_are_refused() {
    let s = Setup::new();
    let (address, _) = s.create();
    let to = Address::parse(&address, Network::Regtest).unwrap();
    let genesis = regtest_genesis();
    let pay = |units: u64| TxOut::pay(Amount::from_units(units), to);
    // Two blocks: one output of u64::MAX; two outputs of MAX_MONEY each.
    let lies = [vec![pay(u64::MAX)], vec![pay(MAX_MONEY), pay(MAX_MONEY)]];
    for outputs in lies {
        let block = Block {
            header: Header {
                prev: genesis.hash(),
                merkle_root: [0; 32],
                time: genesis.header.time + 600,
                ..genesis.header
            },
            txs: vec![Transaction::coinbase(Height(1), Vec::new(), outputs)],
        };
        let blocks = [genesis.clone(), block];
        let node = FakeNode::start(move |method, params| match method {
            "getblockcount" => Some(json!(1)),
            "getblockhash" => {
                let b = blocks.get(usize::try_from(params[0].as_u64()?).ok()?)?;
                Some(json!(b.hash().to_hex()))
            }
            "getblock" => blocks
                .iter()
                .find(|b| b.hash().to_hex() == params[0].as_str().unwrap_or_default())
                .map(|b| json!(hex::encode(b.to_bytes()))),
            "getaddressutxos" => Some(json!([])),
            _ => None,
        });
        let before = snapshot(&s.dir);
        let err = s.fails(&node, &["history"], None);
        assert!(
            err.contains("block 1") && err.contains("more than all coins"),
            "{err}"
        );
        assert_eq!(snapshot(&s.dir), before);
    }
}

/// Every address asked about owns a coin, whatever the address.
fn every_address_is_used(method: &str, params: &Value) -> Option<Value> {
    match method {
        "getaddressutxos" => {
            let asked = params[0].as_array()?;
            let coins = asked
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let a = a.as_str()?;
                    let mut c = coin(a, 0, u32::try_from(i).ok()?, json!(1_000));
                    // Distinct outpoints across calls: the txid carries the address.
                    c["txid"] = json!(hex::encode(a.as_bytes().get(4..36)?));
                    Some(c)
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Value::Array(coins))
        }
        _ => None,
    }
}

#[test]
fn restore_stops_at_the_key_limit_when_every_address_is_used() {
    let words = {
        let s = Setup::new();
        s.create().1
    };
    let s = Setup::new();
    let node = FakeNode::start(every_address_is_used);
    let err = s.fails(&node, &["restore"], Some(&words));
    assert!(err.contains("at most 10000 keys"), "{err}");
    assert!(err.contains("honest"), "{err}");
    // Nothing was written: not even the wallet directory.
    assert!(!s.dir.exists());
    // Discovery derived at most MAX_KEYS keys, asking in batches of at least
    // GAP_LIMIT addresses, each address once.
    let calls = node.calls();
    let asked: Vec<&str> = calls
        .iter()
        .flat_map(|(_, p)| p[0].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(asked.len() <= MAX_KEYS, "{} addresses asked", asked.len());
    assert!(calls.len() <= MAX_KEYS / GAP_LIMIT, "{} calls", calls.len());
    let distinct: std::collections::BTreeSet<&str> = asked.iter().copied().collect();
    assert_eq!(distinct.len(), asked.len());
}

#[test]
fn restore_refuses_overflowing_coins_and_writes_nothing() {
    let s = Setup::new();
    let (address, words) = s.create();
    let fresh = Setup::new();
    let node = FakeNode::start(move |method, _| match method {
        "getaddressutxos" => Some(json!([
            coin(&address, 1, 0, json!(MAX_MONEY)),
            coin(&address, 2, 0, json!(MAX_MONEY)),
        ])),
        _ => None,
    });
    let err = fresh.fails(&node, &["restore"], Some(&words));
    assert!(err.contains("more than all coins"), "{err}");
    assert!(!fresh.dir.exists());

    // A node that cannot be asked at all still lets the words be restored, and
    // says so.
    let silent = FakeNode::start(|_, _| None);
    let o = fresh.run(&silent, &["restore"], Some(&words));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(o.status.success(), "{v}");
    assert_eq!(v["keys_found"], Value::Null);
    assert!(fresh.dir.join("keystore.json").exists());
}

/// `resolve --verify` against a node whose headers are not 80 bytes of hex: too short,
/// too long, not hex, not a string. Each is refused with exit 1, and the lookup needs
/// no wallet (it unlocks nothing, none is made). The same page with a well-formed
/// header gets past that check and is refused by the header chain's check instead.
#[test]
fn resolve_verify_refuses_headers_that_are_not_80_bytes_of_hex() {
    let name: naming::Name = "alice.id".parse().unwrap();
    let genesis = regtest_genesis();
    let proof = naming::prove(&naming::MemoryStore::new(), &naming::StateKey::name(&name)).unwrap();
    let answer = chain_node::light::NameAnswer {
        name,
        height: Height(1),
        block_hash: genesis.header.hash(),
        tx_count: 1,
        coinbase: genesis.txs[0].clone(),
        coinbase_path: vec![],
        record: None,
        proof,
    }
    .to_text();
    let answer = json!({
        "name": answer.name,
        "height": answer.height,
        "blockhash": answer.block_hash,
        "txcount": answer.tx_count,
        "coinbase": answer.coinbase,
        "coinbasepath": answer.coinbase_path,
        "record": answer.record,
        "proof": answer.proof,
    });
    let good = hex::encode(genesis.header.to_bytes());
    let non_hex = format!("zz{}", &good[2..]);
    let cases = [
        (json!(good[..158]), true),
        (json!(format!("{good}00")), true),
        (json!(non_hex), true),
        (json!(80), true),
        (json!(good), false),
    ];
    for (header, refused) in cases {
        let page = json!([good, header]);
        let answer = answer.clone();
        let node = FakeNode::start(move |method, _| match method {
            "getnameproof" => Some(answer.clone()),
            "getblockheaders" => Some(page.clone()),
            _ => None,
        });
        let s = Setup::new();
        let err = s.fails(&node, &["name", "resolve", "alice.id", "--verify"], None);
        assert_eq!(
            err.contains("a header that is not 80 bytes of hex"),
            refused,
            "{header}: {err}"
        );
        assert!(!s.dir.exists(), "no wallet was made");
        assert_eq!(node.methods(), ["getnameproof", "getblockheaders"]);
    }
}

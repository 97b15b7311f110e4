//! `wallet testnet up`: a local regtest network of `chain-node` processes peered on
//! 127.0.0.1, with a funded development wallet, running until Ctrl-C or SIGTERM.
//!
//! Every node listens on ports the system picks (RPC and peer-to-peer), so that
//! several networks and a node of one's own never collide; `DIR/testnet.json` and the
//! start-up report say where each one is. The development wallet (`DIR/wallet`) holds
//! test coins only: its keystore is sealed with the empty passphrase and its
//! `settings.json` names the first node, so every wallet command works on it with
//! `--wallet DIR/wallet` alone. Started again on the same directory, the network comes
//! back at its tip with the same wallet.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chain_node::{Address, Network};
use serde_json::{Value, json};

use crate::names::at;
use zeroize::Zeroizing;

use crate::cli::UpArgs;
use crate::fsutil::write_atomic;
use crate::keys;
use crate::keystore::{KdfCost, Keystore, KeystoreError};
use crate::output::{Failure, Report, bad, failed};
use crate::rpc::RpcClient;
use crate::settings::Settings;

/// The most nodes one command starts.
pub const MAX_NODES: u32 = 16;
/// The file that describes a running network, for scripts.
pub const DESCRIPTION_FILE: &str = "testnet.json";
/// Blocks mined to the development wallet on a new network: the first coinbase is
/// spendable at once.
const MATURE_BLOCKS: u32 = 101;
/// The namespace launched at start-up, and its terms: a short lifetime, so that
/// names can be seen to expire on a local network.
pub const NAMESPACE: &str = "id";
/// Blocks an `id` name lasts on a local network.
pub const NAME_LIFETIME: u32 = 100;
/// Blocks of grace after expiry on a local network.
pub const NAME_GRACE: u32 = 10;
/// How long a node may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the nodes may take to agree on the tip after start-up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the running network is looked at (signals, automine, dead nodes).
const TICK: Duration = Duration::from_millis(200);

/// One running node.
struct Node {
    child: Child,
    rpc_url: String,
    cookie_file: PathBuf,
    p2p_addr: String,
    data_dir: PathBuf,
    /// The explorer's URL, on the node that serves one.
    explorer_url: Option<String>,
}

impl Node {
    fn rpc(&self) -> Result<RpcClient, Failure> {
        RpcClient::new(&self.rpc_url, &self.cookie_file).map_err(failed)
    }

    fn call(&self, method: &str, params: Value) -> Result<Value, Failure> {
        self.rpc()?.call(method, params).map_err(|e| {
            failed(format!(
                "node {} ({}): {method}: {e}",
                self.data_dir.display(),
                self.rpc_url
            ))
        })
    }

    fn describe(&self) -> Value {
        json!({
            "rpc_url": self.rpc_url,
            "cookie_file": self.cookie_file,
            "p2p_addr": self.p2p_addr,
            "data_dir": self.data_dir,
        })
    }
}

/// The nodes started so far; dropping it stops them (on every path, errors included).
#[derive(Default)]
struct Running {
    nodes: Vec<Node>,
}

impl Running {
    /// Asks each node to stop, waits, and kills what does not stop in time. Returns
    /// how many stopped on their own.
    fn stop(&mut self) -> usize {
        for node in &self.nodes {
            let _ = node.rpc().map(|rpc| rpc.call("stop", json!([])));
        }
        let mut clean = 0;
        for node in &mut self.nodes {
            let deadline = Instant::now() + STOP_TIMEOUT;
            loop {
                match node.child.try_wait() {
                    Ok(Some(status)) => {
                        clean += usize::from(status.success());
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(TICK),
                    _ => {
                        let _ = node.child.kill();
                        let _ = node.child.wait();
                        break;
                    }
                }
            }
        }
        self.nodes.clear();
        clean
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `chain-node` binary: next to this `wallet`, else on `PATH`.
fn chain_node_binary() -> Result<PathBuf, Failure> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("chain-node")))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chain-node"))
                .find(|p| p.is_file())
        })
    };
    beside.or_else(on_path).ok_or_else(|| {
        failed(
            "chain-node is neither next to this wallet nor on PATH: build it with \
             `cargo build --release` at the repository's root (it builds chain-node next to \
             wallet in target/release), or put its directory on PATH",
        )
    })
}

/// The first string in `v` (searched depth first) that is a multiaddr naming a peer id.
fn find_p2p_addr(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.starts_with('/') && s.contains("/p2p/") => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(find_p2p_addr),
        Value::Object(map) => map.values().find_map(find_p2p_addr),
        _ => None,
    }
}

/// The last lines of a node's log (at most 2 KiB), on one line.
fn log_tail(path: &Path) -> String {
    let text = fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(2048);
    let tail = String::from_utf8_lossy(text.get(start..).unwrap_or_default());
    let lines: Vec<&str> = tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "nothing".to_owned()
    } else {
        lines.join(" / ")
    }
}

/// Starts node `index` (1-based) in `dir`, peered with `peers`.
/// Node 1 also serves the block explorer (`explorer`).
fn start_node(
    binary: &Path,
    dir: &Path,
    index: usize,
    peers: &[String],
    explorer: bool,
) -> Result<Node, Failure> {
    let data_dir = dir.join(format!("node{index}"));
    let log_path = dir.join("logs").join(format!("node{index}.log"));
    let log = fs::File::create(&log_path)
        .map_err(|e| failed(format!("cannot create {}: {e}", log_path.display())))?;
    let mut command = Command::new(binary);
    command
        .args(["--network", "regtest", "--data"])
        .arg(&data_dir)
        .args(["--rpc-listen", "127.0.0.1:0"])
        .args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--mining-threads", "1", "--json"])
        // The node reads the pipe the `Child` keeps open: when this process dies, even
        // by SIGKILL, the pipe closes and the node stops cleanly.
        .arg("--stop-on-stdin-close");
    if explorer {
        command.args(["--explorer-listen", "127.0.0.1:0"]);
    }
    for peer in peers {
        command.args(["--peer", peer]);
    }
    // Its own process group: a Ctrl-C at the terminal reaches the wallet alone, which
    // stops the nodes in order.
    let mut child = command
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| failed(format!("cannot start {}: {e}", binary.display())))?;
    // The first line of a node started with --json says where its RPC listens.
    let stdout = child.stdout.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if let Some(out) = stdout {
            let mut reader = BufReader::new(out);
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading, so that the node never blocks on a full pipe.
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        }
    });
    let started = rx.recv_timeout(START_TIMEOUT).ok();
    let info: Option<Value> = started.and_then(|l| serde_json::from_str(&l).ok());
    let Some(rpc) = info.as_ref().and_then(|i| at(i, "rpc").as_str()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(failed(format!(
            "node {index} did not start; it said: {}",
            log_tail(&log_path)
        )));
    };
    let rpc_url = if rpc.starts_with("http") {
        rpc.to_owned()
    } else {
        format!("http://{rpc}")
    };
    let explorer_url = info
        .as_ref()
        .and_then(|i| at(i, "explorer").as_str())
        .map(str::to_owned);
    if explorer && explorer_url.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(failed(format!(
            "node {index} does not say where its explorer listens: is {} a chain-node with \
             --explorer-listen? It said: {}",
            binary.display(),
            log_tail(&log_path)
        )));
    }
    let mut node = Node {
        child,
        rpc_url,
        cookie_file: data_dir.join(".cookie"),
        p2p_addr: String::new(),
        data_dir,
        explorer_url,
    };
    let info = node.call("getnetworkinfo", json!([]));
    match info.as_ref().ok().and_then(find_p2p_addr) {
        Some(addr) => node.p2p_addr = addr,
        None => {
            let _ = node.child.kill();
            let _ = node.child.wait();
            return Err(failed(format!(
                "node {index} does not say its peer-to-peer address (getnetworkinfo): is {} \
                 a chain-node with networking? It said: {}",
                binary.display(),
                log_tail(&log_path)
            )));
        }
    }
    Ok(node)
}

/// Opens the development wallet in `dir`, or makes one: returns its first address and,
/// when it was just made, its recovery words.
fn dev_wallet(dir: &Path) -> Result<(Address, Option<Zeroizing<String>>), Failure> {
    match Keystore::open(dir) {
        Ok(ks) => {
            let unlocked = ks.unlock("").map_err(|e| {
                failed(format!(
                    "{} holds a wallet that is not this network's development wallet ({e}); \
                     choose another --dir",
                    dir.display()
                ))
            })?;
            let address = unlocked
                .keys()
                .first()
                .map(|k| k.address())
                .ok_or_else(|| failed("the development wallet has no key"))?;
            Ok((address, None))
        }
        Err(KeystoreError::Missing { .. }) => {
            let mnemonic = keys::new_mnemonic().map_err(failed)?;
            // The empty passphrase protects nothing, so stretching it would only cost
            // time at every command.
            let unlocked = Keystore::create(
                dir,
                Network::Regtest.name(),
                &mnemonic,
                "",
                KdfCost::EMPTY_PASSPHRASE,
                1,
            )
            .map_err(failed)?;
            let address = unlocked.newest().address();
            Ok((
                address,
                Some(Zeroizing::new(unlocked.mnemonic().to_owned())),
            ))
        }
        Err(e) => Err(failed(e)),
    }
}

/// Launches the `id` namespace through its real operations (preorder, reveal,
/// ready), mining each step's block on node 1; on a network started again it is
/// there already. Returns its description.
fn launch_id_namespace(first: &Node, wallet_dir: &Path, mine_to: &str) -> Result<Value, Failure> {
    let describe = |info: &Value| {
        json!({
            "id": NAMESPACE,
            "lifetime": at(info, "lifetime"),
            "grace": at(info, "grace"),
            "status": at(info, "status"),
        })
    };
    if let Ok(info) = first.call("getnamespaceinfo", json!([NAMESPACE]))
        && at(&info, "status") != "lapsed"
    {
        return Ok(describe(&info));
    }
    let cfg = crate::wallet::Config {
        network: Network::Regtest,
        wallet_dir: wallet_dir.to_path_buf(),
        rpc_url: first.rpc_url.clone(),
        cookie: first.cookie_file.clone(),
        empty_passphrase: true,
    };
    let mut session = crate::names::Session::open(&cfg)?;
    session.progress = Box::new(|_| {});
    let id = NAMESPACE
        .parse()
        .map_err(|e| failed(format!("namespace {NAMESPACE}: {e}")))?;
    let terms = naming::NamespaceTerms {
        lifetime: NAME_LIFETIME,
        grace: NAME_GRACE,
        price: crate::names::default_price()?,
    };
    crate::names::launch_namespace(&mut session, &id, terms, &mut || {
        first
            .call("generatetoaddress", json!([1, mine_to]))
            .map(drop)
    })?;
    let info = first.call("getnamespaceinfo", json!([NAMESPACE]))?;
    Ok(describe(&info))
}

/// Waits until every node has the same tip; returns it.
fn await_agreement(nodes: &[Node]) -> Result<(u64, String), Failure> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let mut tips = Vec::with_capacity(nodes.len());
        for node in nodes {
            tips.push(node.call("getbestblockhash", json!([]))?);
        }
        if tips.windows(2).all(|w| w.first() == w.get(1)) {
            let height = nodes
                .first()
                .map(|n| n.call("getblockcount", json!([])))
                .transpose()?
                .and_then(|h| h.as_u64())
                .unwrap_or(0);
            let tip = tips
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Ok((height, tip));
        }
        if Instant::now() > deadline {
            return Err(failed(format!(
                "the nodes did not agree on a tip within {} s; their logs are in the logs/ \
                 directory of the network",
                SYNC_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(TICK);
    }
}

/// Makes `dir` and its `logs/` (mode 0700), after checking that it holds a network
/// (started again: `true`) or nothing.
fn prepare_dir(dir: &Path) -> Result<bool, Failure> {
    let again = dir.join(DESCRIPTION_FILE).is_file();
    if !again && dir.exists() {
        let empty = fs::read_dir(dir)
            .map_err(|e| failed(format!("cannot read {}: {e}", dir.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(bad(format!(
                "{} is not empty and holds no test network ({DESCRIPTION_FILE} is missing); \
                 choose another --dir",
                dir.display()
            )));
        }
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("logs"))
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    Ok(again)
}

/// `wallet testnet up`. `say` prints the start-up report as soon as the network is
/// ready; the returned report says how it stopped.
pub(crate) fn up(args: &UpArgs, say: &mut dyn FnMut(&Report)) -> Result<Report, Failure> {
    if args.nodes == 0 || args.nodes > MAX_NODES {
        return Err(bad(format!(
            "--nodes must be 1 to {MAX_NODES}, not {}",
            args.nodes
        )));
    }
    if args.block_time == Some(0) {
        return Err(bad("--block-time must be at least 1 second"));
    }
    let binary = chain_node_binary()?;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("open-trust-testnet-{}", std::process::id()))
    });
    let existed = dir.exists();
    let again = prepare_dir(&dir)?;
    let mut announced = false;
    let result = run(args, &binary, &dir, again, &mut |ready| {
        announced = true;
        say(ready);
    });
    if result.is_err() && !existed && !announced {
        // A start that fails leaves no directory of its own behind (what a node said
        // is in the error).
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

/// Starts the network in `dir` (`again`: it ran there before) and runs it.
fn run(
    args: &UpArgs,
    binary: &Path,
    dir: &Path,
    again: bool,
    say: &mut dyn FnMut(&Report),
) -> Result<Report, Failure> {
    // Watch the signals before anything is started, so that none is missed.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| failed(format!("cannot watch signals: {e}")))?;
    }

    let mut network = Running::default();
    for index in 1..=args.nodes as usize {
        let peers: Vec<String> = network.nodes.iter().map(|n| n.p2p_addr.clone()).collect();
        let node = start_node(binary, dir, index, &peers, index == 1)?;
        network.nodes.push(node);
        if stop.load(Ordering::Relaxed) {
            network.stop();
            return Ok(Report::ok("testnet stopped while starting", json!({})));
        }
    }
    let first = network
        .nodes
        .first()
        .ok_or_else(|| failed("no node started"))?;

    let wallet_dir = dir.join("wallet");
    let (address, words) = dev_wallet(&wallet_dir)?;
    Settings {
        rpc_url: Some(first.rpc_url.clone()),
        cookie_file: Some(first.cookie_file.clone()),
        empty_passphrase: true,
    }
    .save(&wallet_dir)
    .map_err(failed)?;
    let encoded = address.encode(Network::Regtest);
    let height = first
        .call("getblockcount", json!([]))?
        .as_u64()
        .unwrap_or(0);
    if height < u64::from(MATURE_BLOCKS) {
        let n = u64::from(MATURE_BLOCKS) - height;
        first.call("generatetoaddress", json!([n, encoded]))?;
    }
    let namespace = launch_id_namespace(first, &wallet_dir, &encoded)?;
    let (height, tip) = await_agreement(&network.nodes)?;

    let nodes: Vec<Value> = network.nodes.iter().map(Node::describe).collect();
    let explorer_url = first.explorer_url.clone();
    let description = json!({
        "nodes": nodes.clone(),
        "wallet_dir": wallet_dir,
        "explorer_url": explorer_url,
        "namespace": namespace.clone(),
    });
    let mut bytes = serde_json::to_vec_pretty(&description).map_err(failed)?;
    bytes.push(b'\n');
    let description_path = dir.join(DESCRIPTION_FILE);
    write_atomic(&description_path, &bytes, 0o644)
        .map_err(|(step, e)| failed(format!("{step} {}: {e}", description_path.display())))?;

    let mining = match (args.automine, args.block_time) {
        (true, _) => "a block whenever a transaction arrives (--automine)".to_owned(),
        (false, Some(s)) => format!("a block every {s} s on node 1 (--block-time)"),
        (false, None) => format!("on demand: wallet mine N --wallet {}", wallet_dir.display()),
    };
    let mut text = format!(
        "testnet {}: {} regtest node{} on 127.0.0.1 at height {height} in {}\n",
        if again { "up again" } else { "up" },
        args.nodes,
        if args.nodes == 1 { "" } else { "s" },
        dir.display()
    );
    text.push_str(&format!(
        "\ndevelopment wallet {} (test coins only: no passphrase)\n",
        wallet_dir.display()
    ));
    if let Some(w) = &words {
        text.push_str(&format!("  recovery words: {}\n", w.as_str()));
    }
    text.push_str(&format!("  funded address: {encoded}\n\n"));
    text.push_str(&format!(
        "namespace {NAMESPACE} is ready: names last {NAME_LIFETIME} blocks (grace {NAME_GRACE}), short so that expiry can be seen\n  try: wallet name register alice.{NAMESPACE} --wallet {}\n\n",
        wallet_dir.display()
    ));
    for (i, node) in network.nodes.iter().enumerate() {
        text.push_str(&format!(
            "node {}  rpc {}  cookie {}\n        p2p {}\n",
            i + 1,
            node.rpc_url,
            node.cookie_file.display(),
            node.p2p_addr
        ));
    }
    if let Some(url) = &explorer_url {
        text.push_str(&format!("\nexplorer {url} (node 1, read-only)\n"));
    }
    text.push_str(&format!(
        "\nmining: {mining}\nfor scripts: {}\ntry: wallet balance --wallet {}\nCtrl-C stops the network",
        description_path.display(),
        wallet_dir.display()
    ));
    let mut fields = json!({
        "dir": dir,
        "nodes": nodes,
        "wallet_dir": wallet_dir,
        "address": encoded,
        "height": height,
        "tip": tip,
        "testnet_json": description_path,
        "explorer_url": explorer_url,
        "namespace": namespace,
    });
    if let (Some(w), Some(map)) = (&words, fields.as_object_mut()) {
        map.insert("mnemonic".into(), json!(w.as_str()));
    }
    say(&Report::ok(text, fields));
    drop(words);

    let started = Instant::now();
    let mut mined_on_timer = 0u64;
    loop {
        std::thread::sleep(TICK);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        for (i, node) in network.nodes.iter_mut().enumerate() {
            if let Ok(Some(status)) = node.child.try_wait() {
                let index = i + 1;
                network.stop();
                return Err(failed(format!(
                    "node {index} ended ({status}); the others were stopped; its log is {}",
                    dir.join("logs").join(format!("node{index}.log")).display()
                )));
            }
        }
        let Some(first) = network.nodes.first() else {
            break;
        };
        if args.automine {
            let info = first.call("getmempoolinfo", json!([]))?;
            let size = info.get("size").and_then(Value::as_u64).unwrap_or(0);
            if size > 0 {
                first.call("generatetoaddress", json!([1, encoded]))?;
            }
        } else if let Some(every) = args.block_time {
            let due = started.elapsed().as_secs() / every;
            if due > mined_on_timer {
                mined_on_timer = due;
                first.call("generatetoaddress", json!([1, encoded]))?;
            }
        }
    }
    let count = network.nodes.len();
    let clean = network.stop();
    Ok(Report::ok(
        format!(
            "testnet stopped: {clean} of {count} nodes stopped cleanly; the network is kept in {} (`wallet testnet up --dir {}` starts it again)",
            dir.display(),
            dir.display()
        ),
        json!({ "stopped": count, "clean": clean, "dir": dir }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_address_is_found_wherever_the_answer_puts_it() {
        let core_shape = json!({"localaddresses": [{"address": "/ip4/127.0.0.1/tcp/5/p2p/12D3KooWA", "port": 5}]});
        assert_eq!(
            find_p2p_addr(&core_shape).as_deref(),
            Some("/ip4/127.0.0.1/tcp/5/p2p/12D3KooWA")
        );
        assert_eq!(find_p2p_addr(&json!({"localaddresses": []})), None);
        assert_eq!(find_p2p_addr(&json!({"x": "http://a/p2p/b"})), None);
    }
}

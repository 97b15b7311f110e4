//! The `chain-node` binary: parses arguments and calls into the library.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chain_node::datadir::DataDirLock;
use chain_node::explorer::{Explorer, ExplorerConfig};
use chain_node::p2p::{P2p, P2pConfig};
use chain_node::rpc::{RpcConfig, RpcServer, StopReason};
use chain_node::{ChainState, Network, Node, NodeConfig};
use clap::{CommandFactory as _, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use cli::{ChainArgs, Cli, Command, KeygenArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(message) = misplaced(&cli) {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "chain-node: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Options given before a command that the command does not use.
fn misplaced(cli: &Cli) -> Option<String> {
    let command = cli.command.as_ref()?;
    let mut flags = cli.run.given();
    let name = match command {
        Command::Reindex(_) => "reindex",
        Command::Keygen(_) => {
            if cli.chain.data.is_some() {
                flags.push("--data");
            }
            "keygen"
        }
    };
    match flags.as_slice() {
        [] => None,
        [one] => Some(format!("{one} does not apply to `chain-node {name}`")),
        many => Some(format!(
            "{} do not apply to `chain-node {name}`",
            many.join(", ")
        )),
    }
}

/// Prints one result, as text or JSON. A closed standard output (`| head`) is not
/// an error: the work is done, and nobody reads the rest.
fn say(json: bool, value: serde_json::Value, text: String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let written = if json {
        writeln!(out, "{value}")
    } else {
        writeln!(out, "{text}")
    }
    .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Some(Command::Keygen(args)) => keygen(cli, args),
        Some(Command::Reindex(args)) => reindex(cli.json, &args.or(&cli.chain)),
        None => run_node(cli),
    }
}

/// `chain-node keygen`.
fn keygen(cli: &Cli, args: &KeygenArgs) -> anyhow::Result<()> {
    let network = args
        .network
        .or(cli.chain.network)
        .unwrap_or(Network::Regtest);
    let out = &args.out;
    let key = chain_node::keyfile::create(out)?;
    let pubkey = key.verifying_key().to_bytes();
    let address = chain_node::Address::from_pubkey(&pubkey).encode(network);
    say(
        cli.json,
        json!({"address": address, "pubkey": hex::encode(pubkey), "keyfile": out.display().to_string()}),
        format!(
            "address {address}\nkey written to {} (mode 0600)",
            out.display()
        ),
    )
}

/// The node: checks what can fail before it writes anything (the address, the
/// directory's lock, the port), opens the chain, serves RPC until a `stop` call,
/// SIGINT or SIGTERM, then flushes and says so.
fn run_node(cli: &Cli) -> anyhow::Result<()> {
    let network = cli.chain.network();
    let data = cli.chain.data_dir();
    let addr = cli.run.rpc_addr(network);
    if !addr.ip().is_loopback() && !cli.run.rpc_allow_remote {
        bail!(
            "refusing to serve RPC on {addr}, which is not a loopback address; pass --rpc-allow-remote to allow it"
        );
    }
    if let Some(e) = cli.run.explorer_listen
        && !e.ip().is_loopback()
        && !cli.run.explorer_allow_remote
    {
        bail!(
            "refusing to serve the explorer on {e}, which is not a loopback address; pass --explorer-allow-remote to allow it"
        );
    }
    // An existing directory is locked before the port is taken: a second node on the
    // same directory (and so, by default, the same port) hears about the directory.
    let early = if data.is_dir() {
        Some(DataDirLock::acquire(&data)?)
    } else {
        None
    };
    let listener = RpcServer::bind(addr)?;
    let explorer_listener = cli.run.explorer_listen.map(Explorer::bind).transpose()?;
    let _lock = match early {
        Some(lock) => lock,
        None => {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("cannot create the data directory {}", data.display()))?;
            DataDirLock::acquire(&data)?
        }
    };
    let mut config = NodeConfig::new(network, data.clone());
    if let Some(t) = cli.run.mining_threads {
        config.mining_threads = t.max(1);
    }
    config.cache = cli.run.cache();
    let node = Node::open(config)
        .with_context(|| format!("cannot open the chain state in {}", data.display()))?;
    let rpc = RpcConfig {
        threads: cli
            .run
            .rpc_threads
            .unwrap_or(chain_node::rpc::DEFAULT_RPC_THREADS)
            .max(1),
        stop_on_signals: true,
        stop_on_stdin_close: cli.run.stop_on_stdin_close,
        ..RpcConfig::default()
    };
    let p2p = start_p2p(cli, &node, network, &data)?;
    let server = RpcServer::start_on_network(node.clone(), p2p.clone(), listener, rpc)?;
    let explorer = match explorer_listener {
        Some(l) => Some(Explorer::start(
            node.clone(),
            p2p.clone(),
            l,
            ExplorerConfig::default(),
        )?),
        None => None,
    };
    let (height, tip) = node.tip()?;
    let cookie = server.cookie_path().display().to_string();
    let local = server.local_addr();
    let p2p_addrs: Vec<String> = match &p2p {
        Some(p2p) => p2p
            .listen_addrs()?
            .iter()
            .map(ToString::to_string)
            .collect(),
        None => Vec::new(),
    };
    let p2p_text = match p2p_addrs.as_slice() {
        [] => String::new(),
        addrs => format!(", p2p {}", addrs.join(" ")),
    };
    let mut started = json!({"rpc": local.to_string(), "cookie": cookie, "network": network.name(), "height": height.0, "bestblockhash": tip.to_hex(), "p2p": p2p_addrs});
    let mut explorer_text = String::new();
    if let (Some(e), Some(map)) = (&explorer, started.as_object_mut()) {
        map.insert("explorer".into(), json!(e.url()));
        explorer_text = format!(", explorer {}", e.url());
    }
    say(
        cli.json,
        started,
        format!(
            "chain-node {network} listening on {local} (cookie {cookie}, height {height}, tip {tip}{p2p_text}{explorer_text})"
        ),
    )?;
    let flusher = spawn_flusher(node.clone());
    if let Some(p2p) = &p2p {
        spawn_progress(p2p, node.clone());
    }
    let reason = server.wait_reason();
    // The explorer stops with the RPC server: nobody reads a node that is flushing.
    if let Some(e) = explorer {
        let _ = e.stop();
    }
    // The network stops first: no peer message reaches a node that is flushing.
    if let Some(p2p) = &p2p {
        p2p.shutdown();
    }
    // The owner writes the coins cache and exits; a `stop` call or a signal may have
    // begun it first: this waits for it, and a failed write is then the node's failure.
    let closed = node.shutdown();
    flusher.thread().unpark();
    let _ = flusher.join();
    let reason = reason?;
    if let Some(failure) = node.failure() {
        bail!(
            "stopped after a storage failure: {failure}; restart to reload the chain state from {}",
            data.display()
        );
    }
    let (height, tip) = closed.context(
        "cannot write the coins cache at shutdown; the next start connects its blocks again",
    )?;
    let why = match reason {
        StopReason::Signal(s) => s.name().to_owned(),
        other => other.to_string(),
    };
    say(
        cli.json,
        json!({"stopped": why, "height": height.0, "bestblockhash": tip.to_hex()}),
        format!(
            "chain-node stopped ({why}) at height {height}, tip {tip}: chain state flushed, cookie removed"
        ),
    )
}

/// Starts the network when `--p2p-listen` is given.
fn start_p2p(
    cli: &Cli,
    node: &Node,
    network: Network,
    data: &std::path::Path,
) -> anyhow::Result<Option<P2p>> {
    if cli.run.p2p_listen.is_empty() {
        if !cli.run.peer.is_empty() {
            bail!("--peer needs --p2p-listen: without it the node does no networking");
        }
        return Ok(None);
    }
    let mut config = P2pConfig::new(network, data);
    config.listen = cli.run.p2p_listen.clone();
    config.peers = cli.run.peer.clone();
    let p2p = P2p::start(node.clone(), config).context("cannot start the p2p network")?;
    Ok(Some(p2p))
}

/// Shows initial block download on stderr: a bar on a terminal, else a line every
/// few seconds; ends at shutdown.
fn spawn_progress(p2p: &P2p, node: Node) {
    use std::io::IsTerminal;
    let progress = p2p.progress();
    std::thread::spawn(move || {
        let terminal = std::io::stderr().is_terminal();
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("syncing {bar:40} {pos}/{len} blocks ({per_sec}, {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut last_line = std::time::Instant::now();
        let mut shown = false;
        while !node.is_shutting_down() {
            std::thread::sleep(std::time::Duration::from_millis(250));
            let now = *progress.borrow();
            if now.initial_block_download {
                let (blocks, headers) = (u64::from(now.blocks.0), u64::from(now.headers.0));
                if terminal {
                    bar.set_length(headers);
                    bar.set_position(blocks);
                } else if !shown || last_line.elapsed() >= std::time::Duration::from_secs(5) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "chain-node: initial block download: {blocks} of {headers} blocks"
                    );
                    last_line = std::time::Instant::now();
                }
                shown = true;
            } else if shown {
                bar.finish_and_clear();
                let _ = writeln!(
                    std::io::stderr(),
                    "chain-node: synced to height {}",
                    now.blocks
                );
                shown = false;
            }
        }
    });
}

/// Writes the coins cache once its time bound passes while no block arrives, and takes
/// a step of the zone-file sweep, once a second; ends at shutdown. A failure stops the
/// node (as a failed flush after a block does).
fn spawn_flusher(node: Node) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !node.is_shutting_down() {
            std::thread::park_timeout(std::time::Duration::from_secs(1));
            if node.is_shutting_down() || node.flush_if_due().is_err() {
                return;
            }
            // Zone files nothing has referenced for the grace period (ADR 0036).
            if node.sweep_zone_files().is_err() {
                return;
            }
        }
    })
}

/// `chain-node reindex`: rebuild the derived chain state with a progress bar on stderr.
fn reindex(json: bool, chain: &ChainArgs) -> anyhow::Result<()> {
    let data = chain.data_dir();
    let path = data.join("chain");
    if !path.exists() {
        bail!(
            "no chain state in {}; start the node once or pass the right --data",
            data.display()
        );
    }
    let _lock = DataDirLock::acquire(&data)?;
    let mut state = ChainState::open_for_reindex(&path, chain.network().params())
        .with_context(|| format!("cannot open the chain state in {}", data.display()))?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("reindexing {bar:40} {pos}/{len} blocks ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let act = state.reindex(|height, target| {
        bar.set_length(u64::from(target.0));
        bar.set_position(u64::from(height.0));
    })?;
    bar.finish_and_clear();
    let (height, tip) = state.tip();
    let blocks = height.0;
    say(
        json,
        json!({"height": height.0, "bestblockhash": tip.to_hex(), "invalid": act.invalid.len()}),
        format!(
            "reindexed {blocks} block{} in {:.1} s; tip {tip} at height {height}",
            if blocks == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        ),
    )
}

//! The `chain-node` binary: parses arguments and calls into the library.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chain_node::datadir::DataDirLock;
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
    // An existing directory is locked before the port is taken: a second node on the
    // same directory (and so, by default, the same port) hears about the directory.
    let early = if data.is_dir() {
        Some(DataDirLock::acquire(&data)?)
    } else {
        None
    };
    let listener = RpcServer::bind(addr)?;
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
        ..RpcConfig::default()
    };
    let server = RpcServer::start_on(node.clone(), listener, rpc)?;
    let (height, tip) = node.lock().chain.tip();
    let cookie = server.cookie_path().display().to_string();
    let local = server.local_addr();
    say(
        cli.json,
        json!({"rpc": local.to_string(), "cookie": cookie, "network": network.name(), "height": height.0, "bestblockhash": tip.to_hex()}),
        format!(
            "chain-node {network} listening on {local} (cookie {cookie}, height {height}, tip {tip})"
        ),
    )?;
    let flusher = spawn_flusher(node.clone());
    let reason = server.wait_reason();
    node.shutdown();
    flusher.thread().unpark();
    let _ = flusher.join();
    let reason = reason?;
    if let Some(failure) = node.failure() {
        bail!(
            "stopped after a storage failure: {failure}; restart to reload the chain state from {}",
            data.display()
        );
    }
    node.flush().context(
        "cannot write the coins cache at shutdown; the next start connects its blocks again",
    )?;
    let (height, tip) = node.lock().chain.tip();
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

/// Writes the coins cache once its time bound passes while no block arrives; ends at
/// shutdown. A failure stops the node (as a failed flush after a block does).
fn spawn_flusher(node: std::sync::Arc<Node>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !node.is_shutting_down() {
            std::thread::park_timeout(std::time::Duration::from_secs(1));
            if node.is_shutting_down() || node.flush_if_due().is_err() {
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

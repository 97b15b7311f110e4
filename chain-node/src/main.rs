//! The `chain-node` binary: parses arguments and calls into the library.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chain_node::rpc::{RpcConfig, RpcServer};
use chain_node::{ChainState, Node, NodeConfig};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "chain-node: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn say(json: bool, value: serde_json::Value, text: String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{text}")?;
    }
    out.flush()?;
    Ok(())
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    if let Some(Command::Keygen { out }) = &cli.command {
        let key = chain_node::keyfile::create(out)?;
        let pubkey = key.verifying_key().to_bytes();
        let address = chain_node::Address::from_pubkey(&pubkey).encode(cli.network);
        return say(
            cli.json,
            json!({"address": address, "pubkey": hex::encode(pubkey), "keyfile": out.display().to_string()}),
            format!(
                "address {address}\nkey written to {} (mode 0600)",
                out.display()
            ),
        );
    }
    let data = cli.data_dir();
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    if let Some(Command::Reindex) = cli.command {
        return reindex(cli, &data);
    }
    let mut config = NodeConfig::new(cli.network, data.clone());
    if let Some(t) = cli.mining_threads {
        config.mining_threads = t.max(1);
    }
    config.cache = cli.cache();
    let node = Node::open(config)
        .with_context(|| format!("cannot open the chain state in {}", data.display()))?;
    let addr = cli.rpc_addr();
    if !addr.ip().is_loopback() && !cli.rpc_allow_remote {
        bail!(
            "refusing to serve RPC on {addr}, which is not a loopback address; pass --rpc-allow-remote to allow it"
        );
    }
    let rpc = RpcConfig {
        threads: cli.rpc_threads.max(1),
        stop_on_signals: true,
        ..RpcConfig::default()
    };
    let server = RpcServer::start_with(node.clone(), addr, rpc)?;
    let (height, tip) = node.lock().chain.tip();
    let cookie = server.cookie_path().display().to_string();
    say(
        cli.json,
        json!({"rpc": server.local_addr().to_string(), "cookie": cookie, "network": cli.network.name(), "height": height.0, "bestblockhash": tip.to_hex()}),
        format!(
            "chain-node {} listening on {} (cookie {cookie}, height {height}, tip {tip})",
            cli.network,
            server.local_addr()
        ),
    )?;
    let flusher = spawn_flusher(node.clone());
    let served = server.wait();
    node.shutdown();
    flusher.thread().unpark();
    let _ = flusher.join();
    served?;
    if let Some(reason) = node.failure() {
        bail!(
            "stopped after a storage failure: {reason}; restart to reload the chain state from {}",
            data.display()
        );
    }
    node.flush().context(
        "cannot write the coins cache at shutdown; the next start connects its blocks again",
    )?;
    Ok(())
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
fn reindex(cli: &Cli, data: &std::path::Path) -> anyhow::Result<()> {
    let path = data.join("chain");
    if !path.exists() {
        bail!(
            "no chain state in {}; start the node once or pass the right --data",
            data.display()
        );
    }
    let mut state = ChainState::open_for_reindex(&path, cli.network.params())
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
    say(
        cli.json,
        json!({"height": height.0, "bestblockhash": tip.to_hex(), "invalid": act.invalid.len()}),
        format!(
            "reindexed {} blocks in {:.1} s; tip {tip} at height {height}",
            height.0,
            started.elapsed().as_secs_f64()
        ),
    )
}

//! Command-line types of the `chain-node` binary.
//!
//! Each option lives where it applies: the RPC and mining options on the node run
//! (no command), `--network` and `--data` on the run and on `reindex`, `--network`
//! on `keygen`, and `--json` everywhere. For the command lines of earlier versions,
//! `--network` and `--data` are also read before a command (`chain-node --data DIR
//! reindex`); an option given there that the command does not use is refused.

use std::net::SocketAddr;
use std::path::PathBuf;

use chain_node::Network;
use clap::{Args, Parser, Subcommand};

/// A proof-of-work UTXO chain node with a bitcoind-style JSON-RPC interface.
///
/// Start a local regtest node:
///   chain-node --network regtest --data ./node --rpc-listen 127.0.0.1:18443
///
/// RPC credentials are in DIR/.cookie (`__cookie__:<password>`), rewritten at every
/// start and removed at a clean stop (Ctrl-C, SIGTERM or the `stop` call), as
/// bitcoind does. One node runs per data directory.
#[derive(Debug, Parser)]
#[command(name = "chain-node", version, verbatim_doc_comment)]
pub(crate) struct Cli {
    /// Where the chain is.
    #[command(flatten)]
    pub(crate) chain: ChainArgs,

    /// How the node serves.
    #[command(flatten)]
    pub(crate) run: RunArgs,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// What to do; without a command the node runs.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The network and the data directory.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ChainArgs {
    /// Network: regtest (trivial proof of work) or testnet [default: regtest].
    #[arg(long, value_name = "NETWORK")]
    pub(crate) network: Option<Network>,

    /// Data directory [default: $HOME/.chain-node/<network>].
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
}

/// Options of the running node: its RPC server and its miner.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct RunArgs {
    /// Address of the JSON-RPC server [default: 127.0.0.1:18443 on regtest,
    /// 127.0.0.1:18332 on testnet]. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub(crate) rpc_listen: Option<SocketAddr>,

    /// Allow --rpc-listen on an address other than loopback.
    #[arg(long)]
    pub(crate) rpc_allow_remote: bool,

    /// Threads running RPC calls at once; further calls wait for one (a long
    /// generatetoaddress holds one) [default: 4].
    #[arg(long, value_name = "N")]
    pub(crate) rpc_threads: Option<usize>,

    /// Nonce-search threads for generatetoaddress [default: all cores].
    #[arg(long, value_name = "N")]
    pub(crate) mining_threads: Option<usize>,

    /// Memory for the coins cache in MiB: connected blocks change the UTXO set in memory,
    /// written to disk in one batch when the cache passes this size, every
    /// --flush-interval seconds, and at a clean stop. 0 writes after every block
    /// [default: 450].
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(0..=1 << 20))]
    pub(crate) dbcache: Option<u32>,

    /// Longest time in seconds a change of the UTXO set stays in the coins cache only
    /// [default: 600].
    #[arg(long, value_name = "SECS")]
    pub(crate) flush_interval: Option<u64>,

    /// Join the peer-to-peer network, listening on this multiaddr (e.g.
    /// /ip4/127.0.0.1/tcp/18444; tcp/0 picks a free port). The node key is DIR/p2p.key.
    /// Without it the node does no networking.
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) p2p_listen: Vec<gossip::Multiaddr>,

    /// Serve a read-only block explorer in the browser on this address (e.g.
    /// 127.0.0.1:3002; port 0 picks a free port): the latest blocks live, blocks,
    /// transactions, addresses, the mempool, chain tips and peers. No credentials;
    /// rate-limited per client.
    #[arg(long, value_name = "ADDR")]
    pub(crate) explorer_listen: Option<SocketAddr>,

    /// Allow --explorer-listen on an address other than loopback.
    #[arg(long)]
    pub(crate) explorer_allow_remote: bool,

    /// A peer to dial at start and redial whenever it is not connected, as a multiaddr
    /// (/ip4/127.0.0.1/tcp/18444/p2p/12D3KooW...); repeat for more. Needs --p2p-listen.
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) peer: Vec<gossip::Multiaddr>,

    /// Stop cleanly (as at SIGTERM) when standard input reaches its end: for a process
    /// that supervises the node through a pipe, so that the node stops when that
    /// process dies, even by SIGKILL (`wallet testnet up` starts its nodes so).
    #[arg(long)]
    pub(crate) stop_on_stdin_close: bool,
}

impl RunArgs {
    /// The options given on the command line, by flag.
    pub(crate) fn given(&self) -> Vec<&'static str> {
        [
            ("--rpc-listen", self.rpc_listen.is_some()),
            ("--rpc-allow-remote", self.rpc_allow_remote),
            ("--rpc-threads", self.rpc_threads.is_some()),
            ("--mining-threads", self.mining_threads.is_some()),
            ("--dbcache", self.dbcache.is_some()),
            ("--flush-interval", self.flush_interval.is_some()),
            ("--p2p-listen", !self.p2p_listen.is_empty()),
            ("--peer", !self.peer.is_empty()),
            ("--explorer-listen", self.explorer_listen.is_some()),
            ("--explorer-allow-remote", self.explorer_allow_remote),
            ("--stop-on-stdin-close", self.stop_on_stdin_close),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// When the coins cache is written, from --dbcache and --flush-interval.
    pub(crate) fn cache(&self) -> chain_node::CacheConfig {
        chain_node::CacheConfig {
            max_bytes: self
                .dbcache
                .map_or(chain_node::DEFAULT_DBCACHE_MIB, |m| m as usize)
                .saturating_mul(1 << 20),
            max_age: self.flush_interval.map_or(
                chain_node::DEFAULT_FLUSH_INTERVAL,
                std::time::Duration::from_secs,
            ),
            ..chain_node::CacheConfig::default()
        }
    }

    /// The RPC address, defaulting by network.
    pub(crate) fn rpc_addr(&self, network: Network) -> SocketAddr {
        self.rpc_listen.unwrap_or_else(|| {
            let port = match network {
                Network::Regtest => 18443,
                Network::Testnet => 18332,
            };
            SocketAddr::from(([127, 0, 0, 1], port))
        })
    }
}

/// Commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Rebuild the UTXO set, undo data and address index from the stored blocks, then
    /// exit (with the node stopped).
    Reindex(ChainArgs),
    /// Write a new random key to a file (mode 0600) and print its address, to try the
    /// node without a wallet. The secret key is never printed.
    Keygen(KeygenArgs),
}

/// Arguments of `chain-node keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The network whose address is printed [default: regtest].
    #[arg(long, value_name = "NETWORK")]
    pub(crate) network: Option<Network>,

    /// The key file to create; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

impl ChainArgs {
    /// These options, each taken from `before` (given before the command) where
    /// this command line left it out.
    pub(crate) fn or(&self, before: &ChainArgs) -> ChainArgs {
        ChainArgs {
            network: self.network.or(before.network),
            data: self.data.clone().or_else(|| before.data.clone()),
        }
    }

    /// The network, regtest by default.
    pub(crate) fn network(&self) -> Network {
        self.network.unwrap_or(Network::Regtest)
    }

    /// The data directory, defaulting under the home directory.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".chain-node").join(self.network().name())
        })
    }
}

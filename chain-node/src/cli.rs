//! Command-line types of the `chain-node` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use chain_node::Network;
use clap::{Parser, Subcommand};

/// A proof-of-work UTXO chain node with a bitcoind-style JSON-RPC interface.
///
/// Start a local regtest node:
///   chain-node --network regtest --data ./node --rpc-listen 127.0.0.1:18443
///
/// RPC credentials are in DIR/.cookie (`__cookie__:<password>`), rewritten at every
/// start, as bitcoind does.
#[derive(Debug, Parser)]
#[command(name = "chain-node", version, verbatim_doc_comment)]
pub(crate) struct Cli {
    /// Network: regtest (trivial proof of work) or testnet.
    #[arg(long, global = true, default_value = "regtest")]
    pub(crate) network: Network,

    /// Data directory [default: $HOME/.chain-node/<network>].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,

    /// Address of the JSON-RPC server [default: 127.0.0.1:18443 on regtest,
    /// 127.0.0.1:18332 on testnet]. Port 0 picks a free port.
    #[arg(long, global = true, value_name = "ADDR")]
    pub(crate) rpc_listen: Option<SocketAddr>,

    /// Allow --rpc-listen on an address other than loopback.
    #[arg(long, global = true)]
    pub(crate) rpc_allow_remote: bool,

    /// Threads running RPC calls at once; further calls wait for one (a long
    /// generatetoaddress holds one).
    #[arg(long, global = true, default_value_t = 4)]
    pub(crate) rpc_threads: usize,

    /// Nonce-search threads for generatetoaddress [default: all cores].
    #[arg(long, global = true)]
    pub(crate) mining_threads: Option<usize>,

    /// Memory for the coins cache in MiB: connected blocks change the UTXO set in memory,
    /// written to disk in one batch when the cache passes this size, every
    /// --flush-interval seconds, and at a clean stop. 0 writes after every block.
    #[arg(long, global = true, value_name = "MIB",
          default_value_t = chain_node::DEFAULT_DBCACHE_MIB as u32,
          value_parser = clap::value_parser!(u32).range(0..=1 << 20))]
    pub(crate) dbcache: u32,

    /// Longest time in seconds a change of the UTXO set stays in the coins cache only.
    #[arg(long, global = true, value_name = "SECS",
          default_value_t = chain_node::DEFAULT_FLUSH_INTERVAL.as_secs())]
    pub(crate) flush_interval: u64,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// What to do; without a command the node runs.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Rebuild the UTXO set, undo data and address index from the stored blocks, then exit.
    Reindex,
    /// Write a new random key to a file (mode 0600) and print its address, to try the
    /// node without a wallet. The secret key is never printed.
    Keygen {
        /// The key file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

impl Cli {
    /// The data directory, defaulting under the home directory.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".chain-node").join(self.network.name())
        })
    }

    /// When the coins cache is written, from --dbcache and --flush-interval.
    pub(crate) fn cache(&self) -> chain_node::CacheConfig {
        chain_node::CacheConfig {
            max_bytes: (self.dbcache as usize).saturating_mul(1 << 20),
            max_age: std::time::Duration::from_secs(self.flush_interval),
            ..chain_node::CacheConfig::default()
        }
    }

    /// The RPC address, defaulting by network.
    pub(crate) fn rpc_addr(&self) -> SocketAddr {
        self.rpc_listen.unwrap_or_else(|| {
            let port = match self.network {
                Network::Regtest => 18443,
                Network::Testnet => 18332,
            };
            SocketAddr::from(([127, 0, 0, 1], port))
        })
    }
}

//! Command-line interface of the `merkle-log` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A tiled transparency log: C2SP tlog-tiles and checkpoints, RFC 6962 proofs.
#[derive(Debug, Parser)]
#[command(name = "merkle-log", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a log key: write the private key (mode 0600), print the verifier key.
    Keygen {
        /// The log's origin, e.g. `log.example.org/2026`; also the key name.
        #[arg(long)]
        origin: String,
        /// Where to write the private key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// Print a JSON object instead of the bare verifier key.
        #[arg(long)]
        json: bool,
    },
    /// Serve the log over HTTP from a data directory.
    Serve {
        /// The data directory (created if missing).
        #[arg(long)]
        data: PathBuf,
        /// The private-key file written by `keygen`.
        #[arg(long)]
        key: PathBuf,
        /// Address to listen on; loopback unless you mean otherwise.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Most submissions sequenced in one batch.
        #[arg(long, default_value_t = 4096)]
        max_batch: usize,
    },
    /// Re-hash every entry and tile of a data directory and report any damage.
    Fsck {
        /// The data directory (the server must be stopped).
        #[arg(long)]
        data: PathBuf,
        /// Print a JSON report.
        #[arg(long)]
        json: bool,
    },
}

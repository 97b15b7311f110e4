//! Command-line interface of the `merkle-log` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
        #[command(flatten)]
        output: KeyOutput,
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
        /// Publish only checkpoints cosigned by a quorum of witnesses: a C2SP
        /// tlog-policy file (`witness NAME VKEY URL`, `group`, `quorum`).
        #[arg(long, value_name = "FILE")]
        witness_policy: Option<PathBuf>,
        /// With --witness-policy: how long `POST /add` waits for a cosigned
        /// checkpoint covering the entry before answering 202 (the entry is
        /// durable; submit it again later for its receipt).
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 10,
            requires = "witness_policy"
        )]
        receipt_wait: u64,
        /// Anchor the published checkpoint in a chain: the chain node's JSON-RPC
        /// URL. Needs the three other --anchor options and `wallet` next to
        /// merkle-log or on PATH.
        #[arg(
            long,
            value_name = "URL",
            requires_all = ["anchor_cookie", "anchor_wallet", "anchor_every"]
        )]
        anchor_rpc: Option<String>,
        /// The chain node's cookie file.
        #[arg(long, value_name = "FILE", requires = "anchor_rpc")]
        anchor_cookie: Option<PathBuf>,
        /// The wallet directory that pays for the anchors (its passphrase from
        /// WALLET_PASSPHRASE, or none for a development wallet).
        #[arg(long, value_name = "DIR", requires = "anchor_rpc")]
        anchor_wallet: Option<PathBuf>,
        /// Anchor at most once every BLOCKS blocks of the chain.
        #[arg(long, value_name = "BLOCKS", requires = "anchor_rpc")]
        anchor_every: Option<u64>,
    },
    /// Run a witness (C2SP tlog-witness): cosign logs' checkpoints after checking
    /// that each extends the last one cosigned.
    #[command(subcommand)]
    Witness(WitnessCommand),
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

#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCommand {
    /// Generate a witness key: write the private key (mode 0600), print the
    /// verifier key (type 0x04, for policies).
    Keygen {
        /// The witness's name, e.g. `witness.example.org/w1`; also the key name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        output: KeyOutput,
    },
    /// Serve `POST /add-checkpoint` for the given logs.
    Serve {
        /// The private-key file written by `witness keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The data directory: the last cosigned checkpoint of each log (created
        /// if missing).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: SocketAddr,
        /// A log's verifier key (its name is the log's origin); repeatable.
        #[arg(
            long = "log",
            value_name = "VKEY",
            required = true,
            allow_hyphen_values = true
        )]
        logs: Vec<String>,
        /// Crash tests only: abort right after a new head is durable, before
        /// answering.
        #[arg(long, hide = true)]
        abort_after_persist: bool,
    },
}

/// Where a new key goes and how it is shown.
#[derive(Debug, Args)]
pub(crate) struct KeyOutput {
    /// Where to write the private key; an existing file is never overwritten.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Print a JSON object instead of the bare verifier key.
    #[arg(long)]
    pub(crate) json: bool,
}

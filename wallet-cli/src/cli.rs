//! Command-line shape: clap derive types only, no behaviour.

use clap::{Args, Parser, Subcommand};

/// Audit transparency logs, and (as the toolkit grows) hold keys, pay, mine and
/// register names.
#[derive(Debug, Parser)]
#[command(name = "wallet", version, about, long_about = None)]
pub struct Cli {
    /// Print one JSON object on standard output instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with transparency logs: hash entries, verify proofs.
    #[command(subcommand)]
    Log(LogCommand),
}

/// `wallet log ...`: offline checks of RFC 6962 / RFC 9162 Merkle proofs.
///
/// Hashes are accepted as 64 hex digits or as standard base64, as RFC 6962 JSON
/// carries them.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print the RFC 6962 leaf hash SHA-256(0x00 || data) of an entry, in hex.
    HashLeaf(HashLeafArgs),
    /// Verify that a leaf is included in a tree of a given size and root.
    VerifyInclusion(VerifyInclusionArgs),
    /// Verify that an older tree is a prefix of a newer one.
    VerifyConsistency(VerifyConsistencyArgs),
}

/// Arguments of `wallet log hash-leaf`.
#[derive(Debug, Args)]
pub struct HashLeafArgs {
    /// The entry's bytes in hex (an empty string is the empty entry).
    #[arg(long, value_name = "HEX", allow_hyphen_values = true)]
    pub data_hex: String,
}

/// Arguments of `wallet log verify-inclusion`.
#[derive(Debug, Args)]
pub struct VerifyInclusionArgs {
    /// The leaf hash (see `wallet log hash-leaf`).
    #[arg(long, value_name = "HASH", allow_hyphen_values = true)]
    pub leaf_hash: String,
    /// The leaf's 0-based index.
    #[arg(long, value_name = "I")]
    pub index: u64,
    /// The size of the tree the proof is for.
    #[arg(long, value_name = "N")]
    pub tree_size: u64,
    /// The root hash of that tree.
    #[arg(long, value_name = "HASH", allow_hyphen_values = true)]
    pub root: String,
    /// The audit path, comma-separated, bottom-up; "" for an empty proof.
    #[arg(long, value_name = "P1,P2,...", allow_hyphen_values = true)]
    pub proof: String,
}

/// Arguments of `wallet log verify-consistency`.
#[derive(Debug, Args)]
pub struct VerifyConsistencyArgs {
    /// The size of the older tree.
    #[arg(long, value_name = "M")]
    pub old_size: u64,
    /// The root hash of the older tree.
    #[arg(long, value_name = "HASH", allow_hyphen_values = true)]
    pub old_root: String,
    /// The size of the newer tree.
    #[arg(long, value_name = "N")]
    pub new_size: u64,
    /// The root hash of the newer tree.
    #[arg(long, value_name = "HASH", allow_hyphen_values = true)]
    pub new_root: String,
    /// The consistency proof, comma-separated; "" for an empty proof.
    #[arg(long, value_name = "P1,P2,...", allow_hyphen_values = true)]
    pub proof: String,
}

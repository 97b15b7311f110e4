//! Command-line shape: clap derive types only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A wallet for the open-trust chain and an auditor for transparency logs.
#[derive(Debug, Parser)]
#[command(name = "wallet", version, about, long_about = None)]
#[command(
    mut_arg("network", |a| a.hide(true)),
    mut_arg("wallet_dir", |a| a.hide(true)),
    mut_arg("rpc", |a| a.hide(true)),
    mut_arg("rpc_cookie", |a| a.hide(true)),
    mut_arg("node_data", |a| a.hide(true)),
)]
pub struct Cli {
    /// Print one JSON object on standard output instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// The wallet options given before the command, as earlier versions took them
    /// (`wallet --wallet DIR balance`); hidden here, listed by each wallet command.
    #[command(flatten)]
    pub before: WalletArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The chain networks a wallet can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    /// The local test network: blocks on demand.
    Regtest,
    /// The public test network.
    Testnet,
}

/// The options of the wallet commands: which wallet, which node. `wallet log` takes
/// none of them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Wallet options")]
pub struct WalletArgs {
    /// The chain network [default: regtest].
    #[arg(long, value_enum, value_name = "NETWORK")]
    pub network: Option<NetworkArg>,

    /// The wallet directory [default: <data dir>/open-trust/wallet-<network>].
    #[arg(long = "wallet", value_name = "DIR")]
    pub wallet_dir: Option<PathBuf>,

    /// The node's JSON-RPC URL [default: http://127.0.0.1:<the network's RPC port>].
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,

    /// The node's cookie file [default: <node data dir>/.cookie].
    #[arg(long, value_name = "FILE", conflicts_with = "node_data")]
    pub rpc_cookie: Option<PathBuf>,

    /// The node's data directory, where its cookie file is
    /// [default: the node's default for the network].
    #[arg(long, value_name = "DIR")]
    pub node_data: Option<PathBuf>,
}

impl WalletArgs {
    /// These options, each taken from `before` (given before the command) where
    /// they were left out after it.
    pub fn or(&self, before: &WalletArgs) -> WalletArgs {
        WalletArgs {
            network: self.network.or(before.network),
            wallet_dir: self
                .wallet_dir
                .clone()
                .or_else(|| before.wallet_dir.clone()),
            rpc: self.rpc.clone().or_else(|| before.rpc.clone()),
            rpc_cookie: self
                .rpc_cookie
                .clone()
                .or_else(|| before.rpc_cookie.clone()),
            node_data: self.node_data.clone().or_else(|| before.node_data.clone()),
        }
    }

    /// The flags given, as typed.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--network", self.network.is_some()),
            ("--wallet", self.wallet_dir.is_some()),
            ("--rpc", self.rpc.is_some()),
            ("--rpc-cookie", self.rpc_cookie.is_some()),
            ("--node-data", self.node_data.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// The commands. The wallet commands that never call the node accept the node
/// options (scripts pass one set of options to every command) without listing them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new wallet: prints its recovery words once, and a first address.
    #[command(
        mut_arg("rpc", |a| a.hide(true)),
        mut_arg("rpc_cookie", |a| a.hide(true)),
        mut_arg("node_data", |a| a.hide(true)),
    )]
    Create(WalletArgs),
    /// Restore a wallet from its recovery words (prompted, or read from standard
    /// input when it is not a terminal).
    Restore(WalletArgs),
    /// Show a receiving address.
    #[command(
        mut_arg("rpc", |a| a.hide(true)),
        mut_arg("rpc_cookie", |a| a.hide(true)),
        mut_arg("node_data", |a| a.hide(true)),
    )]
    Address(AddressArgs),
    /// Show the balance: confirmed (spendable), immature (coinbase not yet
    /// spendable), pending (unconfirmed).
    Balance(WalletArgs),
    /// Pay an address: build, sign and broadcast; prints the txid.
    Send(SendArgs),
    /// Publish up to 256 bytes on the chain in a data output (nothing burnt but the
    /// fee); prints the txid.
    Publish(PublishArgs),
    /// The wallet's transactions, newest first (amounts exclude the fee, which is
    /// shown apart).
    History(WalletArgs),
    /// Mine blocks paying this wallet (generatetoaddress; for local networks).
    Mine(MineArgs),
    /// Print the wallet's recovery words (asks for confirmation).
    #[command(
        mut_arg("rpc", |a| a.hide(true)),
        mut_arg("rpc_cookie", |a| a.hide(true)),
        mut_arg("node_data", |a| a.hide(true)),
    )]
    ExportMnemonic(ExportArgs),
    /// Work with transparency logs: hash entries, verify proofs, audit logs.
    #[command(subcommand)]
    Log(LogCommand),
    /// Run a local test network of chain-node processes with a funded wallet.
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// Names such as alice.id: register, update, transfer, renew, revoke, resolve.
    #[command(subcommand)]
    Name(NameCommand),
    /// Namespaces (the `id` of alice.id): launch one.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
}

/// `wallet namespace ...`.
#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// Launch a namespace: preorder (burning the namespace price), then reveal its
    /// terms once the preorder is deep enough, then make it ready. Waits for each
    /// step's block (mine them on a local network).
    Create(NamespaceCreateArgs),
}

/// Arguments of `wallet namespace create`.
#[derive(Debug, Args)]
pub struct NamespaceCreateArgs {
    /// The namespace id: 1 to 19 characters of a-z 0-9 - _.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Which wallet, which node.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// How many blocks a registration lasts.
    #[arg(long, value_name = "BLOCKS", default_value_t = 52_595)]
    pub lifetime: u32,
    /// Blocks after expiry in which only the owner may renew.
    #[arg(long, value_name = "BLOCKS", default_value_t = 144)]
    pub grace: u32,
    /// Price function: the base raised to each length bucket's exponent (6 5 4 3 2 1
    /// for lengths 1 to 6, 0 from 7).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub price_base: u8,
    /// Price function: the coefficient; price = max(100, coeff x base^e x 100 / discount) base units.
    #[arg(long, value_name = "N", default_value_t = 250)]
    pub price_coeff: u8,
    /// Price divisor for names with a digit, - or _ (1 to 15).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub nonalpha_discount: u8,
    /// Price divisor for names without a vowel (1 to 15).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub no_vowel_discount: u8,
}

/// `wallet name ...`. Names are owned by addresses. The wallet registers with its name
/// key (m/44'/1'/0'/2'/0'), whose address owns what it registers, and manages a name
/// owned by the address of any of its keys (its payment addresses too), signing with
/// that key; its coins pay the fees and prices, which are burned.
#[derive(Debug, Subcommand)]
pub enum NameCommand {
    /// What registering (or renewing) a name burns, and whether it is available.
    Price(NameArgs),
    /// Register a name: a preorder (burning its price), then the reveal once the
    /// preorder is deep enough. Waits for that block (mine it on a local network).
    /// The registration is kept in the wallet directory until its reveal is 3 blocks
    /// deep (regtest; 6 on testnet), so running the command again (or `wallet name
    /// list`) resumes it, and sends the preorder or the reveal again if a reorg took
    /// it away.
    Register(RegisterArgs),
    /// Point a name at a new zone file (its hash goes on chain, the file to the node).
    Update(UpdateArgs),
    /// Give a name to an address (`wallet address` on the receiving wallet prints one).
    Transfer(TransferArgs),
    /// Extend a name by its namespace's lifetime, burning its price again.
    Renew(NameArgs),
    /// Give a name up for good: nobody can use it until its grace period ends.
    Revoke(NameArgs),
    /// Show a name's owner, expiry and zone file; exit 1 when it does not exist or
    /// has expired.
    Resolve(ResolveArgs),
    /// The names this wallet's addresses own, with expiry, and its name address; warns
    /// about names close to expiry. Shows each registration the wallet keeps with its
    /// state, sending the reveal (again, after a reorg) when the preorder is deep
    /// enough, and forgets it once the reveal is buried or the name was lost.
    List(WalletArgs),
}

/// A command on one name.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The name, such as alice.id.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Which wallet, which node.
    #[command(flatten)]
    pub wallet: WalletArgs,
}

/// Arguments of `wallet name register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The name.
    #[command(flatten)]
    pub name: NameArgs,
    /// A zone file: its SHA-256 goes on chain with the registration, the file to the
    /// node (putzonefile).
    #[arg(long, value_name = "FILE")]
    pub zonefile: Option<PathBuf>,
    /// Send the preorder and return; the reveal waits in the wallet directory for
    /// `wallet name register NAME` or `wallet name list` once the preorder is deep
    /// enough.
    #[arg(long)]
    pub no_wait: bool,
}

/// Arguments of `wallet name update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The name.
    #[command(flatten)]
    pub name: NameArgs,
    /// The new zone file.
    #[arg(long, value_name = "FILE")]
    pub zonefile: PathBuf,
}

/// Arguments of `wallet name transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The name.
    #[command(flatten)]
    pub name: NameArgs,
    /// The new owner's address, of this wallet's network: any address the receiving
    /// wallet gives (`wallet address`, or the name address `wallet name list` prints).
    #[arg(long, value_name = "ADDR")]
    pub to: String,
}

/// Arguments of `wallet name resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The name.
    #[command(flatten)]
    pub name: NameArgs,
    /// Trust nothing from the node but the headers' proof of work: fetch every header
    /// from genesis and the name's proof, check both, and print the height proven
    /// against (a proof that does not verify exits 1 with `invalid: ...`).
    #[arg(long)]
    pub verify: bool,
}

/// `wallet testnet ...`.
#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Start regtest nodes peered on 127.0.0.1 (ports the system picks), mine 101
    /// blocks to a development wallet with no passphrase, print where everything is
    /// (also in DIR/testnet.json), and run until Ctrl-C or SIGTERM, which stops every
    /// node cleanly. Needs chain-node next to wallet or on PATH.
    Up(UpArgs),
}

/// Arguments of `wallet testnet up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// How many nodes (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nodes: u32,
    /// Where the nodes' data, their logs, the development wallet and testnet.json go
    /// [default: a new directory in the system's temporary directory]. Given again,
    /// the network starts again at its tip, with the same wallet.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Mine a block on node 1 whenever its mempool holds a transaction, as anvil does.
    #[arg(long, conflicts_with = "block_time")]
    pub automine: bool,
    /// Mine a block on node 1 every SECONDS.
    #[arg(long, value_name = "SECONDS")]
    pub block_time: Option<u64>,
}

/// Arguments of `wallet send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Which wallet, which node.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// The address to pay.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// The amount in coins, such as 1.5 (at most 8 decimals).
    #[arg(long, value_name = "COINS", allow_hyphen_values = true)]
    pub amount: String,
    /// Fee rate in base units per byte.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub fee_rate: u64,
}

/// Arguments of `wallet publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Which wallet, which node.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// The bytes to publish, in hex (1 to 256 bytes).
    #[arg(long, value_name = "HEX")]
    pub data_hex: String,
    /// Fee rate in base units per byte.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub fee_rate: u64,
}

/// Arguments of `wallet mine`.
#[derive(Debug, Args)]
pub struct MineArgs {
    /// Which wallet, which node.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// How many blocks.
    #[arg(value_name = "N")]
    pub blocks: u32,
}

/// Arguments of `wallet export-mnemonic`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which wallet.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// Confirm without a prompt: the words will be printed to standard output.
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `wallet address`.
#[derive(Debug, Args)]
pub struct AddressArgs {
    /// Which wallet.
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// Derive a fresh address instead of showing the newest one.
    #[arg(long)]
    pub new: bool,
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
    /// Fetch a log's checkpoint, verify its signature, print origin, size and root.
    Checkpoint(RemoteLogArgs),
    /// Fetch and verify an inclusion proof against the log's verified checkpoint.
    Prove(ProveArgs),
    /// One monitoring step: verify the log's new checkpoint is consistent with the
    /// one stored in the state file, then store it (exit 3 if it is not).
    Audit(AuditArgs),
    /// Offline: verify a c2sp.org/tlog-proof@v1 receipt for an entry.
    VerifyReceipt(VerifyReceiptArgs),
    /// Offline: verify a signed note or checkpoint (C2SP signed-note rules).
    VerifyNote(VerifyNoteArgs),
    /// Offline: verify an RFC 6962 get-sth answer with the log's public key.
    VerifySth(VerifySthArgs),
}

/// Where a log is and how to recognise it.
#[derive(Debug, Args)]
pub struct RemoteLogArgs {
    /// The log's base URL (its checkpoint is at URL/checkpoint).
    #[arg(long, value_name = "URL")]
    pub log: String,
    /// The log's verifier key (name+hex8+base64), or a file of keys one per line;
    /// repeatable.
    #[arg(
        long,
        value_name = "VKEY",
        required_unless_present = "policy",
        allow_hyphen_values = true
    )]
    pub vkey: Vec<String>,
    /// A C2SP tlog-policy file: accept a checkpoint only when its witnesses'
    /// cosignatures meet the policy's quorum (its `log` lines add log keys).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// Arguments of `wallet log prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The log and its key.
    #[command(flatten)]
    pub remote: RemoteLogArgs,
    /// The entry's index in the log.
    #[arg(
        long,
        value_name = "I",
        conflicts_with = "entry_file",
        required_unless_present = "entry_file"
    )]
    pub index: Option<u64>,
    /// A file holding the entry's exact bytes.
    #[arg(long, value_name = "F")]
    pub entry_file: Option<PathBuf>,
}

/// Arguments of `wallet log audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The log and its key.
    #[command(flatten)]
    pub remote: RemoteLogArgs,
    /// The file where the last verified checkpoint of each log is kept.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Also download every tile and entry bundle and recompute the root.
    #[arg(long)]
    pub full: bool,
    /// A chain node's JSON-RPC URL: also check the log against every anchor of its
    /// checkpoints on that chain (exit 3 for a split view or a rollback).
    #[arg(long, value_name = "URL", requires = "chain_cookie")]
    pub chain_rpc: Option<String>,
    /// The cookie file of the node at --chain-rpc (its data directory's .cookie).
    #[arg(long, value_name = "FILE", requires = "chain_rpc")]
    pub chain_cookie: Option<PathBuf>,
}

/// Arguments of `wallet log verify-receipt`.
#[derive(Debug, Args)]
pub struct VerifyReceiptArgs {
    /// The log's verifier key, or a file of keys; repeatable.
    #[arg(
        long,
        value_name = "VKEY",
        required_unless_present = "policy",
        allow_hyphen_values = true
    )]
    pub vkey: Vec<String>,
    /// A C2SP tlog-policy file: the receipt's checkpoint must meet its quorum.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A file holding the entry's exact bytes.
    #[arg(long, value_name = "F")]
    pub entry_file: PathBuf,
    /// The receipt file.
    #[arg(value_name = "RECEIPT")]
    pub receipt: PathBuf,
}

/// Arguments of `wallet log verify-note`.
#[derive(Debug, Args)]
pub struct VerifyNoteArgs {
    /// A verifier key, or a file of keys; repeatable. Signatures by other keys are
    /// ignored.
    #[arg(
        long,
        value_name = "VKEY",
        required_unless_present = "policy",
        allow_hyphen_values = true
    )]
    pub vkey: Vec<String>,
    /// A C2SP tlog-policy file: the note must be a checkpoint of one of its logs
    /// (or of a --vkey) whose cosignatures meet its quorum.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The signed note.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `wallet log verify-sth`.
#[derive(Debug, Args)]
pub struct VerifySthArgs {
    /// The get-sth JSON answer of an RFC 6962 log.
    #[arg(long, value_name = "FILE")]
    pub sth: PathBuf,
    /// The log's public key: SubjectPublicKeyInfo in PEM or DER (ECDSA P-256).
    #[arg(long, value_name = "FILE")]
    pub log_key: PathBuf,
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

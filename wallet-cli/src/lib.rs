//! The `wallet` command of the open-trust toolkit.
//!
//! It holds keys (BIP39 words, SLIP-0010 Ed25519 derivation, an encrypted keystore)
//! and audits transparency logs offline: it hashes entries as RFC 6962 leaves and
//! verifies inclusion and consistency proofs pasted from a log's API. Each
//! command parses its arguments into a typed request, runs it against the library
//! crates, and hands a [`output::Report`] to one printer that writes human text or,
//! with `--json`, one JSON object, and picks the exit code.
//!
//! Exit codes: 0 success, 1 a proof or signature is invalid or the operation
//! failed (nothing changed), 2 bad input, 3 a log contradicts its own past.

pub mod audit_state;
pub mod chain_cmds;
mod cli;
pub mod coins;
pub mod fsutil;
mod history;
pub mod http;
pub mod keys;
pub mod keystore;
mod log;
mod log_anchors;
mod log_audit;
pub mod log_client;
mod name_cmds;
pub mod name_follow;
pub mod name_lookup;
pub mod name_pending;
pub mod name_verify;
pub mod names;
pub mod output;
pub mod prompt;
pub mod rpc;
pub mod settings;
pub mod spend;
pub mod testnet;
pub mod wallet;

pub use cli::{Cli, Command, WalletArgs};
pub use wallet::Config;

use output::{Outcome, Report};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> std::process::ExitCode {
    let before = &cli.before;
    let report = match cli.command {
        Command::Log(cmd) => match before.given().as_slice() {
            [] => log::run(cmd),
            flags => Report::failed(
                Outcome::BadInput,
                format!(
                    "{} {} to the wallet commands, not to `wallet log`",
                    flags.join(", "),
                    if flags.len() == 1 { "applies" } else { "apply" }
                ),
            ),
        },
        Command::Testnet(cli::TestnetCommand::Up(args)) => match before.given().as_slice() {
            [] => Report::from_result(testnet::up(&args, &mut |ready| {
                output::print(ready, cli.json);
            })),
            flags => Report::failed(
                Outcome::BadInput,
                format!(
                    "{} {} to the wallet commands, not to `wallet testnet`: the network's wallet is DIR/wallet",
                    flags.join(", "),
                    if flags.len() == 1 { "applies" } else { "apply" }
                ),
            ),
        },
        Command::Create(w) => with_config(&w, before, wallet::create),
        Command::Restore(w) => with_config(&w, before, wallet::restore),
        Command::Address(args) => {
            with_config(&args.wallet, before, |cfg| wallet::address(cfg, &args))
        }
        Command::Balance(w) => with_config(&w, before, chain_cmds::balance),
        Command::Send(args) => {
            with_config(&args.wallet, before, |cfg| chain_cmds::send(cfg, &args))
        }
        Command::Publish(args) => {
            with_config(&args.wallet, before, |cfg| chain_cmds::publish(cfg, &args))
        }
        Command::History(w) => with_config(&w, before, history::history),
        Command::Mine(args) => {
            with_config(&args.wallet, before, |cfg| chain_cmds::mine(cfg, &args))
        }
        Command::Name(cmd) => {
            let wallet = match &cmd {
                cli::NameCommand::Price(a)
                | cli::NameCommand::Renew(a)
                | cli::NameCommand::Revoke(a) => &a.wallet,
                cli::NameCommand::Register(a) => &a.name.wallet,
                cli::NameCommand::Update(a) => &a.name.wallet,
                cli::NameCommand::Transfer(a) => &a.name.wallet,
                cli::NameCommand::Resolve(a) => &a.name.wallet,
                cli::NameCommand::List(w) => w,
            };
            with_config(wallet, before, |cfg| name_cmds::run(cfg, &cmd))
        }
        Command::Namespace(cli::NamespaceCommand::Create(args)) => {
            with_config(&args.wallet, before, |cfg| {
                name_cmds::namespace_create(cfg, &args)
            })
        }
        Command::ExportMnemonic(args) => with_config(&args.wallet, before, |cfg| {
            wallet::export_mnemonic(cfg, &args)
        }),
    };
    output::print(&report, cli.json)
}

/// Resolves the wallet options (after the command, else before it, else the
/// defaults) and runs a wallet command with them.
fn with_config(
    after: &cli::WalletArgs,
    before: &cli::WalletArgs,
    command: impl FnOnce(&Config) -> Result<Report, output::Failure>,
) -> Report {
    let result = Config::resolve(&after.or(before))
        .map_err(|e| (Outcome::BadInput, e))
        .and_then(|cfg| command(&cfg));
    Report::from_result(result)
}

//! The `wallet` command of the open-trust toolkit.
//!
//! Today it audits transparency logs offline: it hashes entries as RFC 6962 leaves
//! and verifies inclusion and consistency proofs pasted from a log's API. Each
//! command parses its arguments into a typed request, runs it against the library
//! crates, and hands a [`output::Report`] to one printer that writes human text or,
//! with `--json`, one JSON object, and picks the exit code.
//!
//! Exit codes: 0 success, 1 a proof or signature is invalid, 2 bad input.

mod cli;
pub mod keys;
pub mod keystore;
mod log;
pub mod output;

pub use cli::{Cli, Command};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> std::process::ExitCode {
    let report = match cli.command {
        Command::Log(cmd) => log::run(cmd),
    };
    output::print(&report, cli.json)
}

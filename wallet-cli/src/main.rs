//! The `wallet` command.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = wallet_cli::Cli::parse();
    wallet_cli::run(cli)
}

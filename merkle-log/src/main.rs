//! The `merkle-log` binary: parses the command line and calls the library.

mod cli;
mod witness_cmd;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use merkle_log::dedup::RebuildStage;
use merkle_log::{Log, LogConfig, keyfile, server};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("merkle-log: error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Keygen { origin, output } => {
            let signer = keyfile::generate(&origin)?;
            save_key(&output, "origin", &origin, signer.verifier(), |p| {
                keyfile::write_private_key(p, &signer)
            })
        }
        Command::Serve {
            data,
            key,
            listen,
            max_batch,
            witness_policy,
            receipt_wait,
        } => {
            let signer = keyfile::read_private_key(&key)?;
            let witnessing = witness_policy
                .map(|path| witness_cmd::witnessing(&path, signer.verifier(), receipt_wait))
                .transpose()?;
            let vkey = signer.verifier().to_string();
            let mut bar: Option<indicatif::ProgressBar> = None;
            let opened = Log::open_with_progress(&data, signer, LogConfig::default(), &mut |s| {
                if let RebuildStage::Indexed { done, total } = s
                    && total > 0
                {
                    let bar = bar.get_or_insert_with(|| progress_bar("rebuilding the dedup index"));
                    bar.set_length(total);
                    bar.set_position(done);
                }
            });
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let log = opened.with_context(|| format!("opening the log in {}", data.display()))?;
            if let Some(reason) = log.last_rebuild() {
                eprintln!("merkle-log: rebuilt the dedup index from the tiles: {reason}");
            }
            let size = log.published().checkpoint.size();
            let config = server::ServerConfig {
                max_batch,
                witnessing,
                ..server::ServerConfig::default()
            };
            serve_on(
                listen,
                |addr| format!("serving {vkey} (size {size}) on http://{addr}/"),
                |listener| server::run(log, listener, config, merkle_log::http::termination()),
            )
        }
        Command::Witness(command) => witness_cmd::run(command),
        Command::Fsck { data, json } => {
            let bar = progress_bar("fsck");
            let report = merkle_log::fsck::fsck(&data, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let report = report.context("fsck cannot open the data directory")?;
            if json {
                let damage: Vec<_> = report
                    .damage
                    .iter()
                    .map(|d| serde_json::json!({"path": d.path, "what": d.what}))
                    .collect();
                let v = serde_json::json!({
                    "clean": report.is_clean(),
                    "size": report.size,
                    "root": report.root.map(|r| r.to_hex()),
                    "entries_checked": report.entries_checked,
                    "tiles_checked": report.tiles_checked,
                    "damage": damage,
                });
                println!("{v}");
            } else if report.is_clean() {
                println!(
                    "ok: size {}, {} entries and {} tiles re-hashed, root {}",
                    report.size,
                    report.entries_checked,
                    report.tiles_checked,
                    report.root.map(|r| r.to_hex()).unwrap_or_default()
                );
            } else {
                for d in &report.damage {
                    println!("damaged: {}: {}", d.path, d.what);
                }
                eprintln!(
                    "merkle-log: {} damaged file(s); restore them from a backup or a mirror of the tiles",
                    report.damage.len()
                );
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Writes a new key with `write` and prints its verifier key, bare or as JSON
/// with its name and file.
#[allow(clippy::print_stdout)]
pub(crate) fn save_key(
    output: &cli::KeyOutput,
    name_field: &str,
    name: &str,
    vkey: &merkle_log::VerifierKey,
    write: impl FnOnce(&std::path::Path) -> Result<(), merkle_log::KeyFileError>,
) -> anyhow::Result<ExitCode> {
    write(&output.out).context("writing the private key (remove the old file to replace it)")?;
    if output.json {
        let v =
            serde_json::json!({name_field: name, "vkey": vkey.to_string(), "key_file": output.out});
        println!("{v}");
    } else {
        println!("{vkey}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a server on a runtime of two workers, on a listener bound to `listen`:
/// prints `listening on ADDR` on standard output and `describe(ADDR)` on
/// standard error, then serves until SIGINT or SIGTERM.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(crate) fn serve_on<F>(
    listen: std::net::SocketAddr,
    describe: impl FnOnce(std::net::SocketAddr) -> String,
    serve: impl FnOnce(tokio::net::TcpListener) -> F,
) -> anyhow::Result<ExitCode>
where
    F: std::future::Future<Output = Result<(), merkle_log::ServerError>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        println!("listening on {addr}");
        eprintln!("merkle-log: {}", describe(addr));
        serve(listener).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr counting entries.
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let template = format!("{what} {{bar:40}} {{pos}}/{{len}} entries ({{eta}} left)");
    indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

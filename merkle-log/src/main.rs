//! The `merkle-log` binary: parses the command line and calls the library.

mod cli;

use std::fmt::Display;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use clap::Parser as _;
use merkle_log::dedup::RebuildStage;
use merkle_log::http::Terminations;
use merkle_log::{Log, LogConfig, keyfile, server};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            err(format_args!("merkle-log: error: {e:#}"));
            ExitCode::from(2)
        }
    }
}

/// One line on standard output. A closed pipe (`| head`) ends the output quietly,
/// as Unix tools do: what was asked is done, and nobody reads the rest.
fn say(line: impl Display) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// One line on standard error, quietly as [`say`].
fn err(line: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `n` and the noun, singular for one.
fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Keygen { origin, out, json } => {
            let signer = keyfile::generate(&origin)?;
            keyfile::write_private_key(&out, &signer)
                .context("writing the private key (remove the old file to replace it)")?;
            let vkey = signer.verifier().to_string();
            if json {
                say(serde_json::json!({"origin": origin, "vkey": vkey, "key_file": out}));
            } else {
                say(vkey);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            data,
            key,
            listen,
            max_batch,
        } => {
            let signer = keyfile::read_private_key(&key)?;
            // The port before the directory: a start that cannot serve creates and
            // changes nothing.
            let listener = std::net::TcpListener::bind(listen)
                .with_context(|| format!("listening on {listen}"))?;
            listener.set_nonblocking(true)?;
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
                err(format_args!(
                    "merkle-log: rebuilt the dedup index from the tiles: {reason}"
                ));
            }
            let size = log.published().checkpoint.size();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let signal = Arc::new(OnceLock::new());
            let got = Arc::clone(&signal);
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let addr = listener.local_addr()?;
                // Watched before the server says it serves: an early Ctrl-C stops it
                // cleanly too.
                let mut signals = Terminations::watch();
                say(format_args!("listening on {addr}"));
                err(format_args!(
                    "merkle-log: serving {vkey} (size {size}) on http://{addr}/"
                ));
                let config = server::ServerConfig {
                    max_batch,
                    ..server::ServerConfig::default()
                };
                let shutdown = async move {
                    let _ = got.set(signals.next().await);
                };
                server::run(log, listener, config, shutdown).await?;
                anyhow::Ok(())
            })?;
            let why = signal.get().map_or("stopped", |s| s.name());
            err(format_args!(
                "merkle-log: stopped ({why}): no new requests, the entries in flight sequenced, every acknowledged entry durable in {}",
                data.display()
            ));
            Ok(ExitCode::SUCCESS)
        }
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
                say(serde_json::json!({
                    "clean": report.is_clean(),
                    "size": report.size,
                    "root": report.root.map(|r| r.to_hex()),
                    "entries_checked": report.entries_checked,
                    "tiles_checked": report.tiles_checked,
                    "damage": damage,
                }));
            } else if report.is_clean() {
                say(format_args!(
                    "ok: size {}, {} and {} re-hashed, root {}",
                    report.size,
                    count(report.entries_checked, "entry", "entries"),
                    count(report.tiles_checked, "tile", "tiles"),
                    report.root.map(|r| r.to_hex()).unwrap_or_default()
                ));
            } else {
                for d in &report.damage {
                    say(format_args!("damaged: {}: {}", d.path, d.what));
                }
                err(format_args!(
                    "merkle-log: {}; restore {} from a backup or a mirror of the tiles",
                    count(report.damage.len() as u64, "damaged file", "damaged files"),
                    if report.damage.len() == 1 {
                        "it"
                    } else {
                        "them"
                    }
                ));
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// A progress bar on stderr counting entries.
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let template = format!("{what} {{bar:40}} {{pos}}/{{len}} entries ({{eta}} left)");
    indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

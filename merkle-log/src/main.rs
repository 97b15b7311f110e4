//! The `merkle-log` binary: parses the command line and calls the library.

mod cli;
mod witness_cmd;

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
            anchor_rpc,
            anchor_cookie,
            anchor_wallet,
            anchor_every,
        } => {
            let signer = keyfile::read_private_key(&key)?;
            // The port before the directory: a start that cannot serve creates and
            // changes nothing.
            let listener = bind(listen)?;
            let witnessing = witness_policy
                .map(|path| witness_cmd::witnessing(&path, signer.verifier(), receipt_wait))
                .transpose()?;
            let anchoring = match (anchor_rpc, anchor_cookie, anchor_wallet, anchor_every) {
                (Some(url), Some(cookie), Some(wallet), Some(every)) => {
                    let mut a =
                        server::AnchoringConfig::new(&url, cookie, wallet, wallet_binary(), every);
                    a.notify = std::sync::Arc::new(|event| {
                        err(format_args!("merkle-log: anchoring: {event}"));
                    });
                    a.check()?;
                    Some(a)
                }
                _ => None,
            };
            let vkey = signer.verifier().to_string();
            let mut bar: Option<indicatif::ProgressBar> = None;
            let config = LogConfig {
                stop_after_wal_append: crash_point_after_wal_append(),
                ..LogConfig::default()
            };
            let opened = Log::open_with_progress(&data, signer, config, &mut |s| {
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
            let config = server::ServerConfig {
                max_batch,
                witnessing,
                anchoring,
                ..server::ServerConfig::default()
            };
            serve_on(
                listener,
                |addr| format!("serving {vkey} (size {size}) on http://{addr}/"),
                format!(
                    "no new requests, the entries in flight sequenced, every acknowledged entry durable in {}",
                    data.display()
                ),
                |listener, shutdown| server::run(log, listener, config, shutdown),
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
                say(serde_json::json!({
                    "clean": report.is_clean(),
                    "size": report.size,
                    "root": report.root.map(|r| r.to_hex()),
                    "entries_checked": report.entries_checked,
                    "tiles_checked": report.tiles_checked,
                    "damage": damage,
                    "wal_pending": report.wal_pending,
                    "wal_torn_at": report.wal_torn_at,
                }));
            } else if report.is_clean() {
                say(format_args!(
                    "ok: size {}, {} and {} re-hashed, root {}",
                    report.size,
                    count(report.entries_checked, "entry", "entries"),
                    count(report.tiles_checked, "tile", "tiles"),
                    report.root.map(|r| r.to_hex()).unwrap_or_default()
                ));
                if let Some(end) = report.wal_pending {
                    say(format_args!(
                        "the write-ahead log holds committed entries up to size {end}, past the \
                         checkpoint: `merkle-log serve` replays them into the files at start"
                    ));
                }
                if let Some(at) = report.wal_torn_at {
                    say(format_args!(
                        "the write-ahead log ends in a torn record at offset {at} (an append cut \
                         short by a crash, never acknowledged): `merkle-log serve` drops it at start"
                    ));
                }
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

/// Writes a new key with `write` and prints its verifier key, bare or as JSON
/// with its name and file.
pub(crate) fn save_key(
    output: &cli::KeyOutput,
    name_field: &str,
    name: &str,
    vkey: &merkle_log::VerifierKey,
    write: impl FnOnce(&std::path::Path) -> Result<(), merkle_log::KeyFileError>,
) -> anyhow::Result<ExitCode> {
    write(&output.out).context("writing the private key (remove the old file to replace it)")?;
    if output.json {
        say(
            serde_json::json!({name_field: name, "vkey": vkey.to_string(), "key_file": output.out}),
        );
    } else {
        say(vkey);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `wallet` binary that pays for anchors: next to this one, else on PATH.
fn wallet_binary() -> std::path::PathBuf {
    let name = format!("wallet{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(&name))
        .filter(|p| p.is_file());
    beside
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(&name))
                    .find(|p| p.is_file())
            })
        })
        .unwrap_or_else(|| std::path::PathBuf::from(name))
}

/// Binds `listen`, before anything else of a start is done.
pub(crate) fn bind(listen: std::net::SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener =
        std::net::TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves on `listener` with a runtime of two workers: prints `listening on ADDR` on
/// standard output and `describe(ADDR)` on standard error, serves until SIGINT or
/// SIGTERM (watched before it says it serves, so that an early Ctrl-C stops it
/// cleanly too), then says in one line that it stopped and `stopped`.
pub(crate) fn serve_on<F>(
    listener: std::net::TcpListener,
    describe: impl FnOnce(std::net::SocketAddr) -> String,
    stopped: String,
    serve: impl FnOnce(
        tokio::net::TcpListener,
        std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> F,
) -> anyhow::Result<ExitCode>
where
    F: std::future::Future<Output = Result<(), merkle_log::ServerError>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let signal = Arc::new(OnceLock::new());
    let got = Arc::clone(&signal);
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let mut signals = Terminations::watch();
        say(format_args!("listening on {addr}"));
        err(format_args!("merkle-log: {}", describe(addr)));
        let shutdown = Box::pin(async move {
            let _ = got.set(signals.next().await);
        });
        serve(listener, shutdown).await?;
        anyhow::Ok(())
    })?;
    let why = signal.get().map_or("stopped", |s| s.name());
    err(format_args!("merkle-log: stopped ({why}): {stopped}"));
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

/// The crash tests' stop after the first write-ahead log append:
/// `MERKLE_LOG_STOP_AFTER_WAL_APPEND=1`, read only in builds with the `crash-points`
/// feature (this crate's tests).
#[cfg(feature = "crash-points")]
fn crash_point_after_wal_append() -> bool {
    std::env::var_os("MERKLE_LOG_STOP_AFTER_WAL_APPEND").is_some_and(|v| v == "1")
}

#[cfg(not(feature = "crash-points"))]
fn crash_point_after_wal_append() -> bool {
    false
}

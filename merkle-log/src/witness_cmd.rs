//! `merkle-log witness keygen | serve`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use merkle_log::policy::MAX_POLICY_LEN;
use merkle_log::witness::{Witness, server};
use merkle_log::witnessing::WitnessingConfig;
use merkle_log::{Policy, VerifierKey, keyfile};

use crate::cli::WitnessCommand;

pub(crate) fn run(command: WitnessCommand) -> anyhow::Result<ExitCode> {
    match command {
        WitnessCommand::Keygen { name, output } => {
            let cosigner = keyfile::generate_cosigner(&name)?;
            crate::save_key(&output, "name", &name, cosigner.verifier(), |p| {
                keyfile::write_cosigner_key(p, &cosigner)
            })
        }
        WitnessCommand::Serve {
            key,
            data,
            listen,
            logs,
            abort_after_persist,
        } => {
            let cosigner = keyfile::read_cosigner_key(&key)?;
            // The port before the directory, as for the log.
            let listener = crate::bind(listen)?;
            let logs = logs
                .iter()
                .map(|k| {
                    k.parse::<VerifierKey>().with_context(|| {
                        format!("--log {k:?} (expected a verifier key name+hex8+base64)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let count = logs.len();
            let mut witness = Witness::open(&data, cosigner, logs)
                .with_context(|| format!("opening the witness state in {}", data.display()))?;
            if abort_after_persist {
                witness.set_after_persist(Box::new(|| std::process::abort()));
            }
            let vkey = witness.verifier().to_string();
            let witness = Arc::new(witness);
            crate::serve_on(
                listener,
                |addr| format!("witness {vkey} for {count} log key(s) on http://{addr}/"),
                format!("every head cosigned is durable in {}", data.display()),
                |listener, shutdown| {
                    server::run(
                        witness,
                        listener,
                        merkle_log::http::Limits::default(),
                        shutdown,
                    )
                },
            )
        }
    }
}

/// Reads `--witness-policy` and checks that the log of `log_key` can meet it.
pub(crate) fn witnessing(
    path: &std::path::Path,
    log_key: &VerifierKey,
    receipt_wait: u64,
) -> anyhow::Result<WitnessingConfig> {
    let what = || format!("witness policy {}", path.display());
    let len = std::fs::metadata(path).with_context(what)?.len();
    if len > MAX_POLICY_LEN as u64 {
        anyhow::bail!("{}: {len} bytes, more than {MAX_POLICY_LEN}", what());
    }
    let text = std::fs::read_to_string(path).with_context(what)?;
    let policy = Policy::parse(&text).with_context(what)?;
    let mut config = WitnessingConfig::new(policy);
    config.receipt_wait = std::time::Duration::from_secs(receipt_wait);
    config.check(log_key).with_context(what)?;
    Ok(config)
}

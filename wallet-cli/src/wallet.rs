//! The wallet commands: create, restore and address, and the unlocking that every
//! command paying to or counting a wallet key goes through.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chain_node::{Address, Network};
use serde_json::json;

use crate::cli::{AddressArgs, ExportArgs, NetworkArg, WalletArgs};
use crate::coins::{self, FetchError};
use crate::keys::{self, Account};
use crate::keystore::{KdfCost, Keystore, KeystoreError, MAX_KEYS, Unlocked};
use crate::output::{Failure, Report, bad, failed};
use crate::prompt;
use crate::rpc::{RpcClient, RpcError};
use crate::settings::Settings;

/// The wallet options of the command line, resolved against the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The chain network.
    pub network: Network,
    /// The wallet directory.
    pub wallet_dir: PathBuf,
    /// The node's JSON-RPC URL.
    pub rpc_url: String,
    /// The node's cookie file.
    pub cookie: PathBuf,
    /// The keystore is sealed with the empty passphrase (a regtest development
    /// wallet's `settings.json` says so): no command asks for one.
    pub empty_passphrase: bool,
}

/// The default RPC port of a network's node.
pub(crate) fn default_rpc_port(network: Network) -> u16 {
    match network {
        Network::Regtest => 18443,
        Network::Testnet => 18332,
    }
}

fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("open-trust"))
}

impl Config {
    /// Resolves the wallet options.
    ///
    /// Options given win; then the wallet directory's `settings.json`; then the
    /// defaults.
    ///
    /// # Errors
    /// When a default directory is needed and the system has no data directory, or
    /// the wallet's settings file cannot be read.
    pub fn resolve(args: &WalletArgs) -> Result<Config, String> {
        let network = match args.network {
            None | Some(NetworkArg::Regtest) => Network::Regtest,
            Some(NetworkArg::Testnet) => Network::Testnet,
        };
        let no_home = "this system has no user data directory; pass the directory explicitly";
        let wallet_dir = match &args.wallet_dir {
            Some(d) => d.clone(),
            None => data_dir()
                .ok_or(format!("{no_home} with --wallet DIR"))?
                .join(format!("wallet-{}", network.name())),
        };
        let settings = Settings::load(&wallet_dir)?;
        // The node's default data directory is $HOME/.chain-node/<network>.
        let cookie = match (&args.rpc_cookie, &args.node_data, &settings.cookie_file) {
            (Some(f), _, _) => f.clone(),
            (None, Some(d), _) => d.join(".cookie"),
            (None, None, Some(f)) => f.clone(),
            (None, None, None) => dirs::home_dir()
                .ok_or(format!("{no_home} with --node-data DIR"))?
                .join(".chain-node")
                .join(network.name())
                .join(".cookie"),
        };
        let rpc_url = args
            .rpc
            .clone()
            .or(settings.rpc_url)
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", default_rpc_port(network)));
        Ok(Config {
            network,
            wallet_dir,
            rpc_url,
            cookie,
            empty_passphrase: settings.empty_passphrase && network == Network::Regtest,
        })
    }
}

/// Opens the wallet of the configured network (nothing in it is trusted yet).
pub fn open(cfg: &Config) -> Result<Keystore, Failure> {
    let ks = Keystore::open(&cfg.wallet_dir).map_err(failed)?;
    if ks.network() != cfg.network.name() {
        return Err(failed(format!(
            "the wallet in {} belongs to {}; pass --network {}",
            cfg.wallet_dir.display(),
            ks.network(),
            ks.network()
        )));
    }
    Ok(ks)
}

/// Opens and unlocks the wallet: asks for the passphrase, checks every key against
/// the sealed words, and saves a version-1 keystore in the current format.
/// Every command that pays to or counts a wallet key goes through here.
pub fn unlock(cfg: &Config) -> Result<Unlocked, Failure> {
    if cfg.empty_passphrase && std::env::var_os(prompt::PASSPHRASE_ENV).is_none() {
        // A development wallet; if its keystore does not open so, ask as for any other.
        if let Ok(mut unlocked) = open(cfg)?.unlock("") {
            unlocked.save_upgrade().map_err(failed)?;
            return Ok(unlocked);
        }
    }
    let ks = open(cfg)?;
    let pass = prompt::passphrase(false).map_err(failed)?;
    let mut unlocked = ks.unlock(&pass).map_err(failed)?;
    unlocked.save_upgrade().map_err(failed)?;
    Ok(unlocked)
}

fn refuse_existing(cfg: &Config) -> Result<(), Failure> {
    match Keystore::open(&cfg.wallet_dir) {
        Err(KeystoreError::Missing { .. }) => Ok(()),
        _ => Err(failed(KeystoreError::Exists {
            dir: cfg.wallet_dir.clone(),
        })),
    }
}

/// Writes the keystore of a new or restored wallet, recording `key_count` keys.
fn seal(
    cfg: &Config,
    mnemonic: &bip39::Mnemonic,
    pass: &str,
    key_count: u32,
) -> Result<Unlocked, Failure> {
    Keystore::create(
        &cfg.wallet_dir,
        cfg.network.name(),
        mnemonic,
        pass,
        KdfCost::DEFAULT,
        key_count,
    )
    .map_err(failed)
}

/// `parts` joined in a string allocated once at its final size, so that no partial
/// copy of a secret among them is left behind by growing it.
fn joined(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// `wallet create`.
pub(crate) fn create(cfg: &Config) -> Result<Report, Failure> {
    refuse_existing(cfg)?;
    let pass = prompt::passphrase(true).map_err(failed)?;
    let mnemonic = keys::new_mnemonic().map_err(failed)?;
    let unlocked = seal(cfg, &mnemonic, &pass, 1)?;
    let address = unlocked.newest().address().encode(cfg.network);
    let words = unlocked.mnemonic();
    let head = format!(
        "Created a {} wallet in {}.\n\nRecovery words (write them down; they are shown only this once):\n\n  ",
        cfg.network.name(),
        cfg.wallet_dir.display()
    );
    Ok(Report::ok(
        joined(&[&head, words, "\n\nFirst address: ", &address]),
        json!({ "mnemonic": words, "address": address }),
    ))
}

/// `wallet restore`.
pub(crate) fn restore(cfg: &Config) -> Result<Report, Failure> {
    refuse_existing(cfg)?;
    let words = prompt::recovery_words().map_err(failed)?;
    let mnemonic = keys::parse_mnemonic(&words).map_err(|e| bad(e.to_string()))?;
    drop(words);
    let pass = prompt::passphrase(true).map_err(failed)?;
    // Find the keys the wallet used before, if the node can be asked, before
    // anything is written: a node that lies leaves no wallet behind.
    let account = Account::from_seed(&*keys::seed_of(&mnemonic), 0);
    let (count, found, note) = match discover(cfg, &account) {
        Ok(n) => (
            n,
            Some(n),
            format!(
                "{} found on the node",
                crate::output::count(u64::from(n), "used key", "used keys")
            ),
        ),
        Err(Discovery::Lied(f)) => return Err(f),
        Err(Discovery::Unasked(e)) => (
            1,
            None,
            format!(
                "the node could not be asked for used keys ({e}); run `wallet restore` again into an empty directory once it is up"
            ),
        ),
    };
    drop(account);
    let unlocked = seal(cfg, &mnemonic, &pass, count)?;
    let address = unlocked
        .keys()
        .first()
        .map(|k| k.address().encode(cfg.network))
        .unwrap_or_default();
    Ok(Report::ok(
        format!(
            "Restored a {} wallet in {}; {note}.\nFirst address: {address}",
            cfg.network.name(),
            cfg.wallet_dir.display()
        ),
        json!({ "address": address, "keys_found": found }),
    ))
}

/// How many unused keys in a row end the search for used ones (as BIP44's gap limit).
const GAP_LIMIT: u32 = 20;

/// Why discovery found nothing.
enum Discovery {
    /// The node could not be asked (no cookie, not running, refused the call).
    Unasked(RpcError),
    /// The node answered something that cannot be true.
    Lied(Failure),
}

/// How many keys the wallet should hold: every key up to the newest one that owns
/// coins on the node, looking `GAP_LIMIT` keys past each used one. Derives at most
/// `MAX_KEYS` keys, in batches of at least `GAP_LIMIT`, whatever the node says.
fn discover(cfg: &Config, account: &Account) -> Result<u32, Discovery> {
    let rpc = RpcClient::new(&cfg.rpc_url, &cfg.cookie).map_err(Discovery::Unasked)?;
    let mut asked = 0u32;
    let mut last_used: Option<u32> = None;
    loop {
        // Enough is known once GAP_LIMIT keys past the newest used one were asked.
        let needed = last_used.map_or(0, |u| u + 1) + GAP_LIMIT;
        if asked >= needed {
            break;
        }
        if needed > MAX_KEYS {
            return Err(Discovery::Lied(failed(format!(
                "the node reports key {} of this wallet as used, and a wallet holds at most {MAX_KEYS} keys (looking {GAP_LIMIT} past the newest used one); nothing was written: is the node at {} honest?",
                last_used.unwrap_or(0),
                cfg.rpc_url
            ))));
        }
        let end = needed.max(asked + GAP_LIMIT).min(MAX_KEYS);
        let batch: BTreeMap<Address, u32> = (asked..end)
            .map(|i| (Address::from_pubkey(&account.public_key(i)), i))
            .collect();
        let found = coins::fetch(&rpc, cfg.network, &batch).map_err(|e| match e {
            FetchError::Rpc(e) => Discovery::Unasked(e),
            FetchError::Answer(f) => Discovery::Lied(f),
        })?;
        keys::scrub_stack();
        if let Some(newest) = found.iter().map(|c| c.coin.key_index).max() {
            last_used = Some(last_used.map_or(newest, |u| u.max(newest)));
        }
        asked = end;
    }
    Ok(last_used.map_or(1, |u| u + 1))
}

/// `wallet address [--new]`. Unlocks the keystore either way, so the address shown
/// is checked against the sealed words before anyone pays to it.
pub(crate) fn address(cfg: &Config, args: &AddressArgs) -> Result<Report, Failure> {
    let mut unlocked = unlock(cfg)?;
    let key = if args.new {
        unlocked.add_key().map_err(failed)?
    } else {
        unlocked.newest()
    };
    let address = key.address().encode(cfg.network);
    Ok(Report::ok(
        address.clone(),
        json!({ "address": address, "index": key.index }),
    ))
}

/// `wallet export-mnemonic`: the words, after the passphrase and a confirmation.
pub(crate) fn export_mnemonic(cfg: &Config, args: &ExportArgs) -> Result<Report, Failure> {
    open(cfg)?;
    if !args.yes
        && !prompt::confirm(
            "Anyone who sees the recovery words can spend this wallet's coins. Print them? [y/N] ",
        )
        .map_err(failed)?
    {
        return Err(failed("not confirmed; nothing was printed"));
    }
    let unlocked = unlock(cfg)?;
    let words = unlocked.mnemonic();
    Ok(Report::ok(words, json!({ "mnemonic": words })))
}

//! The wallet commands: create, restore and address.

use std::path::PathBuf;

use chain_node::{Address, Network};
use serde_json::json;

use crate::cli::{AddressArgs, ExportArgs, GlobalArgs, NetworkArg};
use crate::keys;
use crate::keystore::{KdfCost, Keystore, KeystoreError, PublicKeyEntry};
use crate::output::{Failure, Report, bad, failed};
use crate::prompt;

/// The command line's global options, resolved against the defaults.
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
    /// Resolves the global options.
    ///
    /// # Errors
    /// When a default directory is needed and the system has no data directory.
    pub fn resolve(args: &GlobalArgs) -> Result<Config, String> {
        let network = match args.network {
            NetworkArg::Regtest => Network::Regtest,
            NetworkArg::Testnet => Network::Testnet,
        };
        let no_home = "this system has no user data directory; pass the directory explicitly";
        let wallet_dir = match &args.wallet_dir {
            Some(d) => d.clone(),
            None => data_dir()
                .ok_or(format!("{no_home} with --wallet DIR"))?
                .join(format!("wallet-{}", network.name())),
        };
        // The node's default data directory is $HOME/.chain-node/<network>.
        let cookie = match (&args.rpc_cookie, &args.node_data) {
            (Some(f), _) => f.clone(),
            (None, Some(d)) => d.join(".cookie"),
            (None, None) => dirs::home_dir()
                .ok_or(format!("{no_home} with --node-data DIR"))?
                .join(".chain-node")
                .join(network.name())
                .join(".cookie"),
        };
        let rpc_url = args
            .rpc
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", default_rpc_port(network)));
        Ok(Config {
            network,
            wallet_dir,
            rpc_url,
            cookie,
        })
    }
}

/// The address of a stored public key.
pub fn address_of(entry: &PublicKeyEntry) -> Result<Address, Failure> {
    let bytes: [u8; 32] = hex::decode(&entry.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            failed(format!(
                "stored public key {} is not 32 bytes of hex",
                entry.index
            ))
        })?;
    Ok(Address::from_pubkey(&bytes))
}

/// Opens the wallet of the configured network.
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

fn refuse_existing(cfg: &Config) -> Result<(), Failure> {
    match Keystore::open(&cfg.wallet_dir) {
        Err(KeystoreError::Missing { .. }) => Ok(()),
        _ => Err(failed(KeystoreError::Exists {
            dir: cfg.wallet_dir.clone(),
        })),
    }
}

fn first_address(ks: &Keystore, network: Network) -> Result<String, Failure> {
    let entry = ks
        .keys()
        .first()
        .ok_or_else(|| failed("the keystore holds no key"))?;
    Ok(address_of(entry)?.encode(network))
}

/// Writes the keystore of a new or restored wallet.
fn seal(cfg: &Config, mnemonic: &bip39::Mnemonic, pass: &str) -> Result<Keystore, Failure> {
    Keystore::create(
        &cfg.wallet_dir,
        cfg.network.name(),
        mnemonic,
        pass,
        KdfCost::DEFAULT,
    )
    .map_err(failed)
}

/// `wallet create`.
pub(crate) fn create(cfg: &Config) -> Result<Report, Failure> {
    refuse_existing(cfg)?;
    let pass = prompt::passphrase(true).map_err(failed)?;
    let mnemonic = keys::new_mnemonic().map_err(failed)?;
    let ks = seal(cfg, &mnemonic, &pass)?;
    let address = first_address(&ks, cfg.network)?;
    let words = mnemonic.to_string();
    Ok(Report::ok(
        format!(
            "Created a {} wallet in {}.\n\nRecovery words (write them down; they are shown only this once):\n\n  {words}\n\nFirst address: {address}",
            cfg.network.name(),
            cfg.wallet_dir.display()
        ),
        json!({ "mnemonic": words, "address": address }),
    ))
}

/// `wallet restore`.
pub(crate) fn restore(cfg: &Config) -> Result<Report, Failure> {
    refuse_existing(cfg)?;
    let words = prompt::recovery_words().map_err(failed)?;
    let mnemonic = keys::parse_mnemonic(&words).map_err(|e| bad(e.to_string()))?;
    let pass = prompt::passphrase(true).map_err(failed)?;
    let mut ks = seal(cfg, &mnemonic, &pass)?;
    let address = first_address(&ks, cfg.network)?;
    // Find the keys the wallet used before, if the node can be asked.
    let (found, note) = match discover(cfg, &mut ks, &pass) {
        Ok(n) => (Some(n), format!("{n} used key(s) found on the node")),
        Err((_, e)) => (
            None,
            format!(
                "the node could not be asked for used keys ({e}); run `wallet restore` again into an empty directory once it is up"
            ),
        ),
    };
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

/// Records every key up to the last one that owns coins on the node, looking
/// `GAP_LIMIT` keys past each used one. Returns how many keys the wallet now has.
fn discover(cfg: &Config, ks: &mut Keystore, pass: &str) -> Result<u32, Failure> {
    let rpc = crate::rpc::RpcClient::new(&cfg.rpc_url, &cfg.cookie).map_err(failed)?;
    let unlocked = ks.unlock(pass).map_err(failed)?;
    let address_at = |i: u32| {
        let vk = unlocked.key(i).signing_key().verifying_key();
        Address::from_pubkey(vk.as_bytes())
    };
    let mut last_used: Option<u32> = None;
    let mut start = 0u32;
    loop {
        let batch: Vec<(u32, Address)> = (start..start + GAP_LIMIT)
            .map(|i| (i, address_at(i)))
            .collect();
        let list: Vec<String> = batch.iter().map(|(_, a)| a.encode(cfg.network)).collect();
        let answer = rpc.call("getaddressutxos", json!([list])).map_err(failed)?;
        let used: Vec<&str> = answer
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.get("address")?.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let newest = batch
            .iter()
            .filter(|(_, a)| used.contains(&a.encode(cfg.network).as_str()))
            .map(|(i, _)| *i)
            .max();
        match newest {
            Some(i) => {
                last_used = Some(i);
                start = i + 1;
            }
            None => break,
        }
    }
    let have = u32::try_from(ks.keys().len()).unwrap_or(u32::MAX);
    for _ in have..=last_used.unwrap_or(0) {
        ks.add_key(&unlocked).map_err(failed)?;
    }
    Ok(u32::try_from(ks.keys().len()).unwrap_or(u32::MAX))
}

/// `wallet address [--new]`. Unlocks the keystore either way, so the address shown
/// is checked against the sealed words before anyone pays to it.
pub(crate) fn address(cfg: &Config, args: &AddressArgs) -> Result<Report, Failure> {
    let mut ks = open(cfg)?;
    let pass = prompt::passphrase(false).map_err(failed)?;
    let unlocked = ks.unlock(&pass).map_err(failed)?;
    let entry = if args.new {
        ks.add_key(&unlocked).map_err(failed)?
    } else {
        ks.keys()
            .last()
            .cloned()
            .ok_or_else(|| failed("the keystore holds no key"))?
    };
    let address = address_of(&entry)?.encode(cfg.network);
    Ok(Report::ok(
        address.clone(),
        json!({ "address": address, "index": entry.index }),
    ))
}

/// `wallet export-mnemonic`: the words, after the passphrase and a confirmation.
pub(crate) fn export_mnemonic(cfg: &Config, args: &ExportArgs) -> Result<Report, Failure> {
    let ks = open(cfg)?;
    if !args.yes
        && !prompt::confirm(
            "Anyone who sees the recovery words can spend this wallet's coins. Print them? [y/N] ",
        )
        .map_err(failed)?
    {
        return Err(failed("not confirmed; nothing was printed"));
    }
    let pass = prompt::passphrase(false).map_err(failed)?;
    let unlocked = ks.unlock(&pass).map_err(failed)?;
    let words = unlocked.mnemonic().to_string();
    Ok(Report::ok(words.clone(), json!({ "mnemonic": words })))
}

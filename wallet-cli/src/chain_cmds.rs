//! The commands that talk to the node: balance, mine and send.

use chain_node::{Address, Amount, BlockHash, COIN, MAX_BURN_DATA, MAX_MONEY};
use serde_json::json;

use crate::cli::{MineArgs, PublishArgs, SendArgs};
use crate::coins;
use crate::output::{Failure, failed};
use crate::output::{Report, bad};
use crate::rpc::RpcClient;
use crate::spend;
use crate::wallet::{Config, unlock};

pub(crate) fn rpc(cfg: &Config) -> Result<RpcClient, Failure> {
    RpcClient::new(&cfg.rpc_url, &cfg.cookie).map_err(failed)
}

/// Parses an amount of coins with at most 8 decimals ("12.5", "0.00000001") into
/// base units, exactly (no floating point).
///
/// # Errors
/// A message for anything else: signs, exponents, more decimals, zero, more than
/// the money supply.
pub fn parse_coins(text: &str) -> Result<Amount, String> {
    let err = || {
        format!(
            "--amount {text:?}: give coins as a decimal number with at most 8 decimals, such as 1.5"
        )
    };
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 8
        || whole.len() > 12
    {
        return Err(err());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err())?
    };
    let frac_units: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<8}").parse().map_err(|_| err())?
    };
    let units = whole
        .checked_mul(COIN)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(err)?;
    if units == 0 {
        return Err(format!(
            "--amount {text:?}: the amount must be more than zero"
        ));
    }
    if units > MAX_MONEY.units() {
        return Err(format!(
            "--amount {text:?}: more than all coins that can exist"
        ));
    }
    Ok(Amount::from_units(units))
}

/// Formats base units as coins with 8 decimals.
pub fn format_coins(units: u64) -> String {
    format_coins_wide(u128::from(units))
}

/// [`format_coins`] for sums that may pass `u64`.
pub(crate) fn format_coins_wide(units: u128) -> String {
    let coin = u128::from(COIN);
    format!("{}.{:08}", units / coin, units % coin)
}

/// Why a payment cannot be planned, in coins, with the amount as the user typed it.
fn spend_failure(e: &spend::SpendError, typed: &str) -> Failure {
    let typed = typed.trim();
    match *e {
        spend::SpendError::InsufficientFunds { needed, available } => {
            let amount = parse_coins(typed).map_or(0, |a| u128::from(a.units()));
            failed(format!(
                "insufficient funds: --amount {typed} and its fee ({}) need {} coins; {} coins are spendable",
                format_coins_wide(needed.saturating_sub(amount)),
                format_coins_wide(needed),
                format_coins(available)
            ))
        }
        spend::SpendError::Dust { dust, .. } => bad(format!(
            "--amount {typed} is below the dust limit of {} coins at this fee rate",
            format_coins(dust)
        )),
        spend::SpendError::FeeRate(_) => bad(e.to_string()),
        spend::SpendError::TooMuchMoney { .. } => failed(e),
    }
}

/// `wallet balance`: the node is found first, then the keystore is unlocked, so
/// that only keys checked against the sealed words are counted.
pub(crate) fn balance(cfg: &Config) -> Result<Report, Failure> {
    let rpc = rpc(cfg)?;
    let unlocked = unlock(cfg)?;
    let addrs = coins::addresses(&unlocked);
    let b = coins::balance(&coins::fetch(&rpc, cfg.network, &addrs)?)?;
    Ok(Report::ok(
        format!(
            "confirmed {}\nimmature  {}\npending   {}",
            format_coins(b.confirmed.units()),
            format_coins(b.immature.units()),
            format_coins(b.pending.units())
        ),
        json!({
            "confirmed": b.confirmed.units(),
            "immature": b.immature.units(),
            "pending": b.pending.units(),
        }),
    ))
}

/// `wallet mine N`: mines N blocks paying the wallet's newest key, checked against
/// the sealed words first.
pub(crate) fn mine(cfg: &Config, args: &MineArgs) -> Result<Report, Failure> {
    if args.blocks == 0 || args.blocks > 10_000 {
        return Err(bad("mine between 1 and 10000 blocks at a time"));
    }
    let rpc = rpc(cfg)?;
    let to = unlock(cfg)?.newest().address().encode(cfg.network);
    let answer = rpc
        .call("generatetoaddress", json!([args.blocks, to]))
        .map_err(failed)?;
    let blocks: Vec<String> = answer
        .as_array()
        .filter(|a| a.len() <= args.blocks as usize)
        .and_then(|a| {
            a.iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|s| s.parse::<BlockHash>().ok())
                        .map(|h| h.to_hex())
                })
                .collect()
        })
        .ok_or_else(|| {
            failed(format!(
                "the node's generatetoaddress answer is not a list of at most {} block hashes",
                args.blocks
            ))
        })?;
    Ok(Report::ok(
        format!(
            "mined {} block{} paying {to}; last {}",
            blocks.len(),
            if blocks.len() == 1 { "" } else { "s" },
            blocks.last().map_or("", String::as_str)
        ),
        json!({ "blocks": blocks, "address": to }),
    ))
}

/// Unlocks the wallet, plans a transaction over its spendable coins with `plan`
/// (given the coins and a fresh change address), signs it and broadcasts it;
/// returns the plan and the txid.
fn pay(
    cfg: &Config,
    plan: impl FnOnce(&[spend::Coin], Address) -> Result<spend::Payment, Failure>,
) -> Result<(spend::Payment, String), Failure> {
    let rpc = rpc(cfg)?;
    let mut unlocked = unlock(cfg)?;
    let spendable = spendable_coins(cfg, &rpc, &unlocked)?;
    pay_from(
        cfg,
        &rpc,
        &mut unlocked,
        Spend {
            coins: &spendable,
            plan,
            seal: |_: &mut spend::Payment| {},
            before_broadcast: |_: &chain_node::Transaction, _: &spend::Payment| Ok(()),
            extra_key: None,
        },
    )
}

/// The coins of the wallet's keys that the next block can spend.
///
/// # Errors
/// The node cannot be asked or its answer cannot be true.
pub(crate) fn spendable_coins(
    cfg: &Config,
    rpc: &RpcClient,
    unlocked: &crate::keystore::Unlocked,
) -> Result<Vec<spend::Coin>, Failure> {
    let addrs = coins::addresses(unlocked);
    Ok(coins::fetch(rpc, cfg.network, &addrs)?
        .into_iter()
        .filter(coins::WalletCoin::is_spendable)
        .map(|c| c.coin)
        .collect())
}

/// What [`pay_from`] spends and how.
pub(crate) struct Spend<'a, P, S, B> {
    /// The coins it may choose from.
    pub coins: &'a [spend::Coin],
    /// Plans the payment, given the coins and a fresh change address.
    pub plan: P,
    /// Finishes the planned payment before signing (same sizes: the fee stands).
    pub seal: S,
    /// Called with the signed transaction and the payment before the broadcast (to
    /// record what must survive it); an error stops the broadcast.
    pub before_broadcast: B,
    /// The key of inputs whose `key_index` is `u32::MAX` (a key outside the
    /// receiving chain).
    pub extra_key: Option<&'a ed25519_dalek::SigningKey>,
}

/// Plans with `spend.plan`, finishes with `spend.seal`, signs and broadcasts; the
/// change key is recorded first and forgotten again if the node refuses.
pub(crate) fn pay_from<P, S, B>(
    cfg: &Config,
    rpc: &RpcClient,
    unlocked: &mut crate::keystore::Unlocked,
    spend: Spend<'_, P, S, B>,
) -> Result<(spend::Payment, String), Failure>
where
    P: FnOnce(&[spend::Coin], Address) -> Result<spend::Payment, Failure>,
    S: FnOnce(&mut spend::Payment),
    B: FnOnce(&chain_node::Transaction, &spend::Payment) -> Result<(), Failure>,
{
    let change_key = unlocked.next_key().map_err(failed)?;
    let mut payment = (spend.plan)(spend.coins, change_key.address())?;
    (spend.seal)(&mut payment);
    let chain_id = cfg.network.params().genesis_hash();
    let tx = spend::sign(&payment, &chain_id, |i| match spend.extra_key {
        Some(k) if i == u32::MAX => k.clone(),
        _ => unlocked.signing_key(i),
    });
    crate::keys::scrub_stack();
    (spend.before_broadcast)(&tx, &payment)?;

    // The change key is recorded before the broadcast, so coins sent to it are
    // never unknown to the wallet; if the node refuses, it is forgotten again.
    if payment.change.is_some() {
        unlocked.record_key(change_key).map_err(failed)?;
    }
    let txid = match rpc.call("sendrawtransaction", json!([hex::encode(tx.to_bytes())])) {
        Ok(v) => v.as_str().unwrap_or_default().to_string(),
        Err(e) => {
            let forgot = match unlocked.forget_key(&change_key) {
                Ok(()) => String::new(),
                Err(f) => format!(" (and the unused change key stays recorded: {f})"),
            };
            return Err(failed(format!(
                "the node refused the transaction: {e}{forgot}"
            )));
        }
    };
    if txid != tx.txid().to_hex() {
        return Err(failed(format!(
            "the node reported txid {txid}, but the transaction's is {}",
            tx.txid()
        )));
    }
    Ok((payment, txid))
}

/// `wallet publish`: a transaction whose data output carries the given bytes
/// (amount zero: only the fee is paid), for anchoring and other public records.
pub(crate) fn publish(cfg: &Config, args: &PublishArgs) -> Result<Report, Failure> {
    let data = hex::decode(args.data_hex.trim())
        .map_err(|_| bad(format!("--data-hex {:?} is not hex", args.data_hex)))?;
    if data.is_empty() || data.len() > MAX_BURN_DATA {
        return Err(bad(format!(
            "--data-hex holds {} bytes; a data output carries 1 to {MAX_BURN_DATA}",
            data.len()
        )));
    }
    let (payment, txid) = pay(cfg, |coins, change_to| {
        spend::plan_data(coins, data.clone(), change_to, args.fee_rate).map_err(|e| match e {
            spend::SpendError::InsufficientFunds { needed, available } => failed(format!(
                "insufficient funds: the fee needs {} coins; {} coins are spendable",
                format_coins_wide(needed),
                format_coins(available)
            )),
            spend::SpendError::FeeRate(_) => bad(e.to_string()),
            e => failed(e),
        })
    })?;
    let fee = payment.fee.units();
    Ok(Report::ok(
        format!(
            "published {} bytes (fee {}); txid {txid}",
            data.len(),
            format_coins(fee)
        ),
        json!({
            "txid": txid,
            "fee": fee,
            "data": hex::encode(&data),
            "change": payment.change.map(Amount::units),
        }),
    ))
}

/// `wallet send`: builds, signs and broadcasts a payment.
/// Parses a `--to` address of the wallet's network.
///
/// # Errors
/// Exit 2 with the reason (a bad checksum, another network's prefix, a wrong length),
/// naming this network's prefix to someone who did not type it.
pub(crate) fn parse_to(text: &str, cfg: &Config) -> Result<Address, Failure> {
    Address::parse(text.trim(), cfg.network).map_err(|e| {
        // The prefix is named only to someone who did not type it.
        let prefix = format!("{}1", cfg.network.address_prefix());
        let hint = if text.trim().starts_with(&prefix) {
            String::new()
        } else {
            format!(" (a {} address starts with {prefix})", cfg.network.name())
        };
        bad(format!("--to {text:?}: {e}{hint}"))
    })
}

pub(crate) fn send(cfg: &Config, args: &SendArgs) -> Result<Report, Failure> {
    // Everything that can be checked offline is checked first.
    let to = parse_to(&args.to, cfg)?;
    let amount = parse_coins(&args.amount).map_err(bad)?;
    let (payment, txid) = pay(cfg, |coins, change_to| {
        spend::plan(coins, to, amount, change_to, args.fee_rate)
            .map_err(|e| spend_failure(&e, &args.amount))
    })?;
    let fee = payment.fee.units();
    Ok(Report::ok(
        format!(
            "sent {} to {} (fee {}); txid {txid}",
            format_coins(amount.units()),
            args.to.trim(),
            format_coins(fee)
        ),
        json!({
            "txid": txid,
            "fee": fee,
            "amount": amount.units(),
            "change": payment.change.map(Amount::units),
        }),
    ))
}

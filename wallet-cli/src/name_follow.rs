//! Following the registrations the wallet started until they are final: each entry of
//! `names-pending.json` is looked at against the node whenever a `wallet name register`
//! or `wallet name list` runs, and the wallet does what the chain now asks.
//!
//! - The reveal is [`final_depth`] deep on the active chain: the entry is forgotten.
//! - The reveal is in the node's pool or shallower: the wallet keeps waiting.
//! - The reveal left the chain (a reorg) and the pool: once the preorder is confirmed
//!   (again) and within its window (`preorder_min_depth` to `preorder_max_age`), the
//!   same signed registration is sent again in a new transaction, one more of the
//!   wallet's coins paying its fee (peers that turned the first one away as an early
//!   reveal remember its id for a while), or the same transaction when no new one can
//!   be made. Whichever of the reveals sent is mined registers the name, and the wallet
//!   recognises each (ADR 0041).
//! - The preorder left the chain and the pool too: the signed preorder is sent again
//!   (what it burns was never burned on this chain).
//! - The name was taken meanwhile, the preorder is too old, or the node refuses the
//!   preorder again: the entry is forgotten and the reason said.
//!
//! The reveal's txid and signed bytes are recorded before it is broadcast, so that a
//! crash never leaves a reveal the wallet does not know it sent.

use chain_node::Network;
use naming::{Name, Operation, Salt, ZoneFileHash};
use serde_json::{Value, json};

use crate::coins::WalletCoin;
use crate::name_pending::{MAX_EARLIER_REVEALS, Pending, PendingStore};
use crate::names::{OWNER_KEY_INDEX, Session, at};
use crate::output::{Failure, failed};
use crate::rpc::RpcError;

/// JSON-RPC "not found" (Bitcoin Core's `RPC_INVALID_ADDRESS_OR_KEY`).
const NOT_FOUND: i64 = -5;

/// Confirmations of its reveal after which the wallet forgets a registration's salt.
///
/// A reorg deeper than this could still take the name away, and nothing could reveal
/// it again. Testnet: 6, the depth at which Bitcoin wallets call a payment settled (a
/// reorg of six blocks takes most of the hash power for an hour); it is also testnet's
/// `preorder_min_depth`. Regtest: 3: blocks come when someone asks, and the reorgs a
/// local network sees are the ones its users make (the README's partition takes two
/// blocks away), so three outlast them while a flow still ends in a few blocks.
pub fn final_depth(network: Network) -> u64 {
    match network {
        Network::Regtest => 3,
        Network::Testnet => 6,
    }
}

/// Where a kept registration stands after one look at the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// The preorder waits for depth: `confirmations` of the `needed` (0: in the pool).
    Preordered {
        /// The preorder's confirmations.
        confirmations: u32,
        /// `preorder_min_depth`.
        needed: u32,
    },
    /// Neither the chain nor the node's pool held the preorder (a reorg, or a node that
    /// never saw it); it was sent again.
    PreorderSentAgain,
    /// The reveal was sent now, for the first time.
    RevealSent {
        /// [`final_depth`].
        needed: u64,
        /// About the zone file's upload.
        warning: Option<String>,
    },
    /// The reveal had left the chain and the pool in a reorg, the preorder being
    /// confirmed again: it was sent again, the same signed registration in a new
    /// transaction (`new_tx`), or the same transaction when the wallet had no coin to
    /// make a new one.
    RevealSentAgain {
        /// A new transaction carries it.
        new_tx: bool,
        /// [`final_depth`].
        needed: u64,
        /// About the zone file's upload.
        warning: Option<String>,
    },
    /// The reveal is in the node's pool (0) or mined, not yet final.
    Revealed {
        /// The reveal's confirmations on the active chain.
        confirmations: u64,
        /// [`final_depth`].
        needed: u64,
    },
    /// A reorg took the reveal away; the preorder is back in the pool or not deep
    /// enough yet: the reveal goes again once it is.
    RevealGone {
        /// The preorder's confirmations.
        confirmations: u32,
        /// `preorder_min_depth`.
        needed: u32,
    },
    /// The reveal is final: the entry is forgotten.
    Final {
        /// The reveal's confirmations.
        confirmations: u64,
    },
    /// The registration cannot succeed any more: the entry is forgotten.
    Dropped {
        /// Why, for people.
        reason: String,
    },
}

/// One kept registration and where it stands.
#[derive(Clone, Debug)]
pub struct Followed {
    /// The name.
    pub name: String,
    /// The preorder's txid.
    pub preorder_txid: String,
    /// The reveal's txid, once sent.
    pub reveal_txid: Option<String>,
    /// How many times the preorder or the reveal was sent again after leaving the chain.
    pub sent_again: u32,
    /// Where it stands.
    pub state: State,
}

impl Followed {
    /// Whether the wallet still keeps the entry.
    pub fn kept(&self) -> bool {
        !matches!(self.state, State::Final { .. } | State::Dropped { .. })
    }

    /// Whether a preorder or a reveal was sent by this look.
    pub fn sent(&self) -> bool {
        matches!(
            self.state,
            State::PreorderSentAgain | State::RevealSent { .. } | State::RevealSentAgain { .. }
        )
    }

    /// The state's name in `--json` output.
    pub fn code(&self) -> &'static str {
        match self.state {
            State::Preordered { .. } => "preordered",
            State::PreorderSentAgain => "preorder-sent-again",
            State::RevealSent { .. } => "reveal-sent",
            State::RevealSentAgain { .. } => "reveal-sent-again",
            State::Revealed { .. } => "revealed",
            State::RevealGone { .. } => "reveal-gone",
            State::Final { .. } => "final",
            State::Dropped { .. } => "dropped",
        }
    }

    /// The state for people, without the name.
    pub fn describe(&self) -> String {
        let reveal = self.reveal_txid.as_deref().unwrap_or("?");
        let pre = &self.preorder_txid;
        let blocks = |n: u64| if n == 1 { "block" } else { "blocks" };
        match &self.state {
            State::Preordered {
                confirmations,
                needed,
            } => format!(
                "preordered (txid {pre}), reveal pending: the preorder is {confirmations} of {needed} {} deep",
                blocks(u64::from(*needed))
            ),
            State::PreorderSentAgain => format!(
                "preorder sent again (txid {pre}): neither the chain nor the node's pool held it; the reveal follows once it is deep enough"
            ),
            State::RevealSent { needed, .. } => {
                format!("revealed (txid {reveal}), waiting for {needed} confirmations")
            }
            State::RevealSentAgain { new_tx, needed, .. } => format!(
                "reveal sent again after a reorg (txid {reveal}, {}), waiting for {needed} confirmations",
                if *new_tx {
                    "the same signed registration in a new transaction"
                } else {
                    "the same transaction"
                }
            ),
            State::Revealed {
                confirmations,
                needed,
            } => format!(
                "revealed (txid {reveal}{}), waiting for {needed} confirmations: {confirmations} so far",
                if self.sent_again > 0 {
                    ", sent again after a reorg"
                } else {
                    ""
                }
            ),
            State::RevealGone {
                confirmations,
                needed,
            } => format!(
                "a reorg took the reveal away: it goes again once the preorder (txid {pre}) is {needed} {} deep ({confirmations} so far)",
                blocks(u64::from(*needed))
            ),
            State::Final { confirmations } => format!(
                "registered: the reveal (txid {reveal}) is {confirmations} blocks deep; no longer kept"
            ),
            State::Dropped { reason } => format!("dropped: {reason}"),
        }
    }

    /// The fields of `--json` output.
    pub fn json(&self) -> Value {
        let (confirmations, needed) = match &self.state {
            State::Preordered {
                confirmations,
                needed,
            }
            | State::RevealGone {
                confirmations,
                needed,
            } => (json!(confirmations), json!(needed)),
            State::Revealed {
                confirmations,
                needed,
            } => (json!(confirmations), json!(needed)),
            State::RevealSent { needed, .. } | State::RevealSentAgain { needed, .. } => {
                (json!(0), json!(needed))
            }
            State::Final { confirmations } => (json!(confirmations), Value::Null),
            _ => (Value::Null, Value::Null),
        };
        let warning = match &self.state {
            State::RevealSent { warning, .. } | State::RevealSentAgain { warning, .. } => {
                json!(warning)
            }
            _ => Value::Null,
        };
        json!({
            "name": self.name,
            "state": self.code(),
            "preorder_txid": self.preorder_txid,
            "reveal_txid": self.reveal_txid,
            "confirmations": confirmations,
            "needed": needed,
            "sent_again": self.sent_again,
            "new_tx": matches!(self.state, State::RevealSentAgain { new_tx: true, .. }),
            "warning": warning,
            "message": self.describe(),
        })
    }
}

/// A kept registration that could not be looked at: its name and why.
pub type Unfollowed = (String, Failure);

/// Looks at every kept registration but `except`'s, without waiting. An entry that
/// could not be looked at (the node cannot be asked) is an [`Unfollowed`] and stays
/// as it was.
pub fn follow_all(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    except: Option<&str>,
) -> Vec<Result<Followed, Unfollowed>> {
    let mut out = Vec::new();
    for entry in store.entries().to_vec() {
        if except == Some(entry.name.as_str()) {
            continue;
        }
        out.push(follow(s, store, &entry).map_err(|e| (entry.name.clone(), e)));
    }
    out
}

/// Looks at one kept registration, does what it needs now (no waiting), and records
/// the result: a forgotten entry is removed from `store`.
///
/// # Errors
/// The node cannot be asked, or refused a call that an entry does not depend on; the
/// entry stays as it was.
pub fn follow(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    entry: &Pending,
) -> Result<Followed, Failure> {
    let name: Name = entry.name.parse().map_err(|e| {
        failed(format!(
            "the pending name {:?} is damaged ({e}); remove it from the pending file",
            entry.name
        ))
    })?;
    let state = match entry.reveal_txid.clone() {
        Some(reveal) => after_reveal(s, store, &name, entry, &reveal)?,
        None => before_reveal(s, store, &name, entry)?,
    };
    let now = store
        .get(&entry.name)
        .cloned()
        .unwrap_or_else(|| entry.clone());
    if matches!(state, State::Final { .. } | State::Dropped { .. }) {
        store.remove(&entry.name).map_err(failed)?;
    }
    Ok(Followed {
        name: entry.name.clone(),
        preorder_txid: now.preorder_txid,
        reveal_txid: now.reveal_txid,
        sent_again: now.sent_again,
        state,
    })
}

/// No reveal sent yet: send it when the preorder is deep enough.
fn before_reveal(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    name: &Name,
    entry: &Pending,
) -> Result<State, Failure> {
    let Some(coin) = preorder_coin(s, entry)? else {
        return preorder_again(s, store, name, entry);
    };
    if let Some(state) = out_of_window(
        s,
        name,
        &coin,
        State::Preordered {
            confirmations: coin.confirmations,
            needed: s.params.preorder_min_depth,
        },
    )? {
        return Ok(state);
    }
    let warning = send_reveal(s, store, name, entry, coin, None)?;
    Ok(State::RevealSent {
        needed: final_depth(s.node.cfg.network),
        warning,
    })
}

/// The reveal was sent: find it (or an earlier one) on the chain or in the pool, else
/// send it again.
fn after_reveal(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    name: &Name,
    entry: &Pending,
    reveal: &str,
) -> Result<State, Failure> {
    let needed = final_depth(s.node.cfg.network);
    let candidates: Vec<&str> = std::iter::once(reveal)
        .chain(entry.earlier_reveals.iter().map(String::as_str))
        .collect();
    for txid in &candidates {
        if in_pool(s, txid)? {
            adopt(store, entry, txid)?;
            return Ok(State::Revealed {
                confirmations: 0,
                needed,
            });
        }
    }
    if let Some((txid, confirmations)) = reveal_confirmations(s, name, entry, &candidates)? {
        adopt(store, entry, &txid)?;
        return Ok(if confirmations >= needed {
            State::Final { confirmations }
        } else {
            State::Revealed {
                confirmations,
                needed,
            }
        });
    }
    // The reveal left the chain and the pool.
    let Some(coin) = preorder_coin(s, entry)? else {
        return preorder_again(s, store, name, entry);
    };
    if let Some(state) = out_of_window(
        s,
        name,
        &coin,
        State::RevealGone {
            confirmations: coin.confirmations,
            needed: s.params.preorder_min_depth,
        },
    )? {
        return Ok(state);
    }
    let mut again = with_preorder_block(s, entry, &coin)?;
    again.sent_again = again.sent_again.saturating_add(1);
    // First a new transaction around the same signed registration (it signs the
    // preorder's output, the first input, again), one more of the wallet's coins paying
    // its fee: peers that turned the first one away as an early reveal remember its id
    // for a while and would drop the same bytes unseen.
    let extra = s
        .spendable_coins()?
        .into_iter()
        .max_by(|a, b| a.amount.cmp(&b.amount).then(b.outpoint.cmp(&a.outpoint)));
    if let Some(extra) = extra
        && let Ok(warning) = send_reveal(s, store, name, &again, coin.clone(), Some(extra))
    {
        return Ok(State::RevealSentAgain {
            new_tx: true,
            needed,
            warning,
        });
    }
    // Then the same transaction.
    if let Some(tx) = &entry.reveal_tx
        && send_raw(s, tx)?.is_ok()
    {
        store.put(again).map_err(failed)?;
        return Ok(State::RevealSentAgain {
            new_tx: false,
            needed,
            warning: upload(s, entry),
        });
    }
    // Last, one made as the first was (the same when nothing it spends changed).
    let warning = send_reveal(s, store, name, &again, coin, None)?;
    let new_tx = store
        .get(&entry.name)
        .is_some_and(|e| e.reveal_txid.as_deref() != Some(reveal));
    Ok(State::RevealSentAgain {
        new_tx,
        needed,
        warning,
    })
}

/// Makes `txid`, found in the pool or on the chain, the entry's reveal (an earlier
/// reveal was mined rather than the last one sent).
fn adopt(store: &mut PendingStore, entry: &Pending, txid: &str) -> Result<(), Failure> {
    if entry.reveal_txid.as_deref() == Some(txid) {
        return Ok(());
    }
    let mut found = entry.clone();
    found.earlier_reveals.retain(|t| t != txid);
    if let Some(last) = found.reveal_txid.take() {
        found.earlier_reveals.push(last);
    }
    found.reveal_txid = Some(txid.to_owned());
    found.reveal_tx = None;
    store.put(found).map_err(failed)
}

/// `waiting` while the preorder (`coin`) is not deep enough for a reveal; a dropped
/// registration when it is too old or the name was taken; `None` when the reveal may go.
fn out_of_window(
    s: &Session<'_>,
    name: &Name,
    coin: &WalletCoin,
    waiting: State,
) -> Result<Option<State>, Failure> {
    let (min, max_age) = (s.params.preorder_min_depth, s.params.preorder_max_age);
    if coin.spent_by.is_some() {
        return Err(failed(format!(
            "the preorder output of {name} is spent by {} in the node's pool, a transaction this wallet did not record",
            coin.spent_by.as_deref().unwrap_or("?")
        )));
    }
    if coin.confirmations < min {
        return Ok(Some(waiting));
    }
    if coin.confirmations > max_age {
        return Ok(Some(State::Dropped {
            reason: format!(
                "the preorder of {name} is {} blocks old, past the {max_age} a reveal allows; its burn is lost; register again",
                coin.confirmations
            ),
        }));
    }
    if let Some(owner) = taken(s, name)? {
        return Ok(Some(State::Dropped {
            reason: format!(
                "{name} was taken by another owner ({owner}) before the reveal; the preorder's burn is lost"
            ),
        }));
    }
    Ok(None)
}

/// The preorder's output among the name key's coins (confirmed or in the pool), with
/// the key index that signs for it; `None` when the node knows no such unspent output.
fn preorder_coin(s: &Session<'_>, entry: &Pending) -> Result<Option<WalletCoin>, Failure> {
    Ok(
        s.preorder_output(&entry.preorder_txid, entry.preorder_vout)?
            .map(|mut c| {
                c.coin.key_index = OWNER_KEY_INDEX;
                c
            }),
    )
}

/// The preorder left the chain and the pool: send it again unless the name was taken
/// meanwhile; a registration the node refuses is dropped.
fn preorder_again(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    name: &Name,
    entry: &Pending,
) -> Result<State, Failure> {
    let pre = &entry.preorder_txid;
    if let Some(owner) = taken(s, name)? {
        return Ok(State::Dropped {
            reason: format!(
                "{name} was taken by another owner ({owner}) while the preorder {pre} was off the chain; it is not sent again"
            ),
        });
    }
    let info = s.call("getblockchaininfo", json!([]))?;
    if *at(&info, "initialblockdownload") == json!(true) {
        return Err(failed(format!(
            "the preorder {pre} of {name} is neither on the chain nor in the pool of a node that is still syncing (block {} of {}); the registration stays kept",
            at(&info, "blocks"),
            at(&info, "headers")
        )));
    }
    let Some(tx) = &entry.preorder_tx else {
        return Ok(State::Dropped {
            reason: format!(
                "the preorder {pre} of {name} is neither on the chain nor in the node's pool, and this entry (from an older wallet) keeps no copy of it; register again"
            ),
        });
    };
    match send_raw(s, tx)? {
        Ok(()) => {
            let mut again = entry.clone();
            again.sent_again = again.sent_again.saturating_add(1);
            store.put(again).map_err(failed)?;
            Ok(State::PreorderSentAgain)
        }
        Err(why) => Ok(State::Dropped {
            reason: format!(
                "the preorder {pre} of {name} is neither on the chain nor in the node's pool, and the node refused it again ({why}): its coins went elsewhere, so its burn did not happen on this chain; register again"
            ),
        }),
    }
}

/// The owner of `name` when it is registered and not expired.
fn taken(s: &Session<'_>, name: &Name) -> Result<Option<String>, Failure> {
    Ok(s.name_info(name)?
        .filter(|info| at(info, "status") != "expired")
        .map(|info| at(&info, "owner").as_str().unwrap_or("?").to_owned()))
}

/// Which of `reveals` is on the node's active chain, with its confirmations.
///
/// First the block at the name record's `registered_at`; a name that changed hands
/// since (expired and registered again, say) no longer points there, so then the
/// blocks where a reveal of the entry's preorder can be by consensus
/// (`preorder_min_depth` to `preorder_max_age` above it), while the preorder's block is
/// still on the active chain.
fn reveal_confirmations(
    s: &Session<'_>,
    name: &Name,
    entry: &Pending,
    reveals: &[&str],
) -> Result<Option<(String, u64)>, Failure> {
    let tip = s
        .call("getblockcount", json!([]))?
        .as_u64()
        .ok_or_else(|| failed("the node's getblockcount answer is not a height"))?;
    let depth = |h: u64| tip.saturating_sub(h) + 1;
    if let Some(info) = s.name_info(name)?
        && let Some(registered) = at(&info, "registered_at").as_u64()
        && registered <= tip
        && let Some(txid) = block_holds(s, registered, reveals)?
    {
        return Ok(Some((txid, depth(registered))));
    }
    let (Some(h), Some(hash)) = (entry.preorder_height, &entry.preorder_block) else {
        return Ok(None);
    };
    if h > tip || s.call("getblockhash", json!([h]))?.as_str() != Some(hash) {
        return Ok(None);
    }
    let first = h.saturating_add(u64::from(s.params.preorder_min_depth));
    let last = h
        .saturating_add(u64::from(s.params.preorder_max_age))
        .min(tip);
    for r in first..=last {
        if let Some(txid) = block_holds(s, r, reveals)? {
            return Ok(Some((txid, depth(r))));
        }
    }
    Ok(None)
}

/// Which of `txids` the active chain's block at `height` holds.
fn block_holds(s: &Session<'_>, height: u64, txids: &[&str]) -> Result<Option<String>, Failure> {
    let hash = s.call("getblockhash", json!([height]))?;
    let block = s.call("getblock", json!([hash, 1]))?;
    Ok(at(&block, "tx").as_array().and_then(|txs| {
        txs.iter()
            .filter_map(Value::as_str)
            .find(|t| txids.contains(t))
            .map(str::to_owned)
    }))
}

/// Whether the node's pool holds `txid`.
fn in_pool(s: &Session<'_>, txid: &str) -> Result<bool, Failure> {
    match s.node.rpc.call("getrawtransaction", json!([txid])) {
        Ok(_) => Ok(true),
        Err(RpcError::Node {
            code: NOT_FOUND, ..
        }) => Ok(false),
        Err(e) => Err(failed(e)),
    }
}

/// `sendrawtransaction` of a signed transaction in hex: `Ok(Err(reason))` when the node
/// refuses it.
///
/// # Errors
/// The node cannot be asked.
fn send_raw(s: &Session<'_>, tx: &str) -> Result<Result<(), String>, Failure> {
    match s.node.rpc.call("sendrawtransaction", json!([tx])) {
        Ok(_) => Ok(Ok(())),
        Err(RpcError::Node { code, message }) => Ok(Err(format!("node error {code}: {message}"))),
        Err(e) => Err(failed(e)),
    }
}

/// Signs and sends the reveal of `entry` spending `coin` (the preorder's output), and
/// `extra` when given, first. The entry with the reveal's txid and bytes is on disk
/// before the broadcast, and as it was again if the node refuses. Returns a warning
/// about the zone file's upload.
fn send_reveal(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    name: &Name,
    entry: &Pending,
    coin: WalletCoin,
    extra: Option<crate::spend::Coin>,
) -> Result<Option<String>, Failure> {
    let salt = hex::decode(&entry.salt)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(Salt)
        .ok_or_else(|| failed(format!("the pending salt of {name} is damaged")))?;
    let zone_file = match &entry.zonefile_hash {
        Some(h) => Some(ZoneFileHash(
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    failed(format!("the pending zone-file hash of {name} is damaged"))
                })?,
        )),
        None => None,
    };
    let op = Operation::NameRegister {
        name: name.clone(),
        salt,
        zone_file,
    };
    let before = store.get(&entry.name).cloned();
    let entry = &with_preorder_block(s, entry, &coin)?;
    let required: Vec<crate::spend::Coin> = std::iter::once(coin.coin).chain(extra).collect();
    let sent = s.send_op(
        op,
        OWNER_KEY_INDEX,
        0,
        false,
        &required,
        |tx: &chain_node::Transaction, _: &crate::spend::Payment| {
            let mut revealed = entry.clone();
            if let Some(last) = revealed.reveal_txid.take() {
                revealed.earlier_reveals.push(last);
                let over = revealed
                    .earlier_reveals
                    .len()
                    .saturating_sub(MAX_EARLIER_REVEALS);
                revealed.earlier_reveals.drain(..over);
            }
            revealed.reveal_txid = Some(tx.txid().to_hex());
            revealed.reveal_tx = Some(hex::encode(tx.to_bytes()));
            store.put(revealed).map_err(failed)
        },
    );
    if let Err(e) = sent {
        // Refused by the node: the entry is as it was.
        let restored = match before {
            Some(b) => store.put(b),
            None => store.remove(&entry.name),
        };
        return Err(match restored {
            Ok(()) => e,
            Err(r) => failed(format!("{}; and the pending file: {r}", e.1)),
        });
    }
    Ok(upload(s, entry))
}

/// `entry` with the height and hash of the block that holds its preorder (`coin`), as
/// the node says now.
fn with_preorder_block(
    s: &Session<'_>,
    entry: &Pending,
    coin: &WalletCoin,
) -> Result<Pending, Failure> {
    let mut out = entry.clone();
    out.preorder_height = coin.height.map(u64::from);
    out.preorder_block = match coin.height {
        Some(h) => s
            .call("getblockhash", json!([h]))?
            .as_str()
            .map(str::to_owned),
        None => None,
    };
    Ok(out)
}

/// Uploads the entry's zone file, if any; a warning when it could not be.
fn upload(s: &Session<'_>, entry: &Pending) -> Option<String> {
    entry
        .zonefile
        .as_deref()
        .and_then(|z| hex::decode(z).ok())
        .and_then(|bytes| crate::names::upload_zone_file(s, &bytes))
}

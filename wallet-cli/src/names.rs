//! `wallet name ...` and `wallet namespace create`: name operations (docs/naming.md)
//! signed by the wallet's keys and paid by its coins.
//!
//! Names are owned by addresses. The wallet registers with its name key,
//! `m/44'/1'/0'/2'/0'` (`DerivationPath::names`): its address (the wallet's name
//! address) owns what it registers and receives each preorder's output, which the
//! reveal spends. A name may also be sent to any of its payment addresses (`wallet
//! address`): the wallet manages a name owned by the address of any of its keys, signing
//! with that key. Every operation travels
//! in the first (burn) output of a transaction whose inputs are the wallet's coins,
//! the burn's amount is the fee the rules ask, and the pay outputs follow: the
//! preorder's output to the owner's address, then change. The owner signs the chain
//! id and the transaction's first input, so the payload is signed after the coins
//! are chosen (it has the same size before and after, so the fee stands).

use std::time::Duration;

use chain_node::{Address, Amount, OutputKind, TxOut};
use ed25519_dalek::SigningKey;
use naming::{
    Commitment, Name, NamespaceId, NamespaceTerms, NamingParams, Operation, OwnerAddress,
    PriceFunction, Salt, SignedOperation, ZoneFileHash,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::chain_cmds::{Spend, format_coins, pay_from, spendable_coins};
use crate::keys::{DerivationPath, ExtendedKey};
use crate::keystore::Unlocked;
use crate::name_follow::{self, Followed, State, Unfollowed};
use crate::name_lookup::NodeLink;
use crate::name_pending::{Pending, PendingStore};
use crate::output::{Failure, Report, bad, failed};
use crate::rpc::RpcError;
use crate::spend::{self, Coin};
use crate::wallet::{Config, unlock};

/// A field of a JSON answer, `null` when absent (never panics).
pub(crate) fn at<'v>(v: &'v Value, key: &str) -> &'v Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// The `key_index` that marks the name key (and a coin of its address).
pub const OWNER_KEY_INDEX: u32 = u32::MAX;

/// The largest zone file the wallet reads and uploads.
pub const MAX_ZONE_FILE: u64 = 40 * 1024;

/// How often a waiting command asks the node for the tip.
const POLL: Duration = Duration::from_millis(300);

/// JSON-RPC "Method not found".
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;

/// The fee rate of name transactions, base units per byte.
const FEE_RATE: u64 = 10;

/// The `before_broadcast` of operations that record nothing.
fn no_record(_: &chain_node::Transaction, _: &spend::Payment) -> Result<(), Failure> {
    Ok(())
}

/// Parses a name argument.
///
/// # Errors
/// Exit 2 with the rule it breaks.
pub fn parse_name(text: &str) -> Result<Name, Failure> {
    text.trim()
        .parse()
        .map_err(|e| bad(format!("{text:?} is not a name such as alice.id: {e}")))
}

/// The wallet's name-owner key.
///
/// # Errors
/// The sealed words do not parse (the keystore checked them already).
pub fn owner_key(unlocked: &Unlocked) -> Result<SigningKey, Failure> {
    let mnemonic = crate::keys::parse_mnemonic(unlocked.mnemonic()).map_err(failed)?;
    let seed = crate::keys::seed_of(&mnemonic);
    let key = ExtendedKey::master(&*seed)
        .derive(&DerivationPath::names(0))
        .signing_key();
    crate::keys::scrub_stack();
    Ok(key)
}

/// The SHA-256 of a zone file, as the chain holds it.
pub fn zone_file_hash(bytes: &[u8]) -> ZoneFileHash {
    ZoneFileHash(Sha256::digest(bytes).into())
}

/// Reads a zone file of at most [`MAX_ZONE_FILE`] bytes.
///
/// # Errors
/// Exit 2 naming the file.
pub fn read_zone_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read as _;
    let f = std::fs::File::open(path)
        .map_err(|e| bad(format!("--zonefile {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    f.take(MAX_ZONE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("--zonefile {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_ZONE_FILE {
        return Err(bad(format!(
            "--zonefile {} is over {MAX_ZONE_FILE} bytes, the most a node keeps",
            path.display()
        )));
    }
    Ok(bytes)
}

/// An unlocked wallet talking to its node, with its owner key.
pub struct Session<'a> {
    pub(crate) node: NodeLink<'a>,
    unlocked: Unlocked,
    owner: SigningKey,
    pub(crate) params: NamingParams,
    /// Progress lines (waiting for depth) go here.
    pub progress: Box<dyn FnMut(&str) + 'a>,
}

impl<'a> Session<'a> {
    /// Opens the wallet of `cfg` and its node.
    ///
    /// # Errors
    /// The node cannot be found or the wallet not unlocked.
    pub fn open(cfg: &'a Config) -> Result<Self, Failure> {
        let node = NodeLink::open(cfg)?;
        let unlocked = unlock(cfg)?;
        let owner = owner_key(&unlocked)?;
        Ok(Session {
            node,
            unlocked,
            owner,
            params: cfg.network.params().naming,
            progress: Box::new(|line| {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }),
        })
    }

    /// The wallet's network.
    pub fn network(&self) -> chain_node::Network {
        self.node.network()
    }

    /// The name key's address, as the name state knows owners.
    fn name_owner(&self) -> OwnerAddress {
        OwnerAddress::from(self.owner_address())
    }

    /// The name key's address: the wallet's name address.
    fn owner_address(&self) -> Address {
        Address::from_pubkey(&self.owner.verifying_key().to_bytes())
    }

    /// Every address whose names this wallet manages, with its key's index: the name
    /// key's ([`OWNER_KEY_INDEX`]) and each payment key's.
    pub fn owner_addresses(&self) -> std::collections::BTreeMap<Address, u32> {
        let mut all = crate::coins::addresses(&self.unlocked);
        all.insert(self.owner_address(), OWNER_KEY_INDEX);
        all
    }

    /// The key of [`Session::owner_addresses`]' index `index`.
    fn key_of(&self, index: u32) -> SigningKey {
        if index == OWNER_KEY_INDEX {
            self.owner.clone()
        } else {
            self.unlocked.signing_key(index)
        }
    }

    /// The index of this wallet's key whose address is `owner` (an address as the node
    /// writes it), if any.
    fn owning_key(&self, owner: &str) -> Option<u32> {
        let address = Address::parse(owner, self.node.cfg.network).ok()?;
        self.owner_addresses().get(&address).copied()
    }

    pub(crate) fn call(&self, method: &str, params: Value) -> Result<Value, Failure> {
        self.node.call(method, params)
    }

    /// `getnameinfo`, or `None` for a name the node does not know.
    pub(crate) fn name_info(&self, name: &Name) -> Result<Option<Value>, Failure> {
        self.node.name_info(name)
    }

    /// The coins of the wallet's payment keys that the next block can spend.
    pub(crate) fn spendable_coins(&self) -> Result<Vec<Coin>, Failure> {
        spendable_coins(self.node.cfg, &self.node.rpc, &self.unlocked)
    }

    /// A preorder's output `txid:vout` among the name key's coins, confirmed or in the
    /// node's pool (with the pool transaction that spends it, if any); `None` when the
    /// node knows no such unspent output.
    pub(crate) fn preorder_output(
        &self,
        txid: &str,
        vout: u32,
    ) -> Result<Option<crate::coins::WalletCoin>, Failure> {
        let addrs = [(self.owner_address(), OWNER_KEY_INDEX)]
            .into_iter()
            .collect();
        Ok(
            crate::coins::fetch(&self.node.rpc, self.node.cfg.network, &addrs)?
                .into_iter()
                .find(|c| c.coin.outpoint.txid.to_hex() == txid && c.coin.outpoint.vout == vout),
        )
    }

    /// Sends `op` signed by key `signer` ([`OWNER_KEY_INDEX`] or a payment key's
    /// index): the wallet's coins (and `required` first) pay `burn` into the
    /// operation's burn output, then `preorder_output` to the name key's address when
    /// asked, then change; `before_broadcast` sees the signed transaction first.
    /// Returns the txid and the payment.
    pub(crate) fn send_op(
        &mut self,
        op: Operation,
        signer: u32,
        burn: u64,
        preorder_output: bool,
        required: &[Coin],
        before_broadcast: impl FnOnce(&chain_node::Transaction, &spend::Payment) -> Result<(), Failure>,
    ) -> Result<(String, spend::Payment), Failure> {
        let chain_id = naming::ChainId(*self.node.cfg.network.params().genesis_hash().as_bytes());
        let signer = self.key_of(signer);
        let placeholder =
            SignedOperation::sign(op.clone(), &signer, &chain_id, &naming::OutPoint::default());
        let mut outputs = vec![TxOut {
            amount: Amount::from_units(burn),
            kind: OutputKind::Burn(placeholder.encode()),
        }];
        if preorder_output {
            outputs.push(TxOut::pay(
                Amount::from_units(spend::dust_limit(FEE_RATE)),
                self.owner_address(),
            ));
        }
        let coins = spendable_coins(self.node.cfg, &self.node.rpc, &self.unlocked)?;
        // The name key signs for coins of its address (a preorder's output).
        let owner = self.owner.clone();
        let kind = op.kind();
        pay_from(
            self.node.cfg,
            &self.node.rpc,
            &mut self.unlocked,
            Spend {
                coins: &coins,
                plan: |coins: &[Coin], change_to| {
                    spend::plan_outputs(required, coins, outputs, change_to, FEE_RATE).map_err(
                        |e| match e {
                            spend::SpendError::InsufficientFunds { needed, available } => {
                                failed(format!(
                                    "insufficient funds: the {kind} burns {} and its fee needs more; {} coins in all are needed, {} are spendable (receive or mine some first)",
                                    format_coins(burn),
                                    crate::chain_cmds::format_coins_wide(needed),
                                    format_coins(available)
                                ))
                            }
                            e => failed(e),
                        },
                    )
                },
                seal: |payment: &mut spend::Payment| {
                    let first = payment.inputs.first().map_or_else(
                        naming::OutPoint::default,
                        |c| naming::OutPoint {
                            txid: naming::TxId(*c.outpoint.txid.as_bytes()),
                            vout: c.outpoint.vout,
                        },
                    );
                    let signed = SignedOperation::sign(op, &signer, &chain_id, &first);
                    if let Some(out) = payment.outputs.first_mut() {
                        out.kind = OutputKind::Burn(signed.encode());
                    }
                },
                before_broadcast,
                extra_key: Some(&owner),
            },
        )
        .map(|(payment, txid)| (txid, payment))
    }

    /// Waits until the preorder's output is `min_depth` deep (polling the node), or
    /// answers at once with `false` when `wait` is off. Errors when the output is
    /// gone or the preorder is too old.
    fn await_depth(
        &mut self,
        what: &str,
        txid: &str,
        vout: u32,
        wait: bool,
    ) -> Result<Option<Coin>, Failure> {
        let min = self.params.preorder_min_depth;
        let max_age = self.params.preorder_max_age;
        let mut said = None;
        loop {
            let Some(coin) = self.preorder_output(txid, vout)? else {
                return Err(failed(format!(
                    "the preorder output {txid}:{vout} of {what} is spent or was never mined; register again"
                )));
            };
            // The reveal goes in the next block: its depth there is the confirmations.
            if coin.confirmations >= min && coin.spent_by.is_none() {
                if coin.confirmations > max_age {
                    return Err(failed(format!(
                        "the preorder of {what} is {} blocks old, past the {max_age} a reveal allows; register again",
                        coin.confirmations
                    )));
                }
                let mut c = coin.coin;
                c.key_index = OWNER_KEY_INDEX;
                return Ok(Some(c));
            }
            if !wait {
                return Ok(None);
            }
            if said != Some(coin.confirmations) {
                (self.progress)(&format!(
                    "waiting for the preorder of {what} to be {min} block{} deep: {} so far (mine blocks, or wait for the network)",
                    if min == 1 { "" } else { "s" },
                    coin.confirmations
                ));
                said = Some(coin.confirmations);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Uploads a zone file with `putzonefile`; a warning when it could not be.
pub fn upload_zone_file(s: &Session<'_>, bytes: &[u8]) -> Option<String> {
    {
        match s.node.rpc.call("putzonefile", json!([hex::encode(bytes)])) {
            Ok(_) => None,
            Err(RpcError::Node {
                code: METHOD_NOT_FOUND,
                ..
            }) => Some(
                "the zone file was not uploaded: this node has no putzonefile; its hash is on chain".into(),
            ),
            Err(e) => Some(format!("the zone file was not uploaded: {e}")),
        }
    }
}

/// The default price function: Blockstack's `id` namespace (coefficient 250, base 4,
/// exponents 6 5 4 3 2 1 then 0, discounts 10).
fn default_buckets() -> [u8; naming::BUCKETS] {
    let mut b = [0u8; naming::BUCKETS];
    for (i, e) in [6u8, 5, 4, 3, 2, 1].into_iter().enumerate() {
        if let Some(slot) = b.get_mut(i) {
            *slot = e;
        }
    }
    b
}

/// The default price function (what `wallet namespace create` uses without price
/// options).
///
/// # Errors
/// None in practice: the constants are within every bound.
pub fn default_price() -> Result<PriceFunction, Failure> {
    PriceFunction::new(250, 4, default_buckets(), 10, 10).map_err(failed)
}

/// The terms of a namespace from the command line.
///
/// # Errors
/// Exit 2 for a lifetime of zero or a bad discount.
pub fn terms(args: &crate::cli::NamespaceCreateArgs) -> Result<NamespaceTerms, Failure> {
    if args.lifetime == 0 {
        return Err(bad("--lifetime must be at least 1 block"));
    }
    let price = PriceFunction::new(
        args.price_coeff,
        args.price_base,
        default_buckets(),
        args.nonalpha_discount,
        args.no_vowel_discount,
    )
    .map_err(|e| bad(format!("price function: {e}")))?;
    Ok(NamespaceTerms {
        lifetime: args.lifetime,
        grace: args.grace,
        price,
    })
}

/// Launches a namespace: preorder, reveal once deep enough, ready once the reveal is
/// mined. `mine` is called while waiting (a local network mines; a real one waits).
///
/// # Errors
/// Funds, the node's refusals, an id taken.
pub fn launch_namespace(
    s: &mut Session<'_>,
    id: &NamespaceId,
    terms: NamespaceTerms,
    mine: &mut dyn FnMut() -> Result<(), Failure>,
) -> Result<Value, Failure> {
    if let Ok(info) = s.node.rpc.call("getnamespaceinfo", json!([id.as_str()]))
        && at(&info, "status") != "lapsed"
    {
        return Err(failed(format!(
            "namespace {id} exists already (status {}); choose another id",
            at(&info, "status")
        )));
    }
    let salt = Salt(random_salt()?);
    let commitment = Commitment::for_namespace(id, &salt, &s.name_owner());
    let price = s.params.namespace_prices.price(id).units();
    let (preorder, _) = s.send_op(
        Operation::NamespacePreorder { commitment },
        OWNER_KEY_INDEX,
        price,
        true,
        &[],
        no_record,
    )?;
    let what = format!("namespace {id}");
    let coin = loop {
        if let Some(c) = s.await_depth(&what, &preorder, 1, false)? {
            break c;
        }
        mine()?;
    };
    let reveal_op = Operation::NamespaceReveal {
        namespace: id.clone(),
        salt,
        terms,
    };
    let (reveal, _) = s.send_op(reveal_op, OWNER_KEY_INDEX, 0, false, &[coin], no_record)?;
    loop {
        let info = s.node.rpc.call("getnamespaceinfo", json!([id.as_str()]));
        if info.is_ok_and(|i| *at(&i, "reveal_txid") == json!(reveal)) {
            break;
        }
        mine()?;
    }
    let (ready, _) = s.send_op(
        Operation::NamespaceReady {
            namespace: id.clone(),
        },
        OWNER_KEY_INDEX,
        0,
        false,
        &[],
        no_record,
    )?;
    loop {
        let info = s.call("getnamespaceinfo", json!([id.as_str()]))?;
        if at(&info, "status") == "ready" {
            break;
        }
        mine()?;
    }
    Ok(json!({
        "namespace": id.as_str(),
        "lifetime": terms.lifetime,
        "grace": terms.grace,
        "preorder_txid": preorder,
        "reveal_txid": reveal,
        "ready_txid": ready,
        "burned": price,
    }))
}

fn random_salt() -> Result<[u8; 16], Failure> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| failed(format!("no randomness: {e}")))?;
    Ok(salt)
}

/// The wallet's name address (the name key's), on its network: it owns what the wallet
/// registers, and a sender may pass it to `name transfer --to`.
pub fn name_address(s: &Session<'_>) -> String {
    s.owner_address().encode(s.node.cfg.network)
}

/// What `register` did: where the registration of the name stands, and what the look
/// at the wallet's other kept registrations found.
pub struct Registered {
    /// The name's registration.
    pub this: Followed,
    /// The others.
    pub others: Vec<Result<Followed, Unfollowed>>,
}

/// Registers `name`: a preorder unless the wallet keeps a registration of it, then the
/// reveal once the preorder is deep enough (waiting when `wait`); every other kept
/// registration is followed too (`name_follow.rs`).
///
/// # Errors
/// The name is taken or its namespace not ready, funds, the node's refusals; a kept
/// registration that cannot succeed any more (forgotten, with the reason).
pub fn register(
    s: &mut Session<'_>,
    name: &Name,
    zone_file: Option<Vec<u8>>,
    wait: bool,
) -> Result<Registered, Failure> {
    let mut store = PendingStore::open(&s.node.cfg.wallet_dir).map_err(failed)?;
    let key = name.to_string();
    let others = name_follow::follow_all(s, &mut store, Some(&key));
    if store.get(&key).is_none() {
        preorder(s, &mut store, name, zone_file)?;
    }
    let what = name.to_string();
    let mut said = None;
    loop {
        let entry = store
            .get(&key)
            .cloned()
            .ok_or_else(|| failed(format!("the pending registration of {name} was not kept")))?;
        let this = name_follow::follow(s, &mut store, &entry)?;
        let progress = match &this.state {
            State::Dropped { reason } => return Err(failed(reason)),
            State::Preordered {
                confirmations,
                needed,
            } => format!(
                "waiting for the preorder of {what} to be {needed} block{} deep: {confirmations} so far (mine blocks, or wait for the network)",
                if *needed == 1 { "" } else { "s" },
            ),
            State::RevealGone {
                confirmations,
                needed,
            } => format!(
                "a reorg took the reveal of {what} away; waiting for its preorder to be {needed} block{} deep again: {confirmations} so far (mine blocks, or wait for the network)",
                if *needed == 1 { "" } else { "s" },
            ),
            State::PreorderSentAgain => {
                format!("the preorder of {what} had left the chain and the node's pool: sent again")
            }
            _ => return Ok(Registered { this, others }),
        };
        if !wait {
            return Ok(Registered { this, others });
        }
        if said.as_ref() != Some(&progress) {
            (s.progress)(&progress);
            said = Some(progress);
        }
        std::thread::sleep(POLL);
    }
}

/// Sends the preorder of `name` with a new salt, recorded in `store` (with the signed
/// transaction) before the broadcast.
fn preorder(
    s: &mut Session<'_>,
    store: &mut PendingStore,
    name: &Name,
    zone_file: Option<Vec<u8>>,
) -> Result<(), Failure> {
    let key = name.to_string();
    let price = s.call("getnameprice", json!([key]))?;
    if *at(&price, "available") != json!(true) {
        return Err(failed(if at(&price, "namespace_status") != "ready" {
            format!(
                "namespace {} is not ready (status {}): names cannot be registered in it yet",
                name.namespace,
                at(&price, "namespace_status")
            )
        } else {
            format!("{name} is taken; `wallet name resolve {name}` shows its owner and expiry")
        }));
    }
    let burn = at(&price, "price")
        .as_u64()
        .ok_or_else(|| failed("the node's getnameprice answer has no price"))?;
    let salt = Salt(random_salt()?);
    let commitment = Commitment::for_name(name, &salt, &s.name_owner());
    let zhash = zone_file.as_deref().map(zone_file_hash);
    // The salt and the signed preorder are on disk before the broadcast: a crash after
    // it loses no registration, and a reorg that loses the preorder can send it again.
    let sent = s.send_op(
        Operation::NamePreorder { commitment },
        OWNER_KEY_INDEX,
        burn,
        true,
        &[],
        |tx: &chain_node::Transaction, payment: &spend::Payment| {
            store
                .put(Pending {
                    name: key.clone(),
                    salt: hex::encode(salt.0),
                    preorder_txid: tx.txid().to_hex(),
                    preorder_vout: 1,
                    preorder_amount: payment.outputs.get(1).map_or(0, |o| o.amount.units()),
                    zonefile_hash: zhash.map(|z| hex::encode(z.as_bytes())),
                    zonefile: zone_file.as_deref().map(hex::encode),
                    preorder_tx: Some(hex::encode(tx.to_bytes())),
                    ..Pending::default()
                })
                .map_err(failed)
        },
    );
    if let Err(e) = sent {
        // Refused by the node (or never recorded): nothing is pending.
        let _ = store.remove(&key);
        return Err(e);
    }
    Ok(())
}

/// Sends an update, transfer, renew or revoke of a name owned by the address of one of
/// this wallet's keys, signed by that key.
///
/// # Errors
/// The name is not this wallet's or not usable; funds; the node's refusals.
pub fn manage(s: &mut Session<'_>, op: Operation, name: &Name) -> Result<String, Failure> {
    let info = s
        .name_info(name)?
        .ok_or_else(|| failed(format!("{name} is not registered")))?;
    let owner = at(&info, "owner").as_str().unwrap_or("?");
    let signer = s.owning_key(owner).ok_or_else(|| {
        failed(format!(
            "{name} is owned by address {owner}, which is none of this wallet's (its name address {} or an address `wallet address` gave)",
            name_address(s)
        ))
    })?;
    let status = at(&info, "status").as_str().unwrap_or("?").to_owned();
    let renew = matches!(op, Operation::NameRenew { .. });
    let usable = status == "active" || (renew && status == "grace");
    if !usable {
        return Err(failed(format!(
            "{name} is {status}: a {} cannot be sent{}",
            op.kind(),
            if status == "grace" {
                "; in the grace period only `wallet name renew` works"
            } else {
                ""
            }
        )));
    }
    let burn = if renew {
        at(&s.call("getnameprice", json!([name.to_string()]))?, "price")
            .as_u64()
            .ok_or_else(|| failed("the node's getnameprice answer has no price"))?
    } else {
        0
    };
    Ok(s.send_op(op, signer, burn, false, &[], no_record)?.0)
}

/// The names this wallet owns: those of every page of `listnames` owned by the
/// address of one of its keys.
pub fn owned(s: &Session<'_>) -> Result<(Vec<Value>, u64), Failure> {
    let mine_by = s.owner_addresses();
    let is_mine = |owner: &Value| {
        owner
            .as_str()
            .and_then(|o| Address::parse(o, s.node.cfg.network).ok())
            .is_some_and(|a| mine_by.contains_key(&a))
    };
    let mut after = String::new();
    let mut mine = Vec::new();
    let mut height = 0;
    loop {
        let page = s.call("listnames", json!([after, 1000]))?;
        height = at(&page, "height").as_u64().unwrap_or(height);
        for n in at(&page, "names").as_array().map_or(&[][..], Vec::as_slice) {
            if is_mine(at(n, "owner")) && at(n, "status") != "expired" {
                mine.push(n.clone());
            }
        }
        match at(&page, "next").as_str() {
            Some(next) if next > after.as_str() => after = next.to_owned(),
            _ => break,
        }
    }
    Ok((mine, height))
}

/// Blocks before expiry under which `list` warns: a tenth of the lifetime, at
/// least 10.
pub fn warn_within(lifetime: u64) -> u64 {
    (lifetime / 10).max(10)
}

/// The report of `namespace create`.
pub fn namespace_report(fields: Value) -> Report {
    let line = format!(
        "namespace {} is ready: lifetime {} blocks, grace {}; burned {} (preorder {}, reveal {}, ready {})",
        at(&fields, "namespace").as_str().unwrap_or(""),
        at(&fields, "lifetime"),
        at(&fields, "grace"),
        format_coins(at(&fields, "burned").as_u64().unwrap_or(0)),
        at(&fields, "preorder_txid").as_str().unwrap_or(""),
        at(&fields, "reveal_txid").as_str().unwrap_or(""),
        at(&fields, "ready_txid").as_str().unwrap_or(""),
    );
    Report::ok(line, fields)
}

//! The `wallet name` and `wallet namespace` commands: arguments checked offline
//! first, then the flows of `names.rs`, then one report each.

use serde_json::{Value, json};

use crate::names::at;

use crate::chain_cmds::format_coins;
use crate::cli::{NameArgs, NameCommand, NamespaceCreateArgs, RegisterArgs, ResolveArgs};
use crate::name_follow::{self, Followed, State, Unfollowed};
use crate::name_lookup::{self, NodeLink};
use crate::names::{self, Registered, Session};
use crate::output::{Failure, Report, bad, failed};
use crate::wallet::Config;

/// Runs one `wallet name` command.
///
/// # Errors
/// As each command says.
pub(crate) fn run(cfg: &Config, cmd: &NameCommand) -> Result<Report, Failure> {
    match cmd {
        NameCommand::Price(a) => price(cfg, a),
        NameCommand::Register(a) => register(cfg, a),
        NameCommand::Update(a) => {
            let name = names::parse_name(&a.name.name)?;
            let bytes = names::read_zone_file(&a.zonefile)?;
            let hash = names::zone_file_hash(&bytes);
            let mut s = Session::open(cfg)?;
            let op = naming::Operation::NameUpdate {
                name: name.clone(),
                zone_file: hash,
            };
            let txid = names::manage(&mut s, op, &name)?;
            let warning = names::upload_zone_file(&s, &bytes);
            let mut line = format!("updated {name}: zone file {hash}; txid {txid}");
            if let Some(w) = &warning {
                line.push_str(&format!("\nwarning: {w}"));
            }
            Ok(Report::ok(
                line,
                json!({"name": name.to_string(), "txid": txid, "zonefilehash": hash.to_string(), "warning": warning}),
            ))
        }
        NameCommand::Transfer(a) => {
            let name = names::parse_name(&a.name.name)?;
            let to = parse_new_owner(&a.to, cfg)?;
            let mut s = Session::open(cfg)?;
            let op = naming::Operation::NameTransfer {
                name: name.clone(),
                new_owner: to.into(),
                keep_zone_file: true,
            };
            let txid = names::manage(&mut s, op, &name)?;
            let to = to.encode(cfg.network);
            Ok(Report::ok(
                format!("transferred {name} to {to}; txid {txid}"),
                json!({"name": name.to_string(), "txid": txid, "new_owner": to}),
            ))
        }
        NameCommand::Renew(a) => simple(cfg, a, "renewed", |name| naming::Operation::NameRenew {
            name,
        }),
        NameCommand::Revoke(a) => simple(cfg, a, "revoked", |name| naming::Operation::NameRevoke {
            name,
        }),
        NameCommand::Resolve(a) => resolve(cfg, a),
        NameCommand::List(_) => list(cfg),
    }
}

/// A new owner: an address of the wallet's network (names are owned by addresses, as
/// coins are). A key in hex is refused with a pointer to the address.
fn parse_new_owner(text: &str, cfg: &Config) -> Result<chain_node::Address, Failure> {
    let trimmed = text.trim();
    if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "--to {trimmed}: names are owned by addresses, not keys; give the receiving wallet's address (`wallet address` there prints one)"
        )));
    }
    crate::chain_cmds::parse_to(text, cfg)
}

fn simple(
    cfg: &Config,
    a: &NameArgs,
    done: &str,
    op: impl FnOnce(naming::Name) -> naming::Operation,
) -> Result<Report, Failure> {
    let name = names::parse_name(&a.name)?;
    let mut s = Session::open(cfg)?;
    let txid = names::manage(&mut s, op(name.clone()), &name)?;
    Ok(Report::ok(
        format!("{done} {name}; txid {txid}"),
        json!({"name": name.to_string(), "txid": txid}),
    ))
}

fn price(cfg: &Config, a: &NameArgs) -> Result<Report, Failure> {
    let name = names::parse_name(&a.name)?;
    let rpc = crate::chain_cmds::rpc(cfg)?;
    let v = rpc
        .call("getnameprice", json!([name.to_string()]))
        .map_err(|e| match e {
            crate::rpc::RpcError::Node { code: -5, .. } => failed(format!(
                "namespace {} does not exist; `wallet namespace create {}` launches it",
                name.namespace, name.namespace
            )),
            e => failed(e),
        })?;
    let units = at(&v, "price").as_u64().unwrap_or(0);
    let available = *at(&v, "available") == json!(true);
    Ok(Report::ok(
        format!(
            "{name}: {} coins to register or renew; {}",
            format_coins(units),
            if available {
                "available".to_owned()
            } else if at(&v, "namespace_status") != "ready" {
                format!("namespace {} is not ready", name.namespace)
            } else {
                "taken".to_owned()
            }
        ),
        json!({"name": name.to_string(), "price": units, "available": available, "namespace_status": at(&v, "namespace_status")}),
    ))
}

fn register(cfg: &Config, a: &RegisterArgs) -> Result<Report, Failure> {
    let name = names::parse_name(&a.name.name)?;
    let zone_file = a
        .zonefile
        .as_deref()
        .map(names::read_zone_file)
        .transpose()?;
    let mut s = Session::open(cfg)?;
    let Registered { this, others } = names::register(&mut s, &name, zone_file, !a.no_wait)?;
    let reveal = this.reveal_txid.clone().unwrap_or_default();
    let mut fields = this.json();
    let (mut line, state) = match &this.state {
        State::RevealSent { .. } => (
            format!(
                "registered {name} (reveal txid {reveal}); it is yours once that block is mined"
            ),
            "revealed",
        ),
        State::RevealSentAgain { .. } => (
            format!(
                "the reveal of {name} had left the chain in a reorg: sent again (txid {reveal}); it is yours once that block is mined"
            ),
            "revealed",
        ),
        State::Revealed { .. } => (format!("{name}: {}", this.describe()), "revealed"),
        State::Final { .. } => (format!("{name}: {}", this.describe()), "registered"),
        State::Preordered { .. } | State::RevealGone { .. } | State::PreorderSentAgain => (
            format!(
                "preordered {name} (txid {}); once it is deep enough, `wallet name register {name}` sends the reveal",
                this.preorder_txid
            ),
            "preordered",
        ),
        State::Dropped { reason } => return Err(failed(reason)),
    };
    if let Some(w) = at(&fields, "warning").as_str() {
        line.push_str(&format!("\nwarning: {w}"));
    }
    line.push_str(&others_text(&others));
    if let Some(m) = fields.as_object_mut() {
        // The registration's own state is "revealed", "registered" or "preordered";
        // the follower's finer one is "detail".
        m.insert("detail".into(), json!(this.code()));
        m.insert("state".into(), json!(state));
        m.insert("txid".into(), json!(this.reveal_txid));
        m.insert(
            "others".into(),
            json!(others.iter().map(followed_json).collect::<Vec<_>>()),
        );
    }
    Ok(Report::ok(line, fields))
}

/// The lines `register` adds about the wallet's other kept registrations: only those
/// whose look sent something, ended them without success, or failed (`list` shows
/// every state).
fn others_text(others: &[Result<Followed, Unfollowed>]) -> String {
    let mut text = String::new();
    for f in others {
        match f {
            Ok(f) if f.sent() || matches!(f.state, State::Dropped { .. }) => {
                text.push_str(&format!("\n{}  {}", f.name, f.describe()));
            }
            Ok(_) => {}
            Err((name, (_, e))) => text.push_str(&format!("\n{name}  not followed: {e}")),
        }
    }
    text
}

/// A followed registration's `--json` fields; one that could not be followed says why.
fn followed_json(f: &Result<Followed, Unfollowed>) -> Value {
    match f {
        Ok(f) => f.json(),
        Err((name, (_, e))) => json!({"name": name, "state": "unfollowed", "message": e}),
    }
}

fn resolve(cfg: &Config, a: &ResolveArgs) -> Result<Report, Failure> {
    let name = names::parse_name(&a.name.name)?;
    // A lookup needs no key: the wallet stays locked.
    let s = NodeLink::for_lookup(cfg)?;
    if a.verify {
        return resolve_verified(&s, &name);
    }
    let Some(info) = name_lookup::lookup(&s, &name)? else {
        return Err(failed(format!(
            "{name} does not exist; `wallet name register {name}` can take it"
        )));
    };
    let status = at(&info, "status").as_str().unwrap_or("?");
    if status == "expired" {
        return Err(failed(format!(
            "{name} expired (its grace period ended at height {}); it is free to register",
            at(&info, "grace_ends_at")
        )));
    }
    if status == "revoked" {
        return Err(failed(format!("{name} was revoked by its owner")));
    }
    let mut text = format!(
        "{name}\nowner      {}\nstatus     {status}\nexpires at height {} (grace ends {}; now {})",
        at(&info, "owner").as_str().unwrap_or(""),
        at(&info, "expires_at"),
        at(&info, "grace_ends_at"),
        at(&info, "height"),
    );
    let mut fields = json!({
        "name": name.to_string(),
        "owner": at(&info, "owner"),
        "status": status,
        "expires_at": at(&info, "expires_at"),
        "grace_ends_at": at(&info, "grace_ends_at"),
        "height": at(&info, "height"),
        "zonefilehash": at(&info, "zonefilehash"),
        "zonefile": Value::Null,
    });
    if let Some(hash) = at(&info, "zonefilehash").as_str() {
        match name_lookup::fetch_zone_file(&s, hash)? {
            Ok(bytes) => {
                text.push_str(&format!(
                    "\nzone file {hash}:\n{}",
                    String::from_utf8_lossy(&bytes)
                ));
                if let Some(m) = fields.as_object_mut() {
                    m.insert("zonefile".into(), json!(String::from_utf8_lossy(&bytes)));
                }
            }
            Err(why) => {
                text.push_str(&format!("\nzone file {hash}: not available ({why})"));
                if let Some(m) = fields.as_object_mut() {
                    m.insert("zonefile_missing".into(), json!(why));
                }
            }
        }
    } else {
        text.push_str("\nzone file: none");
    }
    Ok(Report::ok(text, fields))
}

/// `resolve --verify`: the record proven against proof-of-work headers alone; the zone
/// file, when the node has it, is checked against the proven hash.
fn resolve_verified(s: &NodeLink<'_>, name: &naming::Name) -> Result<Report, Failure> {
    use chain_node::light::ProvenStatus;
    let v = crate::name_verify::verify_lookup(s, name)?;
    let proven = format!(
        "proven against proof of work at height {} (block {})",
        v.height.0, v.block_hash
    );
    let record = match (&v.record, v.status) {
        (Some(r), ProvenStatus::Active | ProvenStatus::Grace) => r,
        (_, ProvenStatus::Absent) | (None, _) => {
            return Err(failed(format!("{name} does not exist: {proven}")));
        }
        (Some(r), ProvenStatus::Expired) => {
            return Err(failed(format!(
                "{name} expired (its grace period ended at height {}): {proven}",
                r.grace_ends_at.0
            )));
        }
        (Some(_), ProvenStatus::Revoked) => {
            return Err(failed(format!("{name} was revoked by its owner: {proven}")));
        }
    };
    let owner = chain_node::Address::from(record.owner).encode(s.network());
    let zone_hash = record.zone_file.map(|z| hex::encode(z.0));
    let mut text = format!(
        "{name}\nowner      {owner}\nstatus     {}\nexpires at height {} (grace ends {})\n{proven}",
        v.status.as_str(),
        record.expires_at.0,
        record.grace_ends_at.0,
    );
    let mut zone_text = Value::Null;
    match &zone_hash {
        Some(hash) => match name_lookup::fetch_zone_file(s, hash)? {
            Ok(bytes) => {
                let got = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
                if got != *hash {
                    return Err(crate::output::invalid(format!(
                        "the node's zone file for {name} hashes to {got}, not the proven {hash}"
                    )));
                }
                text.push_str(&format!(
                    "\nzone file {hash} (checked against the proven hash):\n{}",
                    String::from_utf8_lossy(&bytes)
                ));
                zone_text = json!(String::from_utf8_lossy(&bytes));
            }
            Err(why) => text.push_str(&format!("\nzone file {hash}: not available ({why})")),
        },
        None => text.push_str("\nzone file: none"),
    }
    Ok(Report::ok(
        text,
        json!({
            "name": name.to_string(),
            "owner": owner,
            "status": v.status.as_str(),
            "expires_at": record.expires_at.0,
            "grace_ends_at": record.grace_ends_at.0,
            "verified_height": v.height.0,
            "verified_block": v.block_hash.to_hex(),
            "zonefilehash": zone_hash,
            "zonefile": zone_text,
        }),
    ))
}

fn list(cfg: &Config) -> Result<Report, Failure> {
    let mut s = Session::open(cfg)?;
    let mut store = crate::name_pending::PendingStore::open(&cfg.wallet_dir).map_err(failed)?;
    let followed = name_follow::follow_all(&mut s, &mut store, None);
    let (owned, height) = names::owned(&s)?;
    let me = names::name_address(&s);
    let mut text = format!(
        "name address {me} (owns what this wallet registers; names sent to it, or to any address of `wallet address`, are this wallet's)"
    );
    for f in &followed {
        match f {
            Ok(f) => text.push_str(&format!("\n{}  {}", f.name, f.describe())),
            Err((name, (_, e))) => text.push_str(&format!("\n{name}  not followed: {e}")),
        }
    }
    let mut lifetimes = std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for n in &owned {
        let ns = at(n, "namespace").as_str().unwrap_or_default().to_owned();
        if !lifetimes.contains_key(&ns) {
            let info = crate::chain_cmds::rpc(cfg)?
                .call("getnamespaceinfo", json!([ns]))
                .ok();
            let lifetime = info.and_then(|i| at(&i, "lifetime").as_u64()).unwrap_or(0);
            lifetimes.insert(ns.clone(), lifetime);
        }
        let lifetime = lifetimes.get(&ns).copied().unwrap_or(0);
        let expires = at(n, "expires_at").as_u64().unwrap_or(0);
        let left = expires.saturating_sub(height);
        let soon = at(n, "status") == "grace" || left <= names::warn_within(lifetime);
        let owner = at(n, "owner").as_str().unwrap_or("");
        text.push_str(&format!(
            "\n{}  {}  expires at height {expires} ({left} blocks){}{}",
            at(n, "name").as_str().unwrap_or(""),
            at(n, "status").as_str().unwrap_or(""),
            if owner == me {
                String::new()
            } else {
                format!("  owned by {owner}")
            },
            if soon {
                format!(
                    "  WARNING: close to expiry; `wallet name renew {}`",
                    at(n, "name").as_str().unwrap_or("")
                )
            } else {
                String::new()
            }
        ));
        rows.push(json!({
            "name": at(n, "name"),
            "owner": owner,
            "status": at(n, "status"),
            "expires_at": expires,
            "grace_ends_at": at(n, "grace_ends_at"),
            "blocks_left": left,
            "expiring_soon": soon,
            "zonefilehash": at(n, "zonefilehash"),
        }));
    }
    if owned.is_empty() {
        text.push_str("\nno names yet: wallet name register NAME");
    }
    Ok(Report::ok(
        text,
        json!({
            "name_address": me,
            "height": height,
            "names": rows,
            // Registrations still kept, then those this look forgot, then the reveals
            // it sent.
            "pending": followed.iter().filter(|f| f.as_ref().map_or(true, Followed::kept)).map(followed_json).collect::<Vec<_>>(),
            "settled": followed.iter().filter(|f| f.as_ref().is_ok_and(|f| !f.kept())).map(followed_json).collect::<Vec<_>>(),
            "revealed": followed.iter().flatten().filter(|f| matches!(f.state, State::RevealSent { .. } | State::RevealSentAgain { .. })).map(|f| json!({"name": f.name, "txid": f.reveal_txid})).collect::<Vec<_>>(),
        }),
    ))
}

/// Runs `wallet namespace create`.
///
/// # Errors
/// As [`names::launch_namespace`].
pub(crate) fn namespace_create(cfg: &Config, a: &NamespaceCreateArgs) -> Result<Report, Failure> {
    let id: naming::NamespaceId =
        a.id.trim()
            .parse()
            .map_err(|e| bad(format!("{:?} is not a namespace id: {e}", a.id)))?;
    let terms = names::terms(a)?;
    let mut s = Session::open(cfg)?;
    let mut said = false;
    let fields = names::launch_namespace(&mut s, &id, terms, &mut || {
        if !said {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "waiting for blocks (mine them on a local network: wallet mine 1)"
            );
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(())
    })?;
    Ok(names::namespace_report(fields))
}

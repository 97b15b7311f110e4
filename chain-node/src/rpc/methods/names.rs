//! The name RPCs over the name index: `getnameinfo`, `getnameprice`, `listnames`
//! (paged) and `getnamespaceinfo`; and the zone-file store's `getzonefile` and
//! `putzonefile` (docs/rpc.md). Names and ids are parsed into the
//! `naming` crate's checked types before the node is asked; an invalid one is -8 with
//! the reason, an unknown one -5. Owners and creators are answered as the network's
//! bech32m address (ADR 0037).

use naming::{Name, NameRecord, NameStatus, NamespaceId, NamespaceRecord, NamespaceStatus};
use serde_json::{Value, json};

use super::RpcError;
use crate::address::Address;
use crate::error::ChainError;
use crate::node::NodeView;
use crate::params::Network;

/// Most names one `listnames` call returns; the default count.
pub const MAX_LIST_NAMES: u64 = 1_000;

/// Parses a name with the `naming` crate's rules; the RPCs and the explorer both
/// read names through it.
///
/// # Errors
/// The rule the text breaks, as a message.
pub(crate) fn parse_name_text(text: &str) -> Result<Name, String> {
    text.parse()
        .map_err(|e| format!("invalid name {text:?}: {e}"))
}

/// Parses a name parameter.
///
/// # Errors
/// -8 with the rule it breaks.
pub(super) fn parse_name(text: &str) -> Result<Name, RpcError> {
    parse_name_text(text).map_err(RpcError::invalid_parameter)
}

/// Parses a namespace id parameter.
///
/// # Errors
/// -8 with the rule it breaks.
pub(super) fn parse_namespace(text: &str) -> Result<NamespaceId, RpcError> {
    text.parse()
        .map_err(|e| RpcError::invalid_parameter(format!("invalid namespace id {text:?}: {e}")))
}

/// A name's status as the RPCs and the explorer write it.
pub(crate) fn name_status(status: NameStatus) -> &'static str {
    match status {
        NameStatus::Active => "active",
        NameStatus::Grace => "grace",
        NameStatus::Revoked => "revoked",
        NameStatus::Expired => "expired",
    }
}

/// A namespace's status as the RPCs and the explorer write it.
pub(crate) fn namespace_status(status: NamespaceStatus) -> &'static str {
    match status {
        NamespaceStatus::Revealed => "revealed",
        NamespaceStatus::Ready => "ready",
        NamespaceStatus::Lapsed => "lapsed",
    }
}

/// The height names are judged at: the next block's, which any operation sent now is
/// checked at.
pub(crate) fn next_height(v: &NodeView) -> naming::Height {
    naming::Height(v.chain().next_height().0)
}

/// A name's record with the height it is judged at and its status there.
#[derive(Clone, Debug)]
pub(crate) struct NameView {
    /// The record from the name index (expired ones included).
    pub(crate) record: NameRecord,
    /// The height the status is judged at ([`next_height`]).
    pub(crate) at: naming::Height,
    /// The status at `at`.
    pub(crate) status: NameStatus,
}

/// The record of `name` and its status at the next block's height; `None` for a name
/// the index has never held.
///
/// # Errors
/// Storage errors, a record that does not decode.
pub(crate) fn read_name(v: &NodeView, name: &Name) -> Result<Option<NameView>, ChainError> {
    let at = next_height(v);
    Ok(v.chain().name_record(name)?.map(|record| NameView {
        status: record.status(at),
        record,
        at,
    }))
}

/// An owner's (or creator's) address as the RPCs and the explorer write it: bech32m
/// on `network`.
pub(crate) fn owner_text(owner: naming::OwnerAddress, network: Network) -> String {
    Address::from(owner).encode(network)
}

fn name_json(name: &Name, record: &NameRecord, at: naming::Height, network: Network) -> Value {
    json!({
        "name": name.to_string(),
        "namespace": name.namespace.as_str(),
        "owner": owner_text(record.owner, network),
        "zonefilehash": record.zone_file.map(|z| hex::encode(z.as_bytes())),
        "registered_at": record.registered_at.0,
        "expires_at": record.expires_at.0,
        "grace_ends_at": record.grace_ends_at.0,
        "revoked": record.revoked,
        "last_txid": hex::encode(record.last_txid.as_bytes()),
        "status": name_status(record.status(at)),
    })
}

/// `getnameinfo name`: the record of a name, with its status at the next block's
/// height (expired names are answered, with status `expired`).
pub(super) fn name_info(v: &NodeView, name: &Name) -> Result<Value, RpcError> {
    let found = read_name(v, name)?
        .ok_or_else(|| RpcError::not_found(format!("Name not found: {name}")))?;
    let mut out = name_json(name, &found.record, found.at, v.chain().params().network);
    super::set(&mut out, "height", json!(found.at.0));
    Ok(out)
}

/// `getnameprice name`: what registering (or renewing) the name burns under its
/// namespace's price function, and whether a registration could take it now.
pub(super) fn name_price(v: &NodeView, name: &Name) -> Result<Value, RpcError> {
    let chain = v.chain();
    let namespace = chain
        .namespace_record(&name.namespace)?
        .ok_or_else(|| RpcError::not_found(format!("Namespace not found: {}", name.namespace)))?;
    let at = next_height(v);
    let taken = chain
        .name_record(name)?
        .is_some_and(|r| r.status(at) != NameStatus::Expired);
    Ok(json!({
        "name": name.to_string(),
        "price": namespace.terms.price.price(&name.label).units(),
        "namespace_status": namespace_status(namespace.status(at)),
        "available": !taken && namespace.status(at) == NamespaceStatus::Ready,
        "height": at.0,
    }))
}

/// `listnames (after) (count)`: at most `count` names in name order after `after`, and
/// the name to pass as `after` for the next page (`null` on the last page).
pub(super) fn list_names(
    v: &NodeView,
    after: Option<&Name>,
    count: u64,
) -> Result<Value, RpcError> {
    let limit = usize::try_from(count.min(MAX_LIST_NAMES)).unwrap_or(0);
    // One more than asked, to know whether a next page exists.
    let mut names = v.chain().names(after, limit.saturating_add(1))?;
    let more = names.len() > limit;
    names.truncate(limit);
    let at = next_height(v);
    let network = v.chain().params().network;
    let next = if more {
        names.last().map(|(n, _)| json!(n.to_string()))
    } else {
        None
    };
    Ok(json!({
        "names": names.iter().map(|(n, r)| name_json(n, r, at, network)).collect::<Vec<_>>(),
        "next": next.unwrap_or(Value::Null),
        "height": at.0,
    }))
}

fn namespace_json(
    id: &NamespaceId,
    record: &NamespaceRecord,
    at: naming::Height,
    network: Network,
) -> Value {
    let price = record.terms.price;
    json!({
        "id": id.as_str(),
        "creator": owner_text(record.creator, network),
        "lifetime": record.terms.lifetime,
        "grace": record.terms.grace,
        "price_function": {
            "coeff": price.coeff(),
            "base": price.base(),
            "buckets": price.buckets(),
            "nonalpha_discount": price.nonalpha_discount(),
            "no_vowel_discount": price.no_vowel_discount(),
        },
        "revealed_at": record.revealed_at.0,
        "ready_by": record.ready_by.0,
        "ready_at": record.ready_at.map(|h| h.0),
        "reveal_txid": hex::encode(record.reveal_txid.as_bytes()),
        "status": namespace_status(record.status(at)),
        "height": at.0,
    })
}

/// `getnamespaceinfo id`: a namespace's terms and status.
pub(super) fn namespace_info(v: &NodeView, id: &NamespaceId) -> Result<Value, RpcError> {
    let record = v
        .chain()
        .namespace_record(id)?
        .ok_or_else(|| RpcError::not_found(format!("Namespace not found: {id}")))?;
    Ok(namespace_json(
        id,
        &record,
        next_height(v),
        v.chain().params().network,
    ))
}

/// `getzonefile hash`: the stored zone file in hex, or -5.
pub(super) fn get_zone_file(
    node: &crate::node::Node,
    hash: &naming::ZoneFileHash,
) -> Result<Value, RpcError> {
    let hash = *hash;
    node.read(move |v| v.chain().zone_file(&hash))??
        .map(|file| json!(hex::encode(file)))
        .ok_or_else(|| {
            RpcError::not_found(format!(
                "Zone file not found: {}",
                hex::encode(hash.as_bytes())
            ))
        })
}

/// `putzonefile data`: stores a referenced zone file and answers its hash once it is on
/// disk; an oversized or unreferenced file is -8 and nothing is stored.
pub(super) fn put_zone_file(node: &crate::node::Node, file: Vec<u8>) -> Result<Value, RpcError> {
    use crate::error::ZoneFileError;
    match node.put_zone_file(file) {
        Ok(hash) => Ok(json!(hex::encode(hash.as_bytes()))),
        Err(e @ (ZoneFileError::TooLarge { .. } | ZoneFileError::Unreferenced { .. })) => {
            Err(RpcError::invalid_parameter(e.to_string()))
        }
        Err(ZoneFileError::Node(e)) => Err(e.into()),
    }
}

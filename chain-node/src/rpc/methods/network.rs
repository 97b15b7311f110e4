//! The network methods (`getpeerinfo`, `getnetworkinfo`, `listbanned`, `addnode`,
//! `disconnectnode`, `setnetworkactive`), shaped as Bitcoin Core's, answered from the [`P2p`] handle.

use serde_json::{Value, json};

use super::{Call, RpcError};
use crate::error::P2pError;
use crate::p2p::P2p;

/// -9, `RPC_CLIENT_P2P_DISABLED`: the node runs without `--p2p-listen`.
pub(super) const P2P_DISABLED: i64 = -9;
/// -24, `RPC_CLIENT_NODE_NOT_ADDED`.
pub(super) const NODE_NOT_ADDED: i64 = -24;
/// -29, `RPC_CLIENT_NODE_NOT_CONNECTED`.
pub(super) const NODE_NOT_CONNECTED: i64 = -29;

fn p2p_error(e: P2pError) -> RpcError {
    match e {
        P2pError::NotConnected { .. } => RpcError::new(
            NODE_NOT_CONNECTED,
            format!("Node not found in connected nodes ({e})"),
        ),
        P2pError::NotAdded { .. } => RpcError::new(
            NODE_NOT_ADDED,
            format!("Node could not be removed. It has not been added previously. ({e})"),
        ),
        e => RpcError::internal(super::full(&e)),
    }
}

fn disabled() -> RpcError {
    RpcError::new(
        P2P_DISABLED,
        "Error: Peer-to-peer functionality missing or disabled (start the node with --p2p-listen)",
    )
}

/// The TCP port of a multiaddr's text (`/ip4/…/tcp/PORT/…`), 0 without one.
fn tcp_port(addr: &str) -> u16 {
    let mut parts = addr.split('/');
    while let Some(part) = parts.next() {
        if part == "tcp" {
            return parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        }
    }
    0
}

/// Runs a network call; `None` when `call` is not one.
pub(super) fn dispatch(p2p: Option<&P2p>, call: &Call) -> Option<Result<Value, RpcError>> {
    Some(match call {
        Call::GetPeerInfo => peer_info(p2p),
        Call::GetNetworkInfo => network_info(p2p),
        Call::ListBanned => Ok(list_banned(p2p)),
        Call::AddNode { address, command } => p2p.ok_or_else(disabled).and_then(|p| {
            p.add_node(address.clone(), *command)
                .map(|()| Value::Null)
                .map_err(p2p_error)
        }),
        Call::DisconnectNode { target } => p2p.ok_or_else(disabled).and_then(|p| {
            p.disconnect(target)
                .map(|()| Value::Null)
                .map_err(p2p_error)
        }),
        Call::SetNetworkActive { active } => p2p.ok_or_else(disabled).and_then(|p| {
            p.set_active(*active)
                .map(|()| json!(*active))
                .map_err(p2p_error)
        }),
        _ => return None,
    })
}

fn peer_info(p2p: Option<&P2p>) -> Result<Value, RpcError> {
    let Some(p2p) = p2p else {
        return Ok(json!([]));
    };
    let peers = p2p.peers().map_err(p2p_error)?;
    Ok(Value::Array(
        peers
            .into_iter()
            .map(|p| {
                let mut v = json!({
                    "id": p.id,
                    "addr": p.address.map(|a| a.to_string()).unwrap_or_default(),
                    "peerid": p.peer.to_string(),
                    "inbound": p.inbound,
                    "connection_type": if p.inbound { "inbound" } else { "outbound-full-relay" },
                    "conntime": p.conntime,
                    "subver": p.agent.unwrap_or_default(),
                    "startingheight": p.starting_height,
                    "synced_headers": p.synced_headers,
                    "synced_blocks": p.synced_blocks,
                    "inflight": p.inflight,
                    "misbehavior": p.penalty,
                    "gossip_mesh": p.mesh_topics,
                });
                if let Some(ping) = p.ping {
                    super::set(&mut v, "pingtime", json!(ping.as_secs_f64()));
                }
                v
            })
            .collect(),
    ))
}

fn list_banned(p2p: Option<&P2p>) -> Value {
    let now = crate::node::unix_now();
    Value::Array(
        p2p.map(P2p::banned)
            .unwrap_or_default()
            .into_iter()
            .map(|b| {
                json!({
                    "address": b.peer.to_string(),
                    "ban_created": b.created,
                    "banned_until": b.until,
                    "ban_duration": b.until.saturating_sub(b.created),
                    "time_remaining": b.until.saturating_sub(now),
                    "ban_reason": b.reason,
                })
            })
            .collect(),
    )
}

fn network_info(p2p: Option<&P2p>) -> Result<Value, RpcError> {
    let subversion = concat!("/open-trust:", env!("CARGO_PKG_VERSION"), "/");
    let Some(p2p) = p2p else {
        return Ok(json!({
            "subversion": subversion,
            "protocolversion": 1,
            "networkactive": false,
            "connections": 0,
            "connections_in": 0,
            "connections_out": 0,
            "localaddresses": [],
            "warnings": "peer-to-peer networking is off (no --p2p-listen)",
        }));
    };
    let peers = p2p.peers().map_err(p2p_error)?;
    let inbound = peers.iter().filter(|p| p.inbound).count();
    let local: Vec<Value> = p2p
        .listen_addrs()
        .map_err(p2p_error)?
        .into_iter()
        .map(|a| {
            let a = a.to_string();
            json!({"address": a, "port": tcp_port(&a), "score": 1})
        })
        .collect();
    Ok(json!({
        "subversion": subversion,
        "protocolversion": 1,
        "localrelay": true,
        "peerid": p2p.peer_id().to_string(),
        "networkactive": p2p.is_active(),
        "connections": peers.len(),
        "connections_in": inbound,
        "connections_out": peers.len() - inbound,
        "localaddresses": local,
        "warnings": "",
    }))
}

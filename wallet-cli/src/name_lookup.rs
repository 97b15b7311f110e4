//! What `wallet name resolve` asks the node: a name's record and its zone file. A
//! lookup needs nothing the wallet keeps secret, so it goes through a [`NodeLink`] (the
//! wallet's network and an RPC client) and never unlocks the wallet: no passphrase is
//! asked, no key derived, and there need not be a wallet at all.

use naming::Name;
use serde_json::{Value, json};

use crate::chain_cmds::rpc;
use crate::keystore::{Keystore, KeystoreError};
use crate::names::METHOD_NOT_FOUND;
use crate::output::{Failure, failed};
use crate::rpc::{RpcClient, RpcError};
use crate::wallet::Config;

/// The wallet's node, for calls that need no key.
pub struct NodeLink<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) rpc: RpcClient,
}

impl<'a> NodeLink<'a> {
    /// The node of `cfg`: its URL and cookie, nothing from the keystore.
    ///
    /// # Errors
    /// The node's cookie cannot be read.
    pub fn open(cfg: &'a Config) -> Result<Self, Failure> {
        Ok(NodeLink {
            cfg,
            rpc: rpc(cfg)?,
        })
    }

    /// [`NodeLink::open`] for a lookup by a wallet that is not unlocked: a keystore in
    /// `cfg`'s directory, when there is one, must be of `cfg`'s network (its file is
    /// read, not unlocked); there need not be one.
    ///
    /// # Errors
    /// A keystore of another network, or one that cannot be read; the node's cookie
    /// cannot be read.
    pub fn for_lookup(cfg: &'a Config) -> Result<Self, Failure> {
        if !matches!(
            Keystore::open(&cfg.wallet_dir),
            Err(KeystoreError::Missing { .. })
        ) {
            crate::wallet::open(cfg)?;
        }
        Self::open(cfg)
    }

    /// The wallet's network.
    pub fn network(&self) -> chain_node::Network {
        self.cfg.network
    }

    /// Calls `method` with `params`.
    ///
    /// # Errors
    /// The node is unreachable or refuses the call.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, Failure> {
        self.rpc.call(method, params).map_err(failed)
    }

    /// `getnameinfo`, or `None` for a name the node does not know.
    pub(crate) fn name_info(&self, name: &Name) -> Result<Option<Value>, Failure> {
        match self.rpc.call("getnameinfo", json!([name.to_string()])) {
            Ok(v) => Ok(Some(v)),
            Err(RpcError::Node { code: -5, .. }) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }
}

/// A name's state for `resolve`: the record, and the zone file when the node has it.
pub fn lookup(s: &NodeLink<'_>, name: &Name) -> Result<Option<Value>, Failure> {
    s.name_info(name)
}

/// Fetches a zone file by hash and checks it; text for the report.
pub fn fetch_zone_file(s: &NodeLink<'_>, hash: &str) -> Result<Result<Vec<u8>, String>, Failure> {
    let answer = match s.rpc.call("getzonefile", json!([hash])) {
        Ok(v) => v,
        Err(RpcError::Node {
            code: METHOD_NOT_FOUND,
            ..
        }) => {
            return Ok(Err(
                "this node does not serve zone files (no getzonefile)".into()
            ));
        }
        Err(RpcError::Node { message, .. }) => {
            return Ok(Err(format!("the node does not have it: {message}")));
        }
        Err(e) => return Err(failed(e)),
    };
    let hex_text = answer
        .as_str()
        .or_else(|| answer.get("data").and_then(Value::as_str))
        .or_else(|| answer.get("hex").and_then(Value::as_str))
        .or_else(|| answer.get("zonefile").and_then(Value::as_str))
        .unwrap_or_default();
    let bytes = hex::decode(hex_text)
        .map_err(|_| crate::output::invalid("the node's zone file is not hex"))?;
    if hex::encode(crate::names::zone_file_hash(&bytes).as_bytes()) != hash {
        return Err(crate::output::invalid(format!(
            "the node's zone file does not hash to {hash}"
        )));
    }
    Ok(Ok(bytes))
}

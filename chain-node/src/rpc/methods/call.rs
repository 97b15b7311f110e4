//! The pure parse layer of the RPC methods: a method name and its JSON parameters
//! become a typed [`Call`] before anything touches the node.

use serde_json::{Value, json};

use super::{MAX_ADDRESSES, MAX_GENERATE_BLOCKS, MAX_LIST_BLOCKS, MAX_TEST_TRANSACTIONS, RpcError};
use crate::address::Address;
use crate::block::Block;
use crate::encoding::{Decode, decode_exact};
use crate::hash::{BlockHash, TxId};
use crate::p2p::{AddNode, PeerTarget};
use crate::params::{MAX_BLOCK_SIZE, MAX_TX_SIZE, Network};
use crate::transaction::{MAX_BURN_DATA, OutPoint, Transaction};
use crate::zonefile::MAX_ZONE_FILE_BYTES;
use gossip::Multiaddr;

/// One RPC call with its parameters as typed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `getblockchaininfo`.
    GetBlockchainInfo,
    /// `listdataoutputs prefix fromheight (maxblocks)`: data outputs of the active
    /// chain whose bytes start with `prefix`, by a bounded scan.
    ListDataOutputs {
        /// 1 to [`MAX_BURN_DATA`] bytes.
        prefix: Vec<u8>,
        /// The first height scanned.
        from: u64,
        /// Most blocks scanned, 1 to [`MAX_LIST_BLOCKS`].
        max_blocks: u64,
    },
    /// `getblockcount`.
    GetBlockCount,
    /// `getnameinfo name`.
    GetNameInfo {
        /// The name.
        name: naming::Name,
    },
    /// `getnameprice name`.
    GetNamePrice {
        /// The name.
        name: naming::Name,
    },
    /// `listnames (after) (count)`: a page of names in name order.
    ListNames {
        /// The page starts after this name (`None` or `""`: at the first name).
        after: Option<naming::Name>,
        /// Most names answered, 1 to [`super::names::MAX_LIST_NAMES`].
        count: u64,
    },
    /// `getnamespaceinfo id`.
    GetNamespaceInfo {
        /// The namespace id.
        id: naming::NamespaceId,
    },
    /// `getzonefile hash`.
    GetZoneFile {
        /// The zone file's SHA-256.
        hash: naming::ZoneFileHash,
    },
    /// `putzonefile data`.
    PutZoneFile {
        /// The file, at most [`MAX_ZONE_FILE_BYTES`].
        file: Vec<u8>,
    },
    /// `getbestblockhash`.
    GetBestBlockHash,
    /// `getblockhash height`.
    GetBlockHash {
        /// The height asked for (any `u64`; heights past the tip are answered -8).
        height: u64,
    },
    /// `getblock blockhash (verbosity)`.
    GetBlock {
        /// The block.
        hash: BlockHash,
        /// 0 (hex), 1 (txids) or 2 and more (transactions); `true` is 1.
        verbosity: u64,
    },
    /// `getblockheader blockhash (verbose)`.
    GetBlockHeader {
        /// The block.
        hash: BlockHash,
        /// JSON (default) or hex.
        verbose: bool,
    },
    /// `getchaintips`.
    GetChainTips,
    /// `getrawmempool (verbose)`.
    GetRawMempool {
        /// Entries with sizes and fees instead of txids.
        verbose: bool,
    },
    /// `getmempoolinfo`.
    GetMempoolInfo,
    /// `sendrawtransaction hexstring`.
    SendRawTransaction {
        /// The decoded transaction.
        tx: Transaction,
    },
    /// `testmempoolaccept rawtxs`.
    TestMempoolAccept {
        /// The decoded transactions.
        txs: Vec<Transaction>,
    },
    /// `getrawtransaction txid (verbose) (blockhash)`.
    GetRawTransaction {
        /// The transaction.
        txid: TxId,
        /// JSON instead of hex.
        verbose: bool,
        /// The block to look in (without it, the mempool).
        block: Option<BlockHash>,
    },
    /// `gettxout txid n (include_mempool)`.
    GetTxOut {
        /// The output.
        outpoint: OutPoint,
        /// Whether mempool spends and outputs count (default true).
        include_mempool: bool,
    },
    /// `getaddressutxos addresses`.
    GetAddressUtxos {
        /// Each address as given, and parsed.
        addresses: Vec<(String, Address)>,
    },
    /// `generatetoaddress nblocks address`.
    GenerateToAddress {
        /// How many blocks.
        nblocks: u32,
        /// Where the coinbases pay.
        address: Address,
    },
    /// `validateaddress address`.
    ValidateAddress {
        /// The text to check (any string).
        address: String,
    },
    /// `getblocktemplate`.
    GetBlockTemplate,
    /// `submitblock hexdata`.
    SubmitBlock {
        /// The decoded block.
        block: Block,
    },
    /// `invalidateblock blockhash`.
    InvalidateBlock {
        /// The block.
        hash: BlockHash,
    },
    /// `reconsiderblock blockhash`.
    ReconsiderBlock {
        /// The block.
        hash: BlockHash,
    },
    /// `getpeerinfo`.
    GetPeerInfo,
    /// `getnetworkinfo`.
    GetNetworkInfo,
    /// `listbanned`.
    ListBanned,
    /// `addnode node command`.
    AddNode {
        /// The peer's multiaddr (`HOST:PORT` is read as `/ip4/HOST/tcp/PORT`).
        address: Multiaddr,
        /// `add`, `remove` or `onetry`.
        command: AddNode,
    },
    /// `disconnectnode (address) (nodeid)`.
    DisconnectNode {
        /// The peer: its address or peer id, or the node's number for it.
        target: PeerTarget,
    },
    /// `setnetworkactive state`.
    SetNetworkActive {
        /// Whether connections are allowed.
        active: bool,
    },
    /// `getnameproof name (height)`.
    GetNameProof {
        /// The name.
        name: naming::Name,
        /// The height asked for (only the tip's is served).
        height: Option<u64>,
    },
    /// `getblockheaders start count`.
    GetBlockHeaders {
        /// The first height.
        start: u64,
        /// Most headers, 1 to [`super::proofs::MAX_BLOCK_HEADERS`].
        count: u64,
    },
    /// `stop`.
    Stop,
}

/// Positional or named parameters.
struct Params<'a>(&'a Value);

impl Params<'_> {
    fn get(&self, index: usize, name: &str) -> Option<&Value> {
        match self.0 {
            Value::Array(a) => a.get(index),
            Value::Object(o) => o.get(name),
            _ => None,
        }
        .filter(|v| !v.is_null())
    }

    fn required(&self, index: usize, name: &str) -> Result<&Value, RpcError> {
        self.get(index, name).ok_or_else(|| {
            RpcError::arity(format!("missing parameter {name} (position {})", index + 1))
        })
    }

    fn str(&self, index: usize, name: &str) -> Result<&str, RpcError> {
        self.required(index, name)?
            .as_str()
            .ok_or_else(|| RpcError::type_error(format!("parameter {name} must be a string")))
    }

    /// A non-negative integer; a negative one is out of range (-8), anything else
    /// the wrong type (-3).
    fn u64(&self, index: usize, name: &str) -> Result<u64, RpcError> {
        let v = self.required(index, name)?;
        if let Some(n) = v.as_u64() {
            Ok(n)
        } else if let Some(n) = v.as_i64() {
            Err(RpcError::invalid_parameter(format!(
                "{name} {n} is out of range: it must not be negative"
            )))
        } else {
            Err(RpcError::type_error(format!(
                "parameter {name} must be an integer"
            )))
        }
    }

    fn block_hash(&self, index: usize, name: &str) -> Result<BlockHash, RpcError> {
        self.str(index, name)?
            .parse()
            .map_err(|_| RpcError::invalid_parameter(format!("{name} must be 64 hex characters")))
    }

    fn txid(&self, index: usize, name: &str) -> Result<TxId, RpcError> {
        self.str(index, name)?
            .parse()
            .map_err(|_| RpcError::invalid_parameter(format!("{name} must be 64 hex characters")))
    }

    fn bool_or(&self, index: usize, name: &str, default: bool) -> bool {
        self.get(index, name)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }
}

/// A peer address: a multiaddr, or `HOST:PORT` read as `/ip4/HOST/tcp/PORT` (or ip6).
fn multiaddr(s: &str) -> Result<Multiaddr, RpcError> {
    if let Ok(socket) = s.parse::<std::net::SocketAddr>() {
        let ip = match socket.ip() {
            std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
            std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
        };
        return format!("{ip}/tcp/{}", socket.port())
            .parse()
            .map_err(|_| RpcError::invalid_parameter(format!("bad address {s:?}")));
    }
    s.parse().map_err(|e| {
        RpcError::invalid_parameter(format!(
            "address {s:?} is neither a multiaddr nor HOST:PORT: {e}"
        ))
    })
}

fn address(s: &str, network: Network) -> Result<Address, RpcError> {
    Address::parse(s, network)
        .map_err(|e| RpcError::not_found(format!("Invalid address {s:?}: {e}")))
}

/// Decodes the hex of an object of at most `max` bytes; longer text is refused
/// before it is decoded.
fn decode_hex<T: Decode>(s: &str, what: &str, max: usize) -> Result<T, RpcError> {
    if s.len() / 2 > max {
        return Err(RpcError::deserialization(format!(
            "{what} decode failed: {} bytes, more than the {max} a {what} may have",
            s.len() / 2
        )));
    }
    let bytes = hex::decode(s)
        .map_err(|_| RpcError::deserialization(format!("{what} decode failed: not hex")))?;
    decode_exact(&bytes)
        .map_err(|e| RpcError::deserialization(format!("{what} decode failed: {e}")))
}

/// Parses the parameters of `method` (positional or named) for a node of `network`.
///
/// # Errors
/// [`RpcError`] with Bitcoin Core's codes: -32601 unknown method, -1 missing
/// parameter, -3 parameter of the wrong type, -8 invalid parameter, -5 bad address,
/// -22 undecodable hex.
pub fn parse_call(method: &str, params: &Value, network: Network) -> Result<Call, RpcError> {
    let p = Params(params);
    Ok(match method {
        "getblockchaininfo" => Call::GetBlockchainInfo,
        "getblockcount" => Call::GetBlockCount,
        "getbestblockhash" => Call::GetBestBlockHash,
        "getblockhash" => Call::GetBlockHash {
            // As Core: any integer is a height, and one below 0 is out of range.
            height: p.u64(0, "height").map_err(|e| {
                if e.code == RpcError::INVALID_PARAMETER {
                    RpcError::invalid_parameter("Block height out of range")
                } else {
                    e
                }
            })?,
        },
        "getblock" => Call::GetBlock {
            hash: p.block_hash(0, "blockhash")?,
            verbosity: match p.get(1, "verbosity") {
                None => 1,
                Some(Value::Bool(b)) => u64::from(*b),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| RpcError::type_error("verbosity must be 0, 1 or 2"))?,
            },
        },
        "getblockheader" => Call::GetBlockHeader {
            hash: p.block_hash(0, "blockhash")?,
            verbose: p.bool_or(1, "verbose", true),
        },
        "getchaintips" => Call::GetChainTips,
        "getrawmempool" => Call::GetRawMempool {
            verbose: p.bool_or(0, "verbose", false),
        },
        "getmempoolinfo" => Call::GetMempoolInfo,
        "sendrawtransaction" => Call::SendRawTransaction {
            tx: decode_hex(p.str(0, "hexstring")?, "TX", MAX_TX_SIZE)?,
        },
        "testmempoolaccept" => {
            let raws = p
                .required(0, "rawtxs")?
                .as_array()
                .ok_or_else(|| RpcError::type_error("rawtxs must be an array of hex strings"))?;
            if raws.len() > MAX_TEST_TRANSACTIONS {
                return Err(RpcError::invalid_parameter(format!(
                    "rawtxs holds {} transactions; at most {MAX_TEST_TRANSACTIONS} are checked at once",
                    raws.len()
                )));
            }
            let txs = raws
                .iter()
                .map(|raw| {
                    let s = raw.as_str().ok_or_else(|| {
                        RpcError::type_error("rawtxs must be an array of hex strings")
                    })?;
                    decode_hex(s, "TX", MAX_TX_SIZE)
                })
                .collect::<Result<_, _>>()?;
            Call::TestMempoolAccept { txs }
        }
        "getrawtransaction" => Call::GetRawTransaction {
            txid: p.txid(0, "txid")?,
            verbose: match p.get(1, "verbose") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => v.as_u64().is_some_and(|n| n > 0),
            },
            block: match p.get(2, "blockhash") {
                None => None,
                Some(_) => Some(p.block_hash(2, "blockhash")?),
            },
        },
        "gettxout" => Call::GetTxOut {
            outpoint: OutPoint {
                txid: p.txid(0, "txid")?,
                vout: u32::try_from(p.u64(1, "n")?)
                    .map_err(|_| RpcError::invalid_parameter("n out of range"))?,
            },
            include_mempool: p.bool_or(2, "include_mempool", true),
        },
        "getaddressutxos" => {
            let list = match p.required(0, "addresses")? {
                Value::Object(o) => o.get("addresses").unwrap_or(&Value::Null),
                other => other,
            };
            let texts: Vec<&str> = match list {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or_else(|| RpcError::type_error("addresses must be strings"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(RpcError::type_error("expected an array of addresses")),
            };
            if texts.len() > MAX_ADDRESSES {
                return Err(RpcError::invalid_parameter(format!(
                    "{} addresses asked for; at most {MAX_ADDRESSES} are looked up at once",
                    texts.len()
                )));
            }
            let addresses = texts
                .into_iter()
                .map(|s| address(s, network).map(|a| (s.to_owned(), a)))
                .collect::<Result<_, _>>()?;
            Call::GetAddressUtxos { addresses }
        }
        "generatetoaddress" => Call::GenerateToAddress {
            nblocks: {
                let n = p.u64(0, "nblocks")?;
                u32::try_from(n)
                    .ok()
                    .filter(|&n| u64::from(n) <= MAX_GENERATE_BLOCKS)
                    .ok_or_else(|| {
                        RpcError::invalid_parameter(format!(
                            "nblocks {n} is more than the {MAX_GENERATE_BLOCKS} blocks one call \
                             mines; call again for more"
                        ))
                    })?
            },
            address: address(p.str(1, "address")?, network)?,
        },
        "validateaddress" => Call::ValidateAddress {
            address: p.str(0, "address")?.to_owned(),
        },
        "getblocktemplate" => Call::GetBlockTemplate,
        "submitblock" => Call::SubmitBlock {
            block: decode_hex(p.str(0, "hexdata")?, "Block", MAX_BLOCK_SIZE)?,
        },
        "invalidateblock" => Call::InvalidateBlock {
            hash: p.block_hash(0, "blockhash")?,
        },
        "reconsiderblock" => Call::ReconsiderBlock {
            hash: p.block_hash(0, "blockhash")?,
        },
        "getpeerinfo" => Call::GetPeerInfo,
        "getnetworkinfo" => Call::GetNetworkInfo,
        "listbanned" => Call::ListBanned,
        "addnode" => Call::AddNode {
            address: multiaddr(p.str(0, "node")?)?,
            command: match p.str(1, "command")? {
                "add" => AddNode::Add,
                "remove" => AddNode::Remove,
                "onetry" => AddNode::OneTry,
                other => {
                    return Err(RpcError::invalid_parameter(format!(
                        "command {other:?} must be add, remove or onetry"
                    )));
                }
            },
        },
        "disconnectnode" => {
            let address = p.get(0, "address").and_then(Value::as_str).unwrap_or("");
            let target = match (address, p.get(1, "nodeid")) {
                ("", Some(_)) => PeerTarget::Id(p.u64(1, "nodeid")?),
                ("", None) => {
                    return Err(RpcError::invalid_parameter(
                        "give either an address or a nodeid",
                    ));
                }
                (a, None) => PeerTarget::Address(a.to_owned()),
                (_, Some(_)) => {
                    return Err(RpcError::invalid_parameter(
                        "give either an address or a nodeid, not both",
                    ));
                }
            };
            Call::DisconnectNode { target }
        }
        "setnetworkactive" => Call::SetNetworkActive {
            active: p
                .required(0, "state")?
                .as_bool()
                .ok_or_else(|| RpcError::type_error("parameter state must be true or false"))?,
        },
        "listdataoutputs" => {
            let text = p.str(0, "prefix")?;
            let prefix = if text.len() / 2 > MAX_BURN_DATA {
                None
            } else {
                hex::decode(text).ok().filter(|p| !p.is_empty())
            }
            .ok_or_else(|| {
                RpcError::invalid_parameter(format!(
                    "prefix must be 1 to {MAX_BURN_DATA} bytes in hex"
                ))
            })?;
            let max_blocks = match p.get(2, "maxblocks") {
                None => MAX_LIST_BLOCKS,
                Some(_) => p.u64(2, "maxblocks")?,
            };
            if max_blocks == 0 || max_blocks > MAX_LIST_BLOCKS {
                return Err(RpcError::invalid_parameter(format!(
                    "maxblocks {max_blocks} is out of range: one call scans 1 to \
                     {MAX_LIST_BLOCKS} blocks; call again from the next height"
                )));
            }
            Call::ListDataOutputs {
                prefix,
                from: p.u64(1, "fromheight")?,
                max_blocks,
            }
        }
        "getnameinfo" => Call::GetNameInfo {
            name: super::names::parse_name(p.str(0, "name")?)?,
        },
        "getnameprice" => Call::GetNamePrice {
            name: super::names::parse_name(p.str(0, "name")?)?,
        },
        "listnames" => {
            let after = match p.get(0, "after") {
                None | Some(Value::Null) => None,
                Some(_) => match p.str(0, "after")? {
                    "" => None,
                    text => Some(super::names::parse_name(text)?),
                },
            };
            let max = super::names::MAX_LIST_NAMES;
            let count = match p.get(1, "count") {
                None => max,
                Some(_) => p.u64(1, "count")?,
            };
            if count == 0 || count > max {
                return Err(RpcError::invalid_parameter(format!(
                    "count {count} is out of range: one call lists 1 to {max} names; \
                     call again after the last name for more"
                )));
            }
            Call::ListNames { after, count }
        }
        "getnamespaceinfo" => Call::GetNamespaceInfo {
            id: super::names::parse_namespace(p.str(0, "id")?)?,
        },
        "getnameproof" => Call::GetNameProof {
            name: super::names::parse_name(p.str(0, "name")?)?,
            height: match p.get(1, "height") {
                None => None,
                Some(_) => Some(p.u64(1, "height")?),
            },
        },
        "getblockheaders" => {
            let max = super::proofs::MAX_BLOCK_HEADERS;
            let count = p.u64(1, "count")?;
            if count == 0 || count > max {
                return Err(RpcError::invalid_parameter(format!(
                    "count {count} is out of range: one call returns 1 to {max} headers"
                )));
            }
            Call::GetBlockHeaders {
                start: p.u64(0, "start")?,
                count,
            }
        }
        "getzonefile" => {
            let text = p.str(0, "hash")?;
            let hash = hex::decode(text)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    RpcError::invalid_parameter("hash must be 64 hex characters (a SHA-256)")
                })?;
            Call::GetZoneFile {
                hash: naming::ZoneFileHash(hash),
            }
        }
        "putzonefile" => {
            let text = p.str(0, "data")?;
            if text.len() / 2 > MAX_ZONE_FILE_BYTES {
                return Err(RpcError::invalid_parameter(format!(
                    "zone file of {} bytes exceeds the maximum of {MAX_ZONE_FILE_BYTES} bytes",
                    text.len() / 2
                )));
            }
            let file = hex::decode(text).map_err(|_| {
                RpcError::deserialization("zone file decode failed: not hex".to_owned())
            })?;
            Call::PutZoneFile { file }
        }
        "stop" => Call::Stop,
        other => {
            return Err(RpcError::new(
                RpcError::METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
            ));
        }
    })
}

impl Call {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            Call::GetBlockchainInfo => "getblockchaininfo",
            Call::ListDataOutputs { .. } => "listdataoutputs",
            Call::GetBlockCount => "getblockcount",
            Call::GetNameInfo { .. } => "getnameinfo",
            Call::GetNamePrice { .. } => "getnameprice",
            Call::ListNames { .. } => "listnames",
            Call::GetNamespaceInfo { .. } => "getnamespaceinfo",
            Call::GetZoneFile { .. } => "getzonefile",
            Call::PutZoneFile { .. } => "putzonefile",
            Call::GetBestBlockHash => "getbestblockhash",
            Call::GetBlockHash { .. } => "getblockhash",
            Call::GetBlock { .. } => "getblock",
            Call::GetBlockHeader { .. } => "getblockheader",
            Call::GetChainTips => "getchaintips",
            Call::GetRawMempool { .. } => "getrawmempool",
            Call::GetMempoolInfo => "getmempoolinfo",
            Call::SendRawTransaction { .. } => "sendrawtransaction",
            Call::TestMempoolAccept { .. } => "testmempoolaccept",
            Call::GetRawTransaction { .. } => "getrawtransaction",
            Call::GetTxOut { .. } => "gettxout",
            Call::GetAddressUtxos { .. } => "getaddressutxos",
            Call::GenerateToAddress { .. } => "generatetoaddress",
            Call::ValidateAddress { .. } => "validateaddress",
            Call::GetBlockTemplate => "getblocktemplate",
            Call::SubmitBlock { .. } => "submitblock",
            Call::InvalidateBlock { .. } => "invalidateblock",
            Call::ReconsiderBlock { .. } => "reconsiderblock",
            Call::GetPeerInfo => "getpeerinfo",
            Call::GetNetworkInfo => "getnetworkinfo",
            Call::ListBanned => "listbanned",
            Call::AddNode { .. } => "addnode",
            Call::DisconnectNode { .. } => "disconnectnode",
            Call::SetNetworkActive { .. } => "setnetworkactive",
            Call::GetNameProof { .. } => "getnameproof",
            Call::GetBlockHeaders { .. } => "getblockheaders",
            Call::Stop => "stop",
        }
    }

    /// The positional parameters a client sends for this call, every optional one
    /// written out; [`parse_call`] reads them back to the same call.
    pub fn to_params(&self, network: Network) -> Value {
        match self {
            Call::GetBlockchainInfo
            | Call::GetBlockCount
            | Call::GetBestBlockHash
            | Call::GetChainTips
            | Call::GetMempoolInfo
            | Call::GetBlockTemplate
            | Call::GetPeerInfo
            | Call::GetNetworkInfo
            | Call::ListBanned
            | Call::Stop => json!([]),
            Call::AddNode { address, command } => json!([
                address.to_string(),
                match command {
                    AddNode::Add => "add",
                    AddNode::Remove => "remove",
                    AddNode::OneTry => "onetry",
                }
            ]),
            Call::DisconnectNode { target } => match target {
                PeerTarget::Address(a) => json!([a]),
                PeerTarget::Id(id) => json!(["", id]),
            },
            Call::SetNetworkActive { active } => json!([active]),
            Call::GetBlockHash { height } => json!([height]),
            Call::GetBlock { hash, verbosity } => json!([hash.to_hex(), verbosity]),
            Call::GetBlockHeader { hash, verbose } => json!([hash.to_hex(), verbose]),
            Call::GetRawMempool { verbose } => json!([verbose]),
            Call::SendRawTransaction { tx } => json!([hex::encode(tx.to_bytes())]),
            Call::TestMempoolAccept { txs } => json!([txs
                .iter()
                .map(|t| hex::encode(t.to_bytes()))
                .collect::<Vec<_>>()]),
            Call::GetRawTransaction {
                txid,
                verbose,
                block,
            } => json!([txid.to_hex(), verbose, block.map(|b| b.to_hex())]),
            Call::GetTxOut {
                outpoint,
                include_mempool,
            } => json!([outpoint.txid.to_hex(), outpoint.vout, include_mempool]),
            Call::GetAddressUtxos { addresses } => json!([addresses
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()]),
            Call::GenerateToAddress { nblocks, address } => {
                json!([nblocks, address.encode(network)])
            }
            Call::ValidateAddress { address } => json!([address]),
            Call::GetNameInfo { name } | Call::GetNamePrice { name } => {
                json!([name.to_string()])
            }
            Call::ListNames { after, count } => {
                json!([
                    after.as_ref().map(ToString::to_string).unwrap_or_default(),
                    count
                ])
            }
            Call::GetNamespaceInfo { id } => json!([id.as_str()]),
            Call::GetNameProof { name, height } => json!([name.to_string(), height]),
            Call::GetBlockHeaders { start, count } => json!([start, count]),
            Call::GetZoneFile { hash } => json!([hex::encode(hash.as_bytes())]),
            Call::PutZoneFile { file } => json!([hex::encode(file)]),
            Call::ListDataOutputs {
                prefix,
                from,
                max_blocks,
            } => json!([hex::encode(prefix), from, max_blocks]),
            Call::SubmitBlock { block } => json!([hex::encode(block.to_bytes())]),
            Call::InvalidateBlock { hash } | Call::ReconsiderBlock { hash } => {
                json!([hash.to_hex()])
            }
        }
    }
}

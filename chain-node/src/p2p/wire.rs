//! The chain protocol's wire types: the status exchanged on connect, the sync requests
//! and responses, the gossip topics, and their encodings with the crate's one encoder
//! (`crate::encoding`). Every decoder is bounded before it allocates; docs/p2p.md
//! ("Chain protocol") describes the bytes.

use crate::block::{Block, HEADER_SIZE, Header};
use crate::chain::{MAX_HEADERS_RESULTS, MAX_LOCATOR_HASHES};
use crate::encoding::{
    Decode, Encode, Reader, decode_exact, encode_to_vec, put_compact_size, put_list, put_var_bytes,
};
use crate::error::DecodeError;
use crate::hash::BlockHash;
use crate::u256::U256;
use crate::units::Height;
use crate::zonefile::MAX_ZONE_FILE_BYTES;
use naming::ZoneFileHash;

/// Most block hashes in one `GetBlocks` request (and blocks in its answer).
pub const MAX_GET_BLOCKS: usize = 16;
/// Most bytes of blocks in one `Blocks` answer: a responder stops adding blocks before
/// passing it (a block of at most the block limit always fits alone).
pub const MAX_BLOCKS_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most zone-file hashes in one `GetZoneFiles` request (and files in its answer).
pub const MAX_GET_ZONE_FILES: usize = 16;
/// Longest network name in a status (as the gossip layer allows).
pub const MAX_NETWORK_NAME: usize = 32;

/// The status protocol's version suffix: `/open-trust/<network>/status/1`.
pub const STATUS_VERSION: &str = "1";
/// The request protocol's name and version: `/open-trust/<network>/sync/1`.
pub const REQUEST_PROTOCOL: &str = "sync/1";

const TAG_GET_HEADERS: u8 = 0;
const TAG_GET_BLOCKS: u8 = 1;
const TAG_GET_ZONE_FILES: u8 = 2;
const TAG_HEADERS: u8 = 0;
const TAG_BLOCKS: u8 = 1;
const TAG_ZONE_FILES: u8 = 2;
/// Smallest encoded block: a header and an empty transaction list.
const MIN_BLOCK_SIZE: usize = HEADER_SIZE + 1;

/// The gossipsub topic of block announcements on `network`.
pub fn blocks_topic(network: &str) -> String {
    format!("/open-trust/{network}/blocks/1")
}

/// The gossipsub topic of transaction announcements on `network`.
pub fn txs_topic(network: &str) -> String {
    format!("/open-trust/{network}/txs/1")
}

/// The chain protocol, as the gossip layer names its parts.
#[derive(Debug, Clone, Copy)]
pub struct ChainProtocol;

impl gossip::Protocol for ChainProtocol {
    type Status = ChainStatus;
    type Request = SyncRequest;
    type Response = SyncResponse;
    const STATUS_VERSION: &'static str = STATUS_VERSION;
    const REQUEST_PROTOCOL: &'static str = REQUEST_PROTOCOL;
}

/// What a node tells each peer when a connection opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStatus {
    /// The network's name (`regtest`, `test`...).
    pub network: String,
    /// The genesis block's hash.
    pub genesis: BlockHash,
    /// Height of the best header (the valid header with the most work).
    pub best_height: Height,
    /// Hash of the best header.
    pub best_hash: BlockHash,
    /// Chain work of the best header.
    pub best_work: U256,
    /// Height of the active tip (the last connected block).
    pub tip_height: Height,
    /// Hash of the active tip.
    pub tip_hash: BlockHash,
}

impl Encode for ChainStatus {
    fn encode(&self, out: &mut Vec<u8>) {
        put_var_bytes(out, self.network.as_bytes());
        self.genesis.encode(out);
        out.extend_from_slice(&self.best_height.0.to_le_bytes());
        self.best_hash.encode(out);
        out.extend_from_slice(&self.best_work.to_be_bytes());
        out.extend_from_slice(&self.tip_height.0.to_le_bytes());
        self.tip_hash.encode(out);
    }
}

impl Decode for ChainStatus {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = r.var_bytes("network name", MAX_NETWORK_NAME)?;
        let network = String::from_utf8(name).map_err(|_| DecodeError::BadTag {
            what: "network name (not UTF-8)",
            tag: 0,
        })?;
        Ok(ChainStatus {
            network,
            genesis: BlockHash::decode(r)?,
            best_height: Height(r.u32()?),
            best_hash: BlockHash::decode(r)?,
            best_work: U256::from_be_bytes(&r.array()?),
            tip_height: Height(r.u32()?),
            tip_hash: BlockHash::decode(r)?,
        })
    }
}

/// A request for history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// Headers of the responder's active chain after the first locator hash it has on
    /// it, at most [`MAX_HEADERS_RESULTS`], ending early at `stop`.
    GetHeaders {
        /// Block locator, newest first, at most [`MAX_LOCATOR_HASHES`].
        locator: Vec<BlockHash>,
        /// Last header wanted (`None`: as many as allowed).
        stop: Option<BlockHash>,
    },
    /// Blocks by hash, at most [`MAX_GET_BLOCKS`].
    GetBlocks(Vec<BlockHash>),
    /// Zone files by SHA-256, at most [`MAX_GET_ZONE_FILES`].
    GetZoneFiles(Vec<ZoneFileHash>),
}

impl Encode for SyncRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SyncRequest::GetHeaders { locator, stop } => {
                out.push(TAG_GET_HEADERS);
                put_list(out, locator);
                // All zero: no stop hash (no block has the all-zero hash).
                stop.unwrap_or_default().encode(out);
            }
            SyncRequest::GetBlocks(hashes) => {
                out.push(TAG_GET_BLOCKS);
                put_list(out, hashes);
            }
            SyncRequest::GetZoneFiles(hashes) => {
                out.push(TAG_GET_ZONE_FILES);
                put_compact_size(out, hashes.len() as u64);
                for hash in hashes {
                    out.extend_from_slice(hash.as_bytes());
                }
            }
        }
    }
}

impl Decode for SyncRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            TAG_GET_HEADERS => {
                let locator = r.list("locator", MAX_LOCATOR_HASHES, 32)?;
                let stop = BlockHash::decode(r)?;
                Ok(SyncRequest::GetHeaders {
                    locator,
                    stop: (stop != BlockHash::default()).then_some(stop),
                })
            }
            TAG_GET_BLOCKS => Ok(SyncRequest::GetBlocks(r.list(
                "block hashes",
                MAX_GET_BLOCKS,
                32,
            )?)),
            TAG_GET_ZONE_FILES => {
                let len = r.length("zone-file hashes", MAX_GET_ZONE_FILES, 32)?;
                let mut hashes = Vec::with_capacity(len);
                for _ in 0..len {
                    hashes.push(ZoneFileHash(r.array()?));
                }
                Ok(SyncRequest::GetZoneFiles(hashes))
            }
            tag => Err(DecodeError::BadTag {
                what: "sync request",
                tag,
            }),
        }
    }
}

/// The answer to a [`SyncRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// Headers, each the parent of the next, at most [`MAX_HEADERS_RESULTS`].
    Headers(Vec<Header>),
    /// The blocks asked for that the responder has, in the order asked, at most
    /// [`MAX_GET_BLOCKS`] and [`MAX_BLOCKS_RESPONSE_BYTES`] of blocks.
    Blocks(Vec<Block>),
    /// The zone files asked for that the responder has, in the order asked, at most
    /// [`MAX_GET_ZONE_FILES`] of at most [`MAX_ZONE_FILE_BYTES`] each. The asker checks
    /// that each file's SHA-256 is one it asked for.
    ZoneFiles(Vec<Vec<u8>>),
}

impl Encode for SyncResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SyncResponse::Headers(headers) => {
                out.push(TAG_HEADERS);
                put_list(out, headers);
            }
            SyncResponse::Blocks(blocks) => {
                out.push(TAG_BLOCKS);
                put_compact_size(out, blocks.len() as u64);
                for block in blocks {
                    block.encode(out);
                }
            }
            SyncResponse::ZoneFiles(files) => {
                out.push(TAG_ZONE_FILES);
                put_compact_size(out, files.len() as u64);
                for file in files {
                    put_var_bytes(out, file);
                }
            }
        }
    }
}

impl Decode for SyncResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            TAG_HEADERS => Ok(SyncResponse::Headers(r.list(
                "headers",
                MAX_HEADERS_RESULTS,
                HEADER_SIZE,
            )?)),
            TAG_BLOCKS => Ok(SyncResponse::Blocks(r.list(
                "blocks",
                MAX_GET_BLOCKS,
                MIN_BLOCK_SIZE,
            )?)),
            TAG_ZONE_FILES => {
                let len = r.length("zone files", MAX_GET_ZONE_FILES, 1)?;
                let mut files = Vec::with_capacity(len);
                for _ in 0..len {
                    files.push(r.var_bytes("zone file", MAX_ZONE_FILE_BYTES)?);
                }
                Ok(SyncResponse::ZoneFiles(files))
            }
            tag => Err(DecodeError::BadTag {
                what: "sync response",
                tag,
            }),
        }
    }
}

/// Implements the gossip layer's `Wire` with the crate's encoder.
macro_rules! wire {
    ($t:ty, $max:expr) => {
        impl gossip::Wire for $t {
            const MAX_BYTES: usize = $max;
            fn to_bytes(&self) -> Vec<u8> {
                encode_to_vec(self)
            }
            fn from_bytes(bytes: &[u8]) -> Result<Self, gossip::DecodeError> {
                decode_exact(bytes).map_err(|e| gossip::DecodeError::new(e.to_string()))
            }
        }
    };
}

/// Status: name (1 + 32), genesis, best height, hash and work, tip height and hash.
pub const MAX_STATUS_BYTES: usize = 1 + MAX_NETWORK_NAME + 32 + 4 + 32 + 32 + 4 + 32;
/// Request: tag, a locator of at most 101 hashes (3-byte length) and a stop hash (the
/// largest request: 16 zone-file hashes take 514 bytes).
pub const MAX_REQUEST_BYTES: usize = 1 + 3 + MAX_LOCATOR_HASHES * 32 + 32;
/// Response: tag, length, and the larger of 2,000 headers or the blocks' budget (16 zone
/// files take at most 65,586 bytes).
pub const MAX_RESPONSE_BYTES: usize = 1 + 3 + MAX_BLOCKS_RESPONSE_BYTES;

wire!(ChainStatus, MAX_STATUS_BYTES);
wire!(SyncRequest, MAX_REQUEST_BYTES);
wire!(SyncResponse, MAX_RESPONSE_BYTES);

/// The blocks of an answer to `GetBlocks`: those found, in order, while their
/// encodings fit [`MAX_BLOCKS_RESPONSE_BYTES`] together.
pub fn blocks_within_budget(found: impl IntoIterator<Item = Block>) -> Vec<Block> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for block in found.into_iter().take(MAX_GET_BLOCKS) {
        let size = encode_to_vec(&block).len();
        if bytes.saturating_add(size) > MAX_BLOCKS_RESPONSE_BYTES {
            break;
        }
        bytes += size;
        out.push(block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gossip::Wire;

    fn hash(b: u8) -> BlockHash {
        BlockHash([b; 32])
    }

    fn status() -> ChainStatus {
        ChainStatus {
            network: "regtest".into(),
            genesis: hash(1),
            best_height: Height(7),
            best_hash: hash(2),
            best_work: U256::from_u64(0x0102),
            tip_height: Height(5),
            tip_hash: hash(3),
        }
    }

    #[test]
    fn status_bytes_by_hand() {
        // The layout of docs/p2p.md, written out byte by byte.
        let mut expected = vec![7u8];
        expected.extend_from_slice(b"regtest");
        expected.extend_from_slice(&[1; 32]);
        expected.extend_from_slice(&[7, 0, 0, 0]);
        expected.extend_from_slice(&[2; 32]);
        expected.extend_from_slice(&[0; 30]);
        expected.extend_from_slice(&[1, 2]);
        expected.extend_from_slice(&[5, 0, 0, 0]);
        expected.extend_from_slice(&[3; 32]);
        assert_eq!(status().to_bytes(), expected);
        assert_eq!(ChainStatus::from_bytes(&expected), Ok(status()));
        assert!(expected.len() <= MAX_STATUS_BYTES);
    }

    #[test]
    fn request_bytes_by_hand() {
        let req = SyncRequest::GetHeaders {
            locator: vec![hash(9)],
            stop: None,
        };
        let mut expected = vec![0u8, 1];
        expected.extend_from_slice(&[9; 32]);
        expected.extend_from_slice(&[0; 32]);
        assert_eq!(req.to_bytes(), expected);
        assert_eq!(SyncRequest::from_bytes(&expected), Ok(req));
        let req = SyncRequest::GetBlocks(vec![hash(4), hash(5)]);
        let mut expected = vec![1u8, 2];
        expected.extend_from_slice(&[4; 32]);
        expected.extend_from_slice(&[5; 32]);
        assert_eq!(req.to_bytes(), expected);
        assert_eq!(SyncRequest::from_bytes(&expected), Ok(req));
    }

    #[test]
    fn largest_values_fit_their_bounds() {
        let locator: Vec<BlockHash> = (0..MAX_LOCATOR_HASHES).map(|i| hash(i as u8)).collect();
        let req = SyncRequest::GetHeaders {
            locator,
            stop: Some(hash(1)),
        };
        assert!(req.to_bytes().len() <= MAX_REQUEST_BYTES);
        let header = Header {
            version: 1,
            prev: hash(1),
            merkle_root: [2; 32],
            time: 3,
            bits: crate::pow::CompactTarget(4),
            nonce: 5,
        };
        let headers = SyncResponse::Headers(vec![header; MAX_HEADERS_RESULTS]);
        let bytes = headers.to_bytes();
        assert!(bytes.len() <= MAX_RESPONSE_BYTES);
        assert_eq!(SyncResponse::from_bytes(&bytes), Ok(headers));
    }

    #[test]
    fn counts_over_their_bound_are_refused_before_allocating() {
        // 102 locator hashes announced, none sent.
        assert!(SyncRequest::from_bytes(&[0, 102]).is_err());
        // 17 block hashes.
        let mut bytes = vec![1u8, 17];
        bytes.extend_from_slice(&[0; 17 * 32]);
        assert!(SyncRequest::from_bytes(&bytes).is_err());
        // 2,001 headers announced (CompactSize 0xfd 0xd1 0x07), none sent.
        assert!(SyncResponse::from_bytes(&[0, 0xfd, 0xd1, 0x07]).is_err());
        // A huge count that the remaining bytes cannot hold.
        assert!(SyncResponse::from_bytes(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(SyncResponse::from_bytes(&[0, 5]).is_err());
        // A network name over 32 bytes.
        let mut bytes = vec![33u8];
        bytes.extend_from_slice(&[b'a'; 33]);
        assert!(ChainStatus::from_bytes(&bytes).is_err());
        // Unknown tags, trailing bytes, nothing at all.
        assert!(SyncRequest::from_bytes(&[3]).is_err());
        assert!(SyncResponse::from_bytes(&[3, 0]).is_err());
        assert!(SyncResponse::from_bytes(&[0, 0, 0]).is_err());
        assert!(SyncRequest::from_bytes(&[]).is_err());
    }

    #[test]
    fn zone_file_messages_by_hand_and_within_their_bounds() {
        let req = SyncRequest::GetZoneFiles(vec![ZoneFileHash([7; 32])]);
        let mut expected = vec![2u8, 1];
        expected.extend_from_slice(&[7; 32]);
        assert_eq!(req.to_bytes(), expected);
        assert_eq!(SyncRequest::from_bytes(&expected), Ok(req));
        let resp = SyncResponse::ZoneFiles(vec![b"ab".to_vec(), Vec::new()]);
        assert_eq!(resp.to_bytes(), vec![2u8, 2, 2, b'a', b'b', 0]);
        assert_eq!(
            SyncResponse::from_bytes(&[2, 2, 2, b'a', b'b', 0]),
            Ok(resp)
        );
        // The largest of each fits the protocol's bounds.
        let req = SyncRequest::GetZoneFiles(vec![ZoneFileHash([1; 32]); MAX_GET_ZONE_FILES]);
        assert_eq!(req.to_bytes().len(), 514);
        assert!(req.to_bytes().len() <= MAX_REQUEST_BYTES);
        let full = vec![vec![9u8; MAX_ZONE_FILE_BYTES]; MAX_GET_ZONE_FILES];
        let resp = SyncResponse::ZoneFiles(full);
        let bytes = resp.to_bytes();
        assert_eq!(
            bytes.len(),
            1 + 1 + MAX_GET_ZONE_FILES * (3 + MAX_ZONE_FILE_BYTES)
        );
        assert!(bytes.len() <= MAX_RESPONSE_BYTES);
        assert_eq!(SyncResponse::from_bytes(&bytes), Ok(resp));
    }

    #[test]
    fn zone_file_counts_and_sizes_over_their_bound_are_refused() {
        // 17 hashes, all sent.
        let mut bytes = vec![2u8, 17];
        bytes.extend_from_slice(&[0; 17 * 32]);
        assert!(SyncRequest::from_bytes(&bytes).is_err());
        // 17 files, each empty.
        let mut bytes = vec![2u8, 17];
        bytes.extend_from_slice(&[0; 17]);
        assert!(SyncResponse::from_bytes(&bytes).is_err());
        // A file of 4,097 bytes (CompactSize 0xfd 0x01 0x10), all sent.
        let mut bytes = vec![2u8, 1, 0xfd, 0x01, 0x10];
        bytes.extend_from_slice(&[0; 4097]);
        assert!(SyncResponse::from_bytes(&bytes).is_err());
        // A huge announced file, none sent; a count the bytes cannot hold.
        assert!(SyncResponse::from_bytes(&[2, 1, 0xfe, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(SyncRequest::from_bytes(&[2, 3, 0]).is_err());
    }

    #[test]
    fn topics_carry_the_network_name() {
        assert_eq!(blocks_topic("regtest"), "/open-trust/regtest/blocks/1");
        assert_eq!(txs_topic("test"), "/open-trust/test/txs/1");
    }
}

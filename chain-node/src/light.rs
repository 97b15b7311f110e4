//! The light client's check of a name lookup (ADR 0035): given only block headers from
//! genesis and a node's answer to `getnameproof`, it checks the header chain's links and
//! proof of work (every rule a header alone can be checked against), that the answer's
//! block is in it, that the answer's coinbase is the first leaf under that header's
//! Merkle root, that the coinbase commits to a name-state root, and that the lookup proof
//! leads to that root. Nothing from the node is trusted but the headers' proof of work.
//! Pure: no clock, disk or network; available without the `node` feature.

use merkle_log::{CompactRange, Hash};
use naming::{Name, NameRecord, NameStatus, Proof, StateRoot};

use crate::address::Address;
use crate::block::Header;
use crate::encoding::decode_exact;
use crate::error::LightError;
use crate::hash::{BlockHash, WtxId};
use crate::name_root::committed_name_root;
use crate::params::{MAX_TIMEWARP, MEDIAN_TIME_SPAN, Params};
use crate::transaction::Transaction;
use crate::units::Height;
use crate::validation::{check_header_pow, is_retarget_height, median_time_past, next_bits};

/// A node's answer to `getnameproof`, decoded: what a light client needs beyond the
/// headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAnswer {
    /// The name looked up.
    pub name: Name,
    /// The height of the block the answer is against.
    pub height: Height,
    /// That block's hash.
    pub block_hash: BlockHash,
    /// How many transactions the block has (the Merkle tree's size).
    pub tx_count: u64,
    /// The block's coinbase.
    pub coinbase: Transaction,
    /// The coinbase's RFC 6962 audit path (leaf 0), bottom-up.
    pub coinbase_path: Vec<[u8; 32]>,
    /// The name's record bytes in the state after the block, or `None`.
    pub record: Option<Vec<u8>>,
    /// The lookup proof against the committed root.
    pub proof: Proof,
}

/// The text fields of a `getnameproof` answer (docs/rpc.md), before decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameAnswerText {
    /// `name`.
    pub name: String,
    /// `height`.
    pub height: u64,
    /// `blockhash`, hex.
    pub block_hash: String,
    /// `txcount`.
    pub tx_count: u64,
    /// `coinbase`, hex.
    pub coinbase: String,
    /// `coinbasepath`, hex each.
    pub coinbase_path: Vec<String>,
    /// `record`, hex or absent.
    pub record: Option<String>,
    /// `proof`, hex.
    pub proof: String,
}

/// Most bytes of a record in an answer (records are far smaller).
const MAX_RECORD: usize = 4_096;

/// Most hashes in a coinbase audit path (a block of fewer than 2^64 transactions).
const MAX_PATH: usize = merkle_log::MAX_PROOF_LEN;

fn bad(what: &'static str) -> LightError {
    LightError::Malformed { what }
}

fn unhex(text: &str, what: &'static str, max: usize) -> Result<Vec<u8>, LightError> {
    if text.len() > max.saturating_mul(2) {
        return Err(bad(what));
    }
    hex::decode(text).map_err(|_| bad(what))
}

fn hash32(text: &str, what: &'static str) -> Result<[u8; 32], LightError> {
    unhex(text, what, 32)?.try_into().map_err(|_| bad(what))
}

impl NameAnswer {
    /// Decodes the text fields, each bounded before it is decoded.
    ///
    /// # Errors
    /// [`LightError::Malformed`] naming the first field that does not decode.
    pub fn from_text(t: &NameAnswerText) -> Result<NameAnswer, LightError> {
        let name = t.name.parse().map_err(|_| bad("name"))?;
        let height = u32::try_from(t.height)
            .map(Height)
            .map_err(|_| bad("height"))?;
        let block_hash = BlockHash(hash32(&t.block_hash, "blockhash")?);
        let coinbase_bytes = unhex(&t.coinbase, "coinbase", crate::params::MAX_TX_SIZE)?;
        let coinbase = decode_exact(&coinbase_bytes).map_err(|_| bad("coinbase"))?;
        if t.coinbase_path.len() > MAX_PATH {
            return Err(bad("coinbasepath"));
        }
        let coinbase_path = t
            .coinbase_path
            .iter()
            .map(|h| hash32(h, "coinbasepath"))
            .collect::<Result<_, _>>()?;
        let record = t
            .record
            .as_deref()
            .map(|r| unhex(r, "record", MAX_RECORD))
            .transpose()?;
        let proof = Proof::decode(&unhex(&t.proof, "proof", naming::MAX_PROOF_LEN)?)
            .map_err(|_| bad("proof"))?;
        Ok(NameAnswer {
            name,
            height,
            block_hash,
            tx_count: t.tx_count,
            coinbase,
            coinbase_path,
            record,
            proof,
        })
    }

    /// The text fields (what `getnameproof` answers).
    pub fn to_text(&self) -> NameAnswerText {
        NameAnswerText {
            name: self.name.to_string(),
            height: u64::from(self.height.0),
            block_hash: self.block_hash.to_hex(),
            tx_count: self.tx_count,
            coinbase: hex::encode(self.coinbase.to_bytes()),
            coinbase_path: self.coinbase_path.iter().map(hex::encode).collect(),
            record: self.record.as_ref().map(hex::encode),
            proof: hex::encode(self.proof.encode()),
        }
    }
}

/// What a name's proven state is at the answer's height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProvenStatus {
    /// Registered and within its lifetime.
    Active,
    /// Past its lifetime, in the grace period (only the owner may renew).
    Grace,
    /// Past the grace period: free to register again.
    Expired,
    /// Revoked by its owner.
    Revoked,
    /// No record: never registered (or its registration was undone).
    Absent,
}

impl ProvenStatus {
    /// Lower-case word, as the RPC's `status`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProvenStatus::Active => "active",
            ProvenStatus::Grace => "grace",
            ProvenStatus::Expired => "expired",
            ProvenStatus::Revoked => "revoked",
            ProvenStatus::Absent => "absent",
        }
    }

    /// The status of `record` at `height` (`None`: absent).
    pub fn of(record: Option<&NameRecord>, height: Height) -> ProvenStatus {
        match record.map(|r| r.status(naming::Height(height.0))) {
            None => ProvenStatus::Absent,
            Some(NameStatus::Active) => ProvenStatus::Active,
            Some(NameStatus::Grace) => ProvenStatus::Grace,
            Some(NameStatus::Expired) => ProvenStatus::Expired,
            Some(NameStatus::Revoked) => ProvenStatus::Revoked,
        }
    }
}

/// A lookup proven against proof-of-work headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedName {
    /// The name.
    pub name: Name,
    /// The height proven against.
    pub height: Height,
    /// The block proven against.
    pub block_hash: BlockHash,
    /// The name-state root that block commits to.
    pub root: StateRoot,
    /// The proven record, if any.
    pub record: Option<NameRecord>,
    /// The proven record's owner as a payment address (`Address::encode` writes it
    /// for the network), if there is a record.
    pub owner: Option<Address>,
    /// Its status at `height`.
    pub status: ProvenStatus,
}

/// Checks that `headers` is a chain from this network's genesis: each links to the one
/// before, meets its own target within the network limit, carries the bits the
/// difficulty rules ask for at its height, is later than the median of the 11 before it
/// and keeps the timewarp rule (the future-time rule needs a clock and is not checked).
///
/// # Errors
/// [`LightError::NotFromGenesis`], [`LightError::BrokenLink`], [`LightError::BadPow`],
/// [`LightError::WrongBits`], [`LightError::BadTime`].
pub fn verify_header_chain(params: &Params, headers: &[Header]) -> Result<(), LightError> {
    if headers.first() != Some(&params.genesis.header) {
        return Err(LightError::NotFromGenesis);
    }
    let span = MEDIAN_TIME_SPAN;
    for (i, pair) in headers.windows(2).enumerate() {
        let (Some(prev), Some(header)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let height = Height(u32::try_from(i + 1).map_err(|_| LightError::TooManyHeaders)?);
        if header.prev != prev.hash() {
            return Err(LightError::BrokenLink { height });
        }
        check_header_pow(header, params).map_err(|source| LightError::BadPow { height, source })?;
        let period_start = params.retarget.and_then(|rp| {
            let at = (height.0).checked_sub(1)?.checked_sub(rp.interval)?;
            headers.get(usize::try_from(at).ok()?).map(|h| h.time)
        });
        let expected = next_bits(params, height, prev.bits, prev.time, period_start);
        if header.bits != expected {
            return Err(LightError::WrongBits { height });
        }
        let before = headers.get(i.saturating_add(1).saturating_sub(span)..=i);
        let times: Vec<u32> = before.unwrap_or_default().iter().map(|h| h.time).collect();
        let too_old = header.time <= median_time_past(&times);
        let timewarp = is_retarget_height(params, height)
            && header.time < prev.time.saturating_sub(MAX_TIMEWARP);
        if too_old || timewarp {
            return Err(LightError::BadTime { height });
        }
    }
    Ok(())
}

/// The RFC 6962 root of `leaves`.
fn tree_root(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::default();
    for leaf in leaves {
        range.append(*leaf, &mut ());
    }
    range.root()
}

/// The audit path of the first leaf (the coinbase) in the RFC 6962 tree of `wtxids`,
/// bottom-up (RFC 6962 §2.1.1: `PATH(0, D[n]) = PATH(0, D[0:k]) : MTH(D[k:n])`).
pub fn coinbase_path(wtxids: &[WtxId]) -> Vec<[u8; 32]> {
    let leaves: Vec<Hash> = wtxids.iter().map(|w| Hash::leaf(w.as_bytes())).collect();
    let mut path = Vec::new();
    let mut end = leaves.len();
    while end > 1 {
        // The largest power of two below `end`.
        let k = end.div_ceil(2).next_power_of_two();
        path.push(*tree_root(leaves.get(k..end).unwrap_or_default()).as_bytes());
        end = k;
    }
    path.reverse();
    path
}

/// Checks `answer` against `headers` (from genesis, see [`verify_header_chain`]) and
/// returns the proven record and its status at the answer's height.
///
/// # Errors
/// Any [`LightError`]: a bad header chain, the answer's block not in it, a coinbase
/// that is not one or not under the header's Merkle root, a missing or malformed
/// commitment, a lookup proof that does not lead to the committed root.
pub fn verify_name_answer(
    params: &Params,
    headers: &[Header],
    answer: &NameAnswer,
) -> Result<VerifiedName, LightError> {
    verify_header_chain(params, headers)?;
    let header = usize::try_from(answer.height.0)
        .ok()
        .and_then(|h| headers.get(h))
        .filter(|h| h.hash() == answer.block_hash)
        .ok_or(LightError::NotInChain {
            height: answer.height,
        })?;
    if !answer.coinbase.is_coinbase() {
        return Err(LightError::NotCoinbase);
    }
    let path: Vec<Hash> = answer.coinbase_path.iter().map(|h| Hash(*h)).collect();
    merkle_log::verify_inclusion(
        &Hash::leaf(answer.coinbase.wtxid().as_bytes()),
        0,
        answer.tx_count,
        &path,
        &Hash(header.merkle_root),
    )
    .map_err(|_| LightError::CoinbaseNotInBlock)?;
    let root = committed_name_root(&answer.coinbase).map_err(LightError::Commitment)?;
    let record = naming::verify_name(&root, &answer.name, answer.record.as_deref(), &answer.proof)
        .map_err(LightError::Proof)?;
    let status = ProvenStatus::of(record.as_ref(), answer.height);
    Ok(VerifiedName {
        name: answer.name.clone(),
        height: answer.height,
        block_hash: answer.block_hash,
        root,
        owner: record.as_ref().map(|r| Address::from(r.owner)),
        record,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::merkle_root;

    #[test]
    fn the_coinbase_path_leads_to_the_merkle_root_for_every_size() {
        for n in 1u8..=17 {
            let wtxids: Vec<WtxId> = (0..n).map(|i| WtxId([i; 32])).collect();
            let path = coinbase_path(&wtxids);
            let path: Vec<Hash> = path.into_iter().map(Hash).collect();
            let root = Hash(merkle_root(&wtxids));
            let leaf = Hash::leaf(wtxids[0].as_bytes());
            assert_eq!(
                merkle_log::verify_inclusion(&leaf, 0, u64::from(n), &path, &root),
                Ok(()),
                "size {n}"
            );
        }
    }
}

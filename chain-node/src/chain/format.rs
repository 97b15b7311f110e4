//! The storage format at open: a new store gets genesis, an old one must be of this
//! format (6) and network. A format-2 or format-3 store is refused with advice and its
//! index upgraded by a reindex (which keeps the directory readable, not its chain: those
//! blocks carry no name-state commitment). A format-4 or format-5 store is refused
//! outright (`ChainError::WrongStore`): its blocks' name-state commitments are missing
//! (4) or commit to records that name owners by key (5), which no longer match the
//! roots this build computes once a name operation is in the chain (`docs/storage.md`).

use super::{ChainState, KEY_GENESIS};
use crate::encoding::{BlockStatus, Failure, IndexEntry, Validity, decode_exact, encode_to_vec};
use crate::error::{ChainError, DecodeError};
use crate::store::{FORMAT_VERSION, KEY_VERSION, P_INDEX, corrupt};

/// An earlier format whose index entries a reindex rewrites: its blocks are valid under
/// this build's rules, and only its index entries' status byte changes meaning.
const STATUS_BYTE_FORMAT: u32 = 2;
/// The earlier format that differs from this one only in derived records (it has no
/// index undo records and no name index), which a reindex rebuilds.
const DERIVED_ONLY_FORMAT: u32 = 3;

impl ChainState {
    /// Creates genesis in an empty store, or checks the format and network of an old one.
    pub(super) fn check_or_init(&mut self) -> Result<(), ChainError> {
        match self.db.get(KEY_VERSION)? {
            None => self.init_genesis(),
            Some(v) => {
                let version = v.as_ref().try_into().map(u32::from_le_bytes).unwrap_or(0);
                let genesis = self
                    .db
                    .get(KEY_GENESIS)?
                    .map(hex::encode)
                    .unwrap_or_default();
                let expected = self.params.genesis_hash().to_hex();
                if genesis == expected
                    && (version == STATUS_BYTE_FORMAT || version == DERIVED_ONLY_FORMAT)
                {
                    return Err(ChainError::OldFormat {
                        found: version,
                        expected: FORMAT_VERSION,
                    });
                }
                if version != FORMAT_VERSION || genesis != expected {
                    return Err(ChainError::WrongStore {
                        expected: format!(
                            "format {FORMAT_VERSION}, {} genesis {expected}",
                            self.params.network
                        ),
                        found: format!("format {version}, genesis {genesis}"),
                    });
                }
                Ok(())
            }
        }
    }

    /// Rewrites the index entries of a format-2 store in this format, in one batch with
    /// the new version: status 0 (valid) becomes "data stored", 1 (invalid) "data stored,
    /// failed"; the arrival numbers stay (every format-2 block arrived after its parent,
    /// so arrival was also the order in which blocks became connectable). The derived
    /// records are rebuilt by the reindex that follows.
    pub(super) fn upgrade_index(&mut self, found: u32) -> Result<(), ChainError> {
        if found == DERIVED_ONLY_FORMAT {
            // Only derived records differ, and the reindex that follows rebuilds them.
            let mut batch = sled::Batch::default();
            batch.insert(KEY_VERSION, &FORMAT_VERSION.to_le_bytes());
            return self.commit(batch);
        }
        const STATUS_AT: usize = crate::block::HEADER_SIZE + 4 + 32;
        let mut batch = sled::Batch::default();
        for item in self.db.scan_prefix([P_INDEX]) {
            let (key, value) = item?;
            let mut bytes = value.to_vec();
            let status = match bytes.get(STATUS_AT) {
                Some(0) => BlockStatus::valid(Validity::Data),
                Some(1) => BlockStatus {
                    validity: Validity::Data,
                    failure: Some(Failure::Failed),
                },
                _ => {
                    return Err(corrupt(
                        &key,
                        DecodeError::BadTag {
                            what: "format 2 block status",
                            tag: bytes.get(STATUS_AT).copied().unwrap_or(u8::MAX),
                        },
                    ));
                }
            };
            if let Some(b) = bytes.get_mut(STATUS_AT) {
                *b = status.to_byte();
            }
            let genesis = key.get(1..) == Some(self.params.genesis_hash().as_bytes().as_slice());
            let entry: IndexEntry = decode_exact(&bytes).map_err(|e| corrupt(&key, e))?;
            let entry = if genesis {
                IndexEntry {
                    status: BlockStatus::valid(Validity::Connected),
                    ..entry
                }
            } else {
                entry
            };
            batch.insert(key, encode_to_vec(&entry));
        }
        batch.insert(KEY_VERSION, &FORMAT_VERSION.to_le_bytes());
        self.commit(batch)
    }
}

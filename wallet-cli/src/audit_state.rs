//! The state file of `wallet log audit`: the last verified head of each log, by origin.
//!
//! The file is JSON, `{"version": 1, "logs": {ORIGIN: {"size", "root", "checkpoint"}}}`,
//! with the root as 64 hex digits. [`AuditState::parse`] checks all of it, so that the
//! audit never meets a malformed stored head later.

use std::collections::BTreeMap;

use merkle_log::{Hash, HashParseError};
use serde::{Deserialize, Serialize};

/// The only format version.
const VERSION: u32 = 1;

/// What is wrong with a state file.
#[derive(Debug, thiserror::Error)]
pub enum AuditStateError {
    /// Not JSON of the expected shape.
    #[error("not an audit state: {0}")]
    Json(#[from] serde_json::Error),
    /// A version this program does not know.
    #[error("unknown version {0}")]
    Version(u32),
    /// A stored root that is not a hash.
    #[error("stored root of log {origin}")]
    Root {
        /// The log's origin.
        origin: String,
        /// Why the root does not parse.
        #[source]
        source: HashParseError,
    },
}

/// The last verified head of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHead {
    /// Its tree size.
    pub size: u64,
    /// Its root hash, 64 hex digits.
    pub root: String,
    /// The signed checkpoint note it came from, verbatim.
    pub checkpoint: String,
}

impl StoredHead {
    /// The root as a hash.
    ///
    /// # Errors
    /// When the root is not a hash (never for a head read by [`AuditState::parse`]).
    pub fn root_hash(&self) -> Result<Hash, HashParseError> {
        self.root.parse()
    }
}

/// What an auditor remembers: the last verified head of each log, by origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditState {
    version: u32,
    logs: BTreeMap<String, StoredHead>,
}

impl Default for AuditState {
    fn default() -> Self {
        AuditState {
            version: VERSION,
            logs: BTreeMap::new(),
        }
    }
}

impl AuditState {
    /// Reads a state file's text, checking its version and every stored root.
    ///
    /// # Errors
    /// [`AuditStateError`] naming the first problem.
    pub fn parse(text: &str) -> Result<AuditState, AuditStateError> {
        let state: AuditState = serde_json::from_str(text)?;
        if state.version != VERSION {
            return Err(AuditStateError::Version(state.version));
        }
        for (origin, head) in &state.logs {
            head.root_hash().map_err(|source| AuditStateError::Root {
                origin: origin.clone(),
                source,
            })?;
        }
        Ok(state)
    }

    /// The text written to the state file.
    ///
    /// # Errors
    /// Only if serde_json fails to write a map of strings and numbers.
    pub fn to_text(&self) -> Result<String, AuditStateError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The stored head of the log with this origin.
    pub fn head(&self, origin: &str) -> Option<&StoredHead> {
        self.logs.get(origin)
    }

    /// Records the newly verified head of a log.
    pub fn record(&mut self, origin: &str, head: StoredHead) {
        self.logs.insert(origin.to_owned(), head);
    }
}

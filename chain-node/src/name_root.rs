//! The name-state commitment a block's coinbase carries (ADR 0035): one zero-amount burn
//! output whose data is `"open-trust/name-root"` ‖ version 1 ‖ the root of the name-state
//! tree after the block. Blocks at height 1 and above carry exactly one; genesis none.

use naming::StateRoot;

use crate::error::CommitmentError;
use crate::transaction::{OutputKind, Transaction, TxOut};
use crate::units::{Amount, Height};

/// The tag the commitment's data starts with.
pub const NAME_ROOT_TAG: &[u8] = b"open-trust/name-root";
/// The version byte after the tag.
pub const NAME_ROOT_VERSION: u8 = 1;
/// Length of the commitment's data: tag, version, root.
pub const NAME_ROOT_LEN: usize = NAME_ROOT_TAG.len() + 1 + 32;

/// The commitment's data for `root`.
pub fn name_root_data(root: &StateRoot) -> Vec<u8> {
    let mut data = Vec::with_capacity(NAME_ROOT_LEN);
    data.extend_from_slice(NAME_ROOT_TAG);
    data.push(NAME_ROOT_VERSION);
    data.extend_from_slice(&root.0);
    data
}

/// The coinbase output that commits to `root`.
pub fn name_root_output(root: &StateRoot) -> TxOut {
    TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(name_root_data(root)),
    }
}

/// Whether a block at `height` must carry the commitment (every block but genesis).
pub fn carries_name_root(height: Height) -> bool {
    height.0 >= 1
}

/// The root `coinbase` commits to: its only output whose data starts with
/// [`NAME_ROOT_TAG`], of amount zero, version [`NAME_ROOT_VERSION`] and
/// [`NAME_ROOT_LEN`] bytes.
///
/// # Errors
/// [`CommitmentError::Missing`], [`CommitmentError::Repeated`],
/// [`CommitmentError::Malformed`].
pub fn committed_name_root(coinbase: &Transaction) -> Result<StateRoot, CommitmentError> {
    let mut found = coinbase
        .outputs
        .iter()
        .zip(0u32..)
        .filter_map(|(out, vout)| match &out.kind {
            OutputKind::Burn(data) if data.starts_with(NAME_ROOT_TAG) => Some((vout, out, data)),
            _ => None,
        });
    let (vout, out, data) = found.next().ok_or(CommitmentError::Missing)?;
    if let Some((second, _, _)) = found.next() {
        return Err(CommitmentError::Repeated { vout: second });
    }
    let rest = data.get(NAME_ROOT_TAG.len()..).unwrap_or_default();
    match rest.split_first() {
        Some((&NAME_ROOT_VERSION, root)) if out.amount == Amount::ZERO => root
            .try_into()
            .map(StateRoot)
            .map_err(|_| CommitmentError::Malformed { vout }),
        _ => Err(CommitmentError::Malformed { vout }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_reads_back_and_other_forms_are_refused() {
        let root = StateRoot([7; 32]);
        let pay = TxOut {
            amount: Amount::ZERO,
            kind: OutputKind::Burn(b"other".to_vec()),
        };
        let cb = |outs: Vec<TxOut>| Transaction::coinbase(Height(1), vec![], outs);
        assert_eq!(
            committed_name_root(&cb(vec![pay.clone(), name_root_output(&root)])),
            Ok(root)
        );
        assert_eq!(
            committed_name_root(&cb(vec![pay])),
            Err(CommitmentError::Missing)
        );
        let two = cb(vec![name_root_output(&root), name_root_output(&root)]);
        assert_eq!(
            committed_name_root(&two),
            Err(CommitmentError::Repeated { vout: 1 })
        );
        let mut short = name_root_data(&root);
        short.pop();
        let mut version = name_root_data(&root);
        version[NAME_ROOT_TAG.len()] = 2;
        for data in [short, version] {
            let out = TxOut {
                amount: Amount::ZERO,
                kind: OutputKind::Burn(data),
            };
            assert_eq!(
                committed_name_root(&cb(vec![out])),
                Err(CommitmentError::Malformed { vout: 0 })
            );
        }
        let mut paid = name_root_output(&root);
        paid.amount = Amount::from_units(1);
        assert_eq!(
            committed_name_root(&cb(vec![paid])),
            Err(CommitmentError::Malformed { vout: 0 })
        );
    }
}

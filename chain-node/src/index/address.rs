//! The address index: every unspent output by the address it pays, for
//! `getaddressutxos` and the explorer. Records `a` ‖ address ‖ outpoint → coin; no undo
//! record is needed, since a block's undo data holds the coins it spent.

use super::{Connected, DerivedIndex, IndexBlock, IndexRead, Writes};
use crate::address::Address;
use crate::encoding::{Encode, decode_exact, encode_to_vec};
use crate::error::ChainError;
use crate::transaction::OutPoint;
use crate::validation::Coin;

/// Prefix of the address index: address, outpoint -> coin.
pub(crate) const P_ADDR: u8 = b'a';

/// The address index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AddressIndex;

/// The key of `outpoint`'s record under `address`.
pub(crate) fn addr_key(address: &Address, outpoint: &OutPoint) -> Vec<u8> {
    let mut k = addr_prefix(address);
    outpoint.encode(&mut k);
    k
}

/// The prefix of every record under `address`.
pub(crate) fn addr_prefix(address: &Address) -> Vec<u8> {
    let mut k = Vec::with_capacity(69);
    k.push(P_ADDR);
    k.extend_from_slice(&address.0);
    k
}

/// The writes that add `add` and remove `remove`.
fn writes(add: &[(OutPoint, Coin)], remove: &[(OutPoint, Coin)]) -> Writes {
    remove
        .iter()
        .map(|(o, c)| (addr_key(&c.address, o), None))
        .chain(
            add.iter()
                .map(|(o, c)| (addr_key(&c.address, o), Some(encode_to_vec(c)))),
        )
        .collect()
}

/// Every unspent output paying `address`, in outpoint-byte order.
///
/// # Errors
/// Storage errors, records that do not decode.
pub(crate) fn utxos(
    store: &dyn IndexRead,
    address: &Address,
) -> Result<Vec<(OutPoint, Coin)>, ChainError> {
    let prefix = addr_prefix(address);
    store
        .scan(&prefix, None, usize::MAX)?
        .into_iter()
        .map(|(key, value)| {
            let rest = key.get(prefix.len()..).unwrap_or_default();
            let outpoint: OutPoint =
                decode_exact(rest).map_err(|e| crate::store::corrupt(&key, e))?;
            let coin: Coin = decode_exact(&value).map_err(|e| crate::store::corrupt(&key, e))?;
            Ok((outpoint, coin))
        })
        .collect()
}

impl DerivedIndex for AddressIndex {
    fn name(&self) -> &'static str {
        "address"
    }

    fn id(&self) -> u8 {
        b'a'
    }

    fn prefixes(&self) -> &'static [u8] {
        &[P_ADDR]
    }

    fn connect(
        &self,
        block: &IndexBlock<'_>,
        _store: &dyn IndexRead,
    ) -> Result<Connected, ChainError> {
        Ok(Connected {
            writes: writes(&block.coins.created, &block.coins.spent),
            undo: Vec::new(),
        })
    }

    fn disconnect(
        &self,
        block: &IndexBlock<'_>,
        _undo: &[u8],
        _store: &dyn IndexRead,
    ) -> Result<Writes, ChainError> {
        Ok(writes(&block.coins.spent, &block.coins.created))
    }
}

//! The encodings byte by byte as `docs/naming.md` writes them: payloads, the signature
//! digest, preorder commitments, records and undo records, each built here by hand and
//! compared with the crate's.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use ed25519_dalek::{Signature, Verifier};
use naming::{
    Amount, ChainId, Changes, Commitment, DecodeError, Height, NameRecord, Operation, OutPoint,
    OwnerAddress, OwnerKey, PreorderKind, PreorderRecord, Salt, SignedOperation, TxId,
    ZoneFileHash,
};
use sha2::{Digest, Sha256};

use crate::helpers::*;

#[test]
fn a_name_update_payload_byte_by_byte() {
    let op = SignedOperation {
        op: Operation::NameUpdate {
            name: name("alice.id"),
            zone_file: ZoneFileHash([0xab; 32]),
        },
        signer: OwnerKey([0x11; 32]),
        signature: [0x22; 64],
    };
    let mut expected = b"otn\x02+".to_vec();
    expected.extend_from_slice(b"\x05alice\x02id");
    expected.extend_from_slice(&[0xab; 32]);
    expected.extend_from_slice(&[0x11; 32]);
    expected.extend_from_slice(&[0x22; 64]);
    assert_eq!(op.encode(), expected);
    assert_eq!(SignedOperation::decode(&expected), Ok(op));
}

#[test]
fn a_namespace_reveal_payload_byte_by_byte() {
    let op = SignedOperation {
        op: Operation::NamespaceReveal {
            namespace: ns("id"),
            salt: Salt([0x5a; 16]),
            terms: test_terms(),
        },
        signer: OwnerKey([0x11; 32]),
        signature: [0x22; 64],
    };
    let mut expected = b"otn\x02&\x02id".to_vec();
    expected.extend_from_slice(&[0x5a; 16]);
    expected.extend_from_slice(&LIFETIME.to_le_bytes());
    expected.extend_from_slice(&GRACE.to_le_bytes());
    // coeff 3, base 4, exponents 6 5 4 3 3 2 2 2 1 1 1 1 1 1 1 0 as nibbles, discounts 2|2.
    expected.extend_from_slice(&[3, 4, 0x65, 0x43, 0x32, 0x22, 0x11, 0x11, 0x11, 0x10, 0x22]);
    expected.extend_from_slice(&[0x11; 32]);
    expected.extend_from_slice(&[0x22; 64]);
    assert_eq!(op.encode(), expected);
    assert_eq!(SignedOperation::decode(&expected), Ok(op));
}

#[test]
fn malformed_payloads_are_refused_with_their_reason() {
    let good = SignedOperation {
        op: Operation::NameRenew { name: name("a.id") },
        signer: OwnerKey([1; 32]),
        signature: [2; 64],
    }
    .encode();
    let with = |i: usize, b: u8| {
        let mut v = good.clone();
        v[i] = b;
        v
    };
    assert_eq!(
        SignedOperation::decode(&with(0, b'x')),
        Err(DecodeError::BadMagic)
    );
    // Version 1 (transfers named a key) and any later one are refused.
    for version in [1, 3] {
        assert_eq!(
            SignedOperation::decode(&with(3, version)),
            Err(DecodeError::UnsupportedVersion { version })
        );
    }
    assert_eq!(
        SignedOperation::decode(&with(4, b'Z')),
        Err(DecodeError::UnknownOp { code: b'Z' })
    );
    assert!(matches!(
        SignedOperation::decode(&with(6, b'A')),
        Err(DecodeError::Name(naming::NameError::BadChar {
            byte: b'A',
            ..
        }))
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        SignedOperation::decode(&long),
        Err(DecodeError::TrailingBytes { .. })
    ));
    assert!(matches!(
        SignedOperation::decode(&good[..good.len() - 1]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        SignedOperation::decode(&[b'o'; 257]),
        Err(DecodeError::TooLong {
            len: 257,
            max: 256,
            ..
        })
    ));
    // A flag other than 0 or 1.
    let transfer = SignedOperation {
        op: Operation::NameTransfer {
            name: name("a.id"),
            new_owner: OwnerAddress([3; 32]),
            keep_zone_file: true,
        },
        signer: OwnerKey([1; 32]),
        signature: [2; 64],
    }
    .encode();
    let flag_at = 5 + 2 + 3 + 32;
    let mut bad = transfer.clone();
    bad[flag_at] = 2;
    assert_eq!(
        SignedOperation::decode(&bad),
        Err(DecodeError::BadFlag {
            what: "keep-zone-file flag",
            value: 2
        })
    );
    // A price function with a zero discount.
    let mut reveal = SignedOperation {
        op: Operation::NamespaceReveal {
            namespace: ns("id"),
            salt: Salt([0; 16]),
            terms: test_terms(),
        },
        signer: OwnerKey([1; 32]),
        signature: [2; 64],
    }
    .encode();
    let discounts_at = 5 + 3 + 16 + 8 + 10;
    reveal[discounts_at] = 0x02;
    assert!(matches!(
        SignedOperation::decode(&reveal),
        Err(DecodeError::PriceFunction(_))
    ));
}

#[test]
fn the_signature_digest_and_commitments_as_documented() {
    let key = key(4);
    let chain_id = ChainId([0xc1; 32]);
    let first = OutPoint {
        txid: TxId([0x77; 32]),
        vout: 3,
    };
    let signed = SignedOperation::sign(
        Operation::NameRevoke {
            name: name("alice.id"),
        },
        &key,
        &chain_id,
        &first,
    );
    let payload = signed.encode();
    let (signed_part, signature) = payload.split_at(payload.len() - 64);
    let mut h = Sha256::new();
    h.update(b"open-trust/naming/sig/v1");
    h.update([0xc1; 32]);
    h.update([0x77; 32]);
    h.update(3u32.to_le_bytes());
    h.update(signed_part);
    let digest: [u8; 32] = h.finalize().into();
    let signature = Signature::from_bytes(signature.try_into().unwrap());
    assert!(key.verifying_key().verify(&digest, &signature).is_ok());
    assert!(signed.verify(&chain_id, &first));

    let owner = OwnerAddress([0x11; 32]);
    let mut h = Sha256::new();
    h.update(b"open-trust/naming/preorder/v2");
    h.update(b"\x01\x05alice\x02id");
    h.update([0x5a; 16]);
    h.update([0x11; 32]);
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(
        Commitment::for_name(&name("alice.id"), &Salt([0x5a; 16]), &owner).0,
        expected
    );
    let mut h = Sha256::new();
    h.update(b"open-trust/naming/preorder/v2");
    h.update(b"\x00\x02id");
    h.update([0x5a; 16]);
    h.update([0x11; 32]);
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(
        Commitment::for_namespace(&ns("id"), &Salt([0x5a; 16]), &owner).0,
        expected
    );
}

/// The address of a key is the chain's address hash, written out here from its
/// definition: `SHA-256("chain-node/address/v1" ‖ key)`.
#[test]
fn the_address_of_a_key_as_documented() {
    for seed in [0u8, 7, 0xff] {
        let key = OwnerKey([seed; 32]);
        let mut preimage = b"chain-node/address/v1".to_vec();
        preimage.extend_from_slice(&[seed; 32]);
        let expected: [u8; 32] = Sha256::digest(&preimage).into();
        assert_eq!(OwnerAddress::of_key(&key), OwnerAddress(expected));
    }
    let signed = SignedOperation {
        op: Operation::NameRenew { name: name("a.id") },
        signer: OwnerKey(key(4).verifying_key().to_bytes()),
        signature: [0; 64],
    };
    assert_eq!(signed.signer_address(), owner(&key(4)));
}

#[test]
fn records_byte_by_byte() {
    let record = NameRecord {
        owner: OwnerAddress([0x11; 32]),
        zone_file: Some(ZoneFileHash([0x22; 32])),
        registered_at: Height(0x0102_0304),
        expires_at: Height(5),
        grace_ends_at: Height(6),
        revoked: true,
        last_txid: TxId([0x33; 32]),
    };
    let mut expected = vec![2];
    expected.extend_from_slice(&[0x11; 32]);
    expected.push(1);
    expected.extend_from_slice(&[0x22; 32]);
    expected.extend_from_slice(&[4, 3, 2, 1, 5, 0, 0, 0, 6, 0, 0, 0, 1]);
    expected.extend_from_slice(&[0x33; 32]);
    assert_eq!(record.encode(), expected);
    assert_eq!(NameRecord::decode(&expected), Ok(record));

    let preorder = PreorderRecord {
        kind: PreorderKind::Name,
        signer: OwnerAddress([0x11; 32]),
        height: Height(7),
        burned: Amount(0x0100),
        output: OutPoint {
            txid: TxId([0x44; 32]),
            vout: 2,
        },
    };
    let mut expected = vec![2, 1];
    expected.extend_from_slice(&[0x11; 32]);
    expected.extend_from_slice(&[7, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expected.extend_from_slice(&[0x44; 32]);
    expected.extend_from_slice(&[2, 0, 0, 0]);
    assert_eq!(preorder.encode(), expected);
    assert_eq!(PreorderRecord::decode(&expected), Ok(preorder));
    // Version 1 (which held keys) and any later one are refused.
    for version in [1, 3] {
        let mut other_version = expected.clone();
        other_version[0] = version;
        assert_eq!(
            PreorderRecord::decode(&other_version),
            Err(DecodeError::UnsupportedVersion { version })
        );
    }
}

#[test]
fn an_undo_record_byte_by_byte_and_bounded() {
    let mut w = World::new();
    let ctx = w.ctx(5, 100, vec![]);
    let changes = w
        .submit(
            &key(1),
            Operation::NamePreorder {
                commitment: Commitment([0x99; 32]),
            },
            &ctx,
        )
        .unwrap();
    let record = w.state.preorders[&Commitment([0x99; 32])].encode();
    let mut expected = vec![1, 2];
    expected.extend_from_slice(&[0x99; 32]);
    expected.push(0);
    expected.push(1);
    expected.extend_from_slice(&record);
    assert_eq!(changes.encode(), expected);
    assert_eq!(Changes::decode(&expected), Ok(changes));
    assert!(matches!(
        Changes::decode(&[5]),
        Err(DecodeError::TooLong {
            what: "change list",
            len: 5,
            max: 4
        })
    ));
}

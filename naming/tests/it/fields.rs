//! Every field of every operation, and every value of its transaction context, has an
//! effect: changed and signed again, the operation is rejected or changes something
//! else; changed without signing again, the signature fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use naming::{
    Commitment, NamespaceTerms, Operation, OutPoint, Rejection, Salt, SignedOperation, TxContext,
    ZoneFileHash, apply,
};

use crate::helpers::*;

/// A state where one operation of each kind is accepted, and those operations: a
/// namespace preorder, the reveal of `app` (preordered), the ready of `dev` (revealed),
/// a name preorder, the register of `bob.id` (preordered), and an update, transfer,
/// renewal and revoke of `alice.id` (registered with a zone file). Each is checked
/// alone against the state, at height 20.
pub(crate) fn accepted_cases() -> (World, Vec<(SignedOperation, TxContext)>) {
    let mut w = World::new();
    let creator = key(1);
    let holder = key(2);
    let ready = w.launch(&creator, &ns("id"), 1);
    let alice = name("alice.id");
    let salt = Salt([3; 16]);
    let price = test_price().price(&alice.label).units();
    let out = w.preorder_name(&holder, &alice, salt, ready, price);
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![out]);
    let zone = Some(ZoneFileHash([5; 32]));
    w.submit(
        &holder,
        Operation::NameRegister {
            name: alice.clone(),
            salt,
            zone_file: zone,
        },
        &ctx,
    )
    .unwrap();
    // `dev` revealed, `app` and `bob.id` preordered.
    let dev = ns("dev");
    let out = w.preorder_namespace(&creator, &dev, Salt([4; 16]), 12, w.namespace_price(&dev));
    let ctx = w.ctx(12 + MIN_DEPTH, 0, vec![out]);
    let op = Operation::NamespaceReveal {
        namespace: dev.clone(),
        salt: Salt([4; 16]),
        terms: test_terms(),
    };
    w.submit(&creator, op, &ctx).unwrap();
    let app_out = w.preorder_namespace(
        &creator,
        &ns("app"),
        Salt([6; 16]),
        15,
        w.namespace_price(&ns("app")),
    );
    let bob = name("bob.id");
    let bob_price = test_price().price(&bob.label).units();
    let bob_out = w.preorder_name(&holder, &bob, Salt([7; 16]), 15, bob_price);

    let at = 20;
    let mut cases = Vec::new();
    let mut case = |w: &mut World,
                    signer: &ed25519_dalek::SigningKey,
                    op: Operation,
                    burned: u64,
                    spent: Vec<OutPoint>| {
        let ctx = w.ctx(at, burned, spent);
        let signed = w.sign(signer, op, &ctx);
        cases.push((signed, ctx));
    };
    case(
        &mut w,
        &creator,
        Operation::NamespacePreorder {
            commitment: Commitment([8; 32]),
        },
        10_000_000,
        vec![],
    );
    case(
        &mut w,
        &creator,
        Operation::NamespaceReveal {
            namespace: ns("app"),
            salt: Salt([6; 16]),
            terms: test_terms(),
        },
        0,
        vec![app_out],
    );
    case(
        &mut w,
        &creator,
        Operation::NamespaceReady { namespace: dev },
        0,
        vec![],
    );
    case(
        &mut w,
        &holder,
        Operation::NamePreorder {
            commitment: Commitment([9; 32]),
        },
        1_000,
        vec![],
    );
    case(
        &mut w,
        &holder,
        Operation::NameRegister {
            name: bob,
            salt: Salt([7; 16]),
            zone_file: None,
        },
        0,
        vec![bob_out],
    );
    case(
        &mut w,
        &holder,
        Operation::NameUpdate {
            name: alice.clone(),
            zone_file: ZoneFileHash([1; 32]),
        },
        0,
        vec![],
    );
    case(
        &mut w,
        &holder,
        Operation::NameTransfer {
            name: alice.clone(),
            new_owner: owner(&key(3)),
            keep_zone_file: true,
        },
        0,
        vec![],
    );
    case(
        &mut w,
        &holder,
        Operation::NameRenew {
            name: alice.clone(),
        },
        price,
        vec![],
    );
    case(
        &mut w,
        &holder,
        Operation::NameRevoke { name: alice },
        0,
        vec![],
    );
    for (signed, ctx) in &cases {
        assert!(
            apply(&w.params, &w.state, ctx, signed).is_ok(),
            "{}",
            signed.op.kind()
        );
    }
    (w, cases)
}

/// Every field of `op` changed, one at a time.
fn field_variants(op: &Operation) -> Vec<(&'static str, Operation)> {
    let mut out = Vec::new();
    let other_name = |n: &naming::Name| name(&format!("{}x.{}", n.label, n.namespace));
    match op.clone() {
        Operation::NamespacePreorder { .. } => {
            out.push((
                "commitment",
                Operation::NamespacePreorder {
                    commitment: Commitment([0xee; 32]),
                },
            ));
        }
        Operation::NamePreorder { .. } => {
            out.push((
                "commitment",
                Operation::NamePreorder {
                    commitment: Commitment([0xee; 32]),
                },
            ));
        }
        Operation::NamespaceReveal {
            namespace,
            salt,
            terms,
        } => {
            let with = |namespace, salt, terms| Operation::NamespaceReveal {
                namespace,
                salt,
                terms,
            };
            out.push(("namespace", with(ns("apq"), salt, terms)));
            out.push(("salt", with(namespace.clone(), Salt([0xee; 16]), terms)));
            out.push((
                "lifetime",
                with(
                    namespace.clone(),
                    salt,
                    NamespaceTerms {
                        lifetime: 7,
                        ..terms
                    },
                ),
            ));
            out.push((
                "grace",
                with(
                    namespace.clone(),
                    salt,
                    NamespaceTerms { grace: 7, ..terms },
                ),
            ));
            let p = terms.price;
            let variants = [
                naming::PriceFunction::new(
                    p.coeff() + 1,
                    p.base(),
                    p.buckets(),
                    p.nonalpha_discount(),
                    p.no_vowel_discount(),
                ),
                naming::PriceFunction::new(
                    p.coeff(),
                    p.base() + 1,
                    p.buckets(),
                    p.nonalpha_discount(),
                    p.no_vowel_discount(),
                ),
                naming::PriceFunction::new(
                    p.coeff(),
                    p.base(),
                    [0; 16],
                    p.nonalpha_discount(),
                    p.no_vowel_discount(),
                ),
                naming::PriceFunction::new(
                    p.coeff(),
                    p.base(),
                    p.buckets(),
                    9,
                    p.no_vowel_discount(),
                ),
                naming::PriceFunction::new(
                    p.coeff(),
                    p.base(),
                    p.buckets(),
                    p.nonalpha_discount(),
                    9,
                ),
            ];
            for price in variants {
                let terms = NamespaceTerms {
                    price: price.unwrap(),
                    ..terms
                };
                out.push(("price function", with(namespace.clone(), salt, terms)));
            }
        }
        Operation::NamespaceReady { .. } => {
            out.push((
                "namespace",
                Operation::NamespaceReady {
                    namespace: ns("dew"),
                },
            ));
        }
        Operation::NameRegister {
            name: n,
            salt,
            zone_file,
        } => {
            out.push((
                "name",
                Operation::NameRegister {
                    name: other_name(&n),
                    salt,
                    zone_file,
                },
            ));
            out.push((
                "salt",
                Operation::NameRegister {
                    name: n.clone(),
                    salt: Salt([0xee; 16]),
                    zone_file,
                },
            ));
            out.push((
                "zone file",
                Operation::NameRegister {
                    name: n,
                    salt,
                    zone_file: Some(ZoneFileHash([0xee; 32])),
                },
            ));
        }
        Operation::NameUpdate { name: n, zone_file } => {
            out.push((
                "name",
                Operation::NameUpdate {
                    name: other_name(&n),
                    zone_file,
                },
            ));
            out.push((
                "zone file",
                Operation::NameUpdate {
                    name: n,
                    zone_file: ZoneFileHash([0xee; 32]),
                },
            ));
        }
        Operation::NameTransfer {
            name: n,
            new_owner,
            keep_zone_file,
        } => {
            out.push((
                "name",
                Operation::NameTransfer {
                    name: other_name(&n),
                    new_owner,
                    keep_zone_file,
                },
            ));
            out.push((
                "new owner",
                Operation::NameTransfer {
                    name: n.clone(),
                    new_owner: owner(&key(4)),
                    keep_zone_file,
                },
            ));
            out.push((
                "keep zone file",
                Operation::NameTransfer {
                    name: n,
                    new_owner,
                    keep_zone_file: !keep_zone_file,
                },
            ));
        }
        Operation::NameRenew { name: n } => out.push((
            "name",
            Operation::NameRenew {
                name: other_name(&n),
            },
        )),
        Operation::NameRevoke { name: n } => out.push((
            "name",
            Operation::NameRevoke {
                name: other_name(&n),
            },
        )),
    }
    out
}

#[test]
fn every_field_changed_and_signed_again_changes_the_outcome() {
    let (w, cases) = accepted_cases();
    let signers = [key(1), key(2)];
    for (signed, ctx) in &cases {
        let original = apply(&w.params, &w.state, ctx, signed).unwrap();
        let signer = signers
            .iter()
            .find(|k| k.verifying_key().to_bytes() == signed.signer.0)
            .unwrap();
        let variants = field_variants(&signed.op);
        assert!(!variants.is_empty());
        for (field, op) in variants {
            let resigned = w.sign(signer, op, ctx);
            assert_ne!(
                apply(&w.params, &w.state, ctx, &resigned),
                Ok(original.clone()),
                "{}: {field} has no effect",
                signed.op.kind()
            );
        }
        // The signer: another key signing the same operation.
        let other = w.sign(&key(9), signed.op.clone(), ctx);
        assert_ne!(
            apply(&w.params, &w.state, ctx, &other),
            Ok(original.clone()),
            "{}: the signer has no effect",
            signed.op.kind()
        );
    }
}

#[test]
fn every_context_value_has_an_effect() {
    let (w, cases) = accepted_cases();
    for (signed, ctx) in &cases {
        let original = apply(&w.params, &w.state, ctx, signed).unwrap();
        let kind = signed.op.kind();
        let mut c = ctx.clone();
        c.chain_id.0[31] ^= 1;
        assert_eq!(
            apply(&w.params, &w.state, &c, signed),
            Err(Rejection::BadSignature),
            "{kind}"
        );
        let mut c = ctx.clone();
        c.spent[0].vout ^= 1;
        assert_eq!(
            apply(&w.params, &w.state, &c, signed),
            Err(Rejection::BadSignature),
            "{kind}"
        );
        // The txid lands in every record written, but a ready records only its height.
        if !matches!(signed.op, Operation::NamespaceReady { .. }) {
            let mut c = ctx.clone();
            c.txid.0[31] ^= 1;
            assert_ne!(
                apply(&w.params, &w.state, &c, signed),
                Ok(original.clone()),
                "{kind}: txid"
            );
        }
    }
}

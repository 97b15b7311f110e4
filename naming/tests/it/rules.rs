//! Every rule of `docs/naming.md`, each with an operation that breaks it and the
//! rejection that names it, next to the accepted operation it differs from. Expected
//! heights and records are worked out here from the documented rules.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use naming::{
    Amount, Commitment, DecodeError, Height, NAME_COST_UNIT, NameStatus, NamespaceStatus,
    NamespaceTerms, Operation, OutPoint, OwnerAddress, OwnerKey, Rejection, Salt, SignedOperation,
    TxContext, ZoneFileHash, apply, apply_payload, check_relay,
};

use crate::helpers::*;

/// A world with the namespace `id` launched by key 1 at height 10 (ready at 13).
fn launched() -> (World, u32) {
    let mut w = World::new();
    let ready = w.launch(&key(1), &ns("id"), 10);
    (w, ready)
}

#[test]
fn full_name_life_cycle() {
    let (mut w, ready) = launched();
    assert_eq!(
        w.state.namespaces[&ns("id")].status(Height(ready)),
        NamespaceStatus::Ready
    );
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let record = w.state.names[&alice].clone();
    assert_eq!(record.owner, owner(&key(2)));
    assert_eq!(record.registered_at, Height(at));
    assert_eq!(record.expires_at, Height(at + LIFETIME));
    assert_eq!(record.grace_ends_at, Height(at + LIFETIME + GRACE));
    assert!(
        w.state.preorders.is_empty(),
        "the register consumes its preorder"
    );

    // Update, transfer, renew, revoke.
    let zone = ZoneFileHash([9; 32]);
    let ctx = w.ctx(at + 1, 0, vec![]);
    w.submit(
        &key(2),
        Operation::NameUpdate {
            name: alice.clone(),
            zone_file: zone,
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(w.state.names[&alice].zone_file, Some(zone));
    assert_eq!(w.state.names[&alice].last_txid, ctx.txid);

    let ctx = w.ctx(at + 2, 0, vec![]);
    let op = Operation::NameTransfer {
        name: alice.clone(),
        new_owner: owner(&key(3)),
        keep_zone_file: true,
    };
    w.submit(&key(2), op, &ctx).unwrap();
    assert_eq!(w.state.names[&alice].owner, owner(&key(3)));
    assert_eq!(w.state.names[&alice].zone_file, Some(zone));

    let price = test_price().price(&alice.label).units();
    let ctx = w.ctx(at + 3, price, vec![]);
    w.submit(
        &key(3),
        Operation::NameRenew {
            name: alice.clone(),
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(w.state.names[&alice].expires_at, Height(at + 2 * LIFETIME));
    assert_eq!(
        w.state.names[&alice].grace_ends_at,
        Height(at + 2 * LIFETIME + GRACE)
    );

    let ctx = w.ctx(at + 4, 0, vec![]);
    w.submit(
        &key(3),
        Operation::NameRevoke {
            name: alice.clone(),
        },
        &ctx,
    )
    .unwrap();
    let record = &w.state.names[&alice];
    assert!(record.revoked);
    assert_eq!(record.zone_file, None);
    assert_eq!(record.status(Height(at + 5)), NameStatus::Revoked);
}

#[test]
fn status_at_a_height_active_grace_expired() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let record = &w.state.names[&alice];
    assert_eq!(record.status(Height(at)), NameStatus::Active);
    assert_eq!(record.status(Height(at + LIFETIME - 1)), NameStatus::Active);
    assert_eq!(record.status(Height(at + LIFETIME)), NameStatus::Grace);
    assert_eq!(
        record.status(Height(at + LIFETIME + GRACE - 1)),
        NameStatus::Grace
    );
    assert_eq!(
        record.status(Height(at + LIFETIME + GRACE)),
        NameStatus::Expired
    );
}

#[test]
fn a_coinbase_carries_no_operation() {
    let mut w = World::new();
    let mut ctx = w.ctx(5, NAME_COST_UNIT, vec![]);
    let op = w.sign(
        &key(1),
        Operation::NamePreorder {
            commitment: Commitment([1; 32]),
        },
        &ctx,
    );
    ctx.spent.clear();
    assert_eq!(w.submit_signed(&op, &ctx), Err(Rejection::NoSpentOutpoint));
}

#[test]
fn a_signature_binds_chain_and_first_spent_outpoint() {
    let mut w = World::new();
    let ctx = w.ctx(5, NAME_COST_UNIT, vec![]);
    let op = w.sign(
        &key(1),
        Operation::NamePreorder {
            commitment: Commitment([1; 32]),
        },
        &ctx,
    );
    assert!(apply(&w.params, &w.state, &ctx, &op).is_ok());

    // Another network.
    let mut other_chain = ctx.clone();
    other_chain.chain_id.0[0] ^= 1;
    assert_eq!(
        apply(&w.params, &w.state, &other_chain, &op),
        Err(Rejection::BadSignature)
    );
    // Another transaction: it cannot spend the same first outpoint.
    let mut other_tx = ctx.clone();
    other_tx.spent[0] = w.coin();
    assert_eq!(
        apply(&w.params, &w.state, &other_tx, &op),
        Err(Rejection::BadSignature)
    );
    // The same outpoint, not first.
    let mut reordered = ctx.clone();
    reordered.spent.insert(0, w.coin());
    assert_eq!(
        apply(&w.params, &w.state, &reordered, &op),
        Err(Rejection::BadSignature)
    );
    // Another signer key with the same signature.
    let mut forged = op.clone();
    forged.signer = OwnerKey(key(9).verifying_key().to_bytes());
    assert_eq!(
        apply(&w.params, &w.state, &ctx, &forged),
        Err(Rejection::BadSignature)
    );
    // A key that is not a point.
    forged.signer = OwnerKey([0xff; 32]);
    assert_eq!(
        apply(&w.params, &w.state, &ctx, &forged),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_malformed_payload_is_rejected_with_its_reason() {
    let w = World::new();
    let ctx = TxContext {
        chain_id: w.chain_id,
        txid: naming::TxId([1; 32]),
        height: Height(1),
        burned: Amount(0),
        spent: vec![OutPoint::default()],
        pay_vouts: vec![],
    };
    assert_eq!(
        apply_payload(&w.params, &w.state, &ctx, b"xyz\x01?"),
        Err(Rejection::Decode(DecodeError::BadMagic))
    );
}

#[test]
fn a_name_preorder_burns_at_least_the_smallest_price() {
    let mut w = World::new();
    let commitment = Commitment([1; 32]);
    let ctx = w.ctx(5, NAME_COST_UNIT - 1, vec![]);
    assert_eq!(
        w.submit(&key(1), Operation::NamePreorder { commitment }, &ctx),
        Err(Rejection::FeeTooLow {
            required: Amount(NAME_COST_UNIT),
            burned: Amount(NAME_COST_UNIT - 1)
        })
    );
    let ctx = w.ctx(5, NAME_COST_UNIT, vec![]);
    assert!(
        w.submit(&key(1), Operation::NamePreorder { commitment }, &ctx)
            .is_ok()
    );
}

#[test]
fn a_namespace_preorder_burns_at_least_the_cheapest_namespace() {
    let mut w = World::new();
    let cheapest = w.params.namespace_prices.cheapest().units();
    let commitment = Commitment([1; 32]);
    let ctx = w.ctx(5, cheapest - 1, vec![]);
    assert!(matches!(
        w.submit(&key(1), Operation::NamespacePreorder { commitment }, &ctx),
        Err(Rejection::FeeTooLow { .. })
    ));
}

#[test]
fn a_preorder_needs_a_pay_output() {
    let mut w = World::new();
    let mut ctx = w.ctx(5, NAME_COST_UNIT, vec![]);
    ctx.pay_vouts.clear();
    assert_eq!(
        w.submit(
            &key(1),
            Operation::NamePreorder {
                commitment: Commitment([1; 32])
            },
            &ctx
        ),
        Err(Rejection::PreorderWithoutOutput)
    );
}

#[test]
fn a_live_commitment_cannot_be_preordered_twice_a_stale_one_can() {
    let mut w = World::new();
    let commitment = Commitment([1; 32]);
    let ctx = w.ctx(5, NAME_COST_UNIT, vec![]);
    w.submit(&key(1), Operation::NamePreorder { commitment }, &ctx)
        .unwrap();
    let ctx = w.ctx(5 + MAX_AGE, NAME_COST_UNIT, vec![]);
    assert_eq!(
        w.submit(&key(1), Operation::NamePreorder { commitment }, &ctx),
        Err(Rejection::PreorderExists { commitment })
    );
    let ctx = w.ctx(5 + MAX_AGE + 1, NAME_COST_UNIT, vec![]);
    let changes = w
        .submit(&key(1), Operation::NamePreorder { commitment }, &ctx)
        .unwrap();
    // The stale record is the change's "before": a reorg restores it.
    assert!(matches!(
        &changes.changes()[0],
        naming::Change::Preorder { before: Some(b), .. } if b.height == Height(5)
    ));
}

/// A preorder of `alice.id` by key 2 at `ready`, and the register op and its salt.
fn preordered(w: &mut World, at: u32) -> (OutPoint, Operation) {
    let salt = Salt([7; 16]);
    let alice = name("alice.id");
    let price = test_price().price(&alice.label).units();
    let out = w.preorder_name(&key(2), &alice, salt, at, price);
    let op = Operation::NameRegister {
        name: alice,
        salt,
        zone_file: Some(ZoneFileHash([4; 32])),
    };
    (out, op)
}

#[test]
fn a_register_must_come_between_min_depth_and_max_age() {
    let (mut w, ready) = launched();
    let (out, op) = preordered(&mut w, ready);
    for (at, expected) in [
        (
            ready,
            Rejection::PreorderTooRecent {
                depth: 0,
                min: MIN_DEPTH,
            },
        ),
        (
            ready + MIN_DEPTH - 1,
            Rejection::PreorderTooRecent {
                depth: MIN_DEPTH - 1,
                min: MIN_DEPTH,
            },
        ),
        (
            ready + MAX_AGE + 1,
            Rejection::PreorderTooOld {
                age: MAX_AGE + 1,
                max: MAX_AGE,
            },
        ),
    ] {
        let ctx = w.ctx(at, 0, vec![out]);
        assert_eq!(w.submit(&key(2), op.clone(), &ctx), Err(expected));
    }
    let ctx = w.ctx(ready + MAX_AGE, 0, vec![out]);
    assert!(w.submit(&key(2), op, &ctx).is_ok());
}

#[test]
fn the_mempool_does_not_relay_an_early_reveal() {
    let (mut w, ready) = launched();
    let (out, op) = preordered(&mut w, ready);
    // The next block would be one block after the preorder: too early.
    let ctx = w.ctx(ready + 1, 0, vec![out]);
    let payload = w.sign(&key(2), op.clone(), &ctx).encode();
    let verdict = check_relay(&w.params, &w.state, &ctx, &payload);
    assert!(
        verdict.as_ref().is_err_and(Rejection::is_premature),
        "{verdict:?}"
    );
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![out]);
    let payload = w.sign(&key(2), op, &ctx).encode();
    assert_eq!(check_relay(&w.params, &w.state, &ctx, &payload), Ok(()));
    // Relaying changes nothing.
    assert_eq!(w.state.names.len(), 0);
}

#[test]
fn a_register_must_spend_the_preorder_output() {
    let (mut w, ready) = launched();
    let (out, op) = preordered(&mut w, ready);
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![]);
    assert_eq!(
        w.submit(&key(2), op.clone(), &ctx),
        Err(Rejection::PreorderOutputNotSpent { output: out })
    );
    // Spending it as a later input is enough; the first input binds the signature.
    let first = w.coin();
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![first, out]);
    assert!(w.submit(&key(2), op, &ctx).is_ok());
}

#[test]
fn a_front_runner_cannot_use_a_seen_preorder_or_reveal() {
    let (mut w, ready) = launched();
    let (out, op) = preordered(&mut w, ready);
    // The thief copies the register with his own key: the commitment includes the
    // owner's address, so there is no preorder for his.
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![out]);
    let Operation::NameRegister { name: n, salt, .. } = &op else {
        unreachable!()
    };
    let thief_commitment = Commitment::for_name(n, salt, &owner(&key(6)));
    assert_eq!(
        w.submit(&key(6), op.clone(), &ctx),
        Err(Rejection::NoPreorder {
            commitment: thief_commitment
        })
    );
    // His own preorder, made on seeing the reveal, is too recent when the owner's is
    // deep enough; the owner's register wins.
    let price = test_price().price(&n.label).units();
    let thief_out = w.preorder_name(&key(6), n, *salt, ready + MIN_DEPTH - 1, price);
    let thief_ctx = w.ctx(ready + MIN_DEPTH, 0, vec![thief_out]);
    assert!(matches!(
        w.submit(&key(6), op.clone(), &thief_ctx),
        Err(Rejection::PreorderTooRecent { .. })
    ));
    w.submit(&key(2), op.clone(), &ctx).unwrap();
    let thief_ctx = w.ctx(ready + MIN_DEPTH + 1, 0, vec![thief_out]);
    assert!(matches!(
        w.submit(&key(6), op, &thief_ctx),
        Err(Rejection::NameTaken {
            status: NameStatus::Active,
            ..
        })
    ));
}

#[test]
fn a_register_is_signed_by_the_preorder_signer_and_matches_its_kind() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let salt = Salt([7; 16]);
    // Key 5 preorders a commitment naming key 2's address as owner.
    let commitment = Commitment::for_name(&alice, &salt, &owner(&key(2)));
    let pre = w.ctx(ready, 10_000_000, vec![]);
    w.submit(&key(5), Operation::NamePreorder { commitment }, &pre)
        .unwrap();
    let out = OutPoint {
        txid: pre.txid,
        vout: 1,
    };
    let op = Operation::NameRegister {
        name: alice.clone(),
        salt,
        zone_file: None,
    };
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![out]);
    assert_eq!(
        w.submit(&key(2), op, &ctx),
        Err(Rejection::PreorderSignerMismatch {
            preorder: owner(&key(5)),
            signer: owner(&key(2)),
        })
    );

    // A namespace preorder does not serve a name register.
    let salt = Salt([8; 16]);
    let commitment = Commitment::for_name(&alice, &salt, &owner(&key(2)));
    let pre = w.ctx(ready, 10_000_000_000, vec![]);
    w.submit(&key(2), Operation::NamespacePreorder { commitment }, &pre)
        .unwrap();
    let out = OutPoint {
        txid: pre.txid,
        vout: 1,
    };
    let op = Operation::NameRegister {
        name: alice,
        salt,
        zone_file: None,
    };
    let ctx = w.ctx(ready + MIN_DEPTH, 0, vec![out]);
    assert_eq!(
        w.submit(&key(2), op, &ctx),
        Err(Rejection::NoPreorder { commitment })
    );
}

#[test]
fn a_register_preorder_must_have_burned_the_price() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let price = test_price().price(&alice.label).units();
    let salt = Salt([7; 16]);
    let out = w.preorder_name(&key(2), &alice, salt, ready, price - 1);
    let ctx = w.ctx(ready + MIN_DEPTH, price, vec![out]);
    let op = Operation::NameRegister {
        name: alice,
        salt,
        zone_file: None,
    };
    assert_eq!(
        w.submit(&key(2), op, &ctx),
        Err(Rejection::FeeTooLow {
            required: Amount(price),
            burned: Amount(price - 1)
        })
    );
}

#[test]
fn names_register_only_in_a_ready_namespace() {
    let mut w = World::new();
    let op_for = |n: &str| Operation::NameRegister {
        name: name(n),
        salt: Salt([7; 16]),
        zone_file: None,
    };
    let out = w.preorder_name(&key(2), &name("alice.nope"), Salt([7; 16]), 1, 10_000_000);
    let ctx = w.ctx(1 + MIN_DEPTH, 0, vec![out]);
    assert_eq!(
        w.submit(&key(2), op_for("alice.nope"), &ctx),
        Err(Rejection::NoNamespace {
            namespace: ns("nope")
        })
    );
    // Revealed but not ready.
    let salt = Salt([1; 16]);
    let price = w.namespace_price(&ns("app"));
    let nout = w.preorder_namespace(&key(1), &ns("app"), salt, 1, price);
    let ctx = w.ctx(1 + MIN_DEPTH, 0, vec![nout]);
    let reveal = Operation::NamespaceReveal {
        namespace: ns("app"),
        salt,
        terms: test_terms(),
    };
    w.submit(&key(1), reveal, &ctx).unwrap();
    let out = w.preorder_name(&key(2), &name("alice.app"), Salt([7; 16]), 4, 10_000_000);
    let ctx = w.ctx(4 + MIN_DEPTH, 0, vec![out]);
    assert_eq!(
        w.submit(&key(2), op_for("alice.app"), &ctx),
        Err(Rejection::NamespaceNotReady {
            namespace: ns("app")
        })
    );
}

#[test]
fn a_namespace_reveal_checks_its_preorder_price_lifetime_and_uniqueness() {
    let mut w = World::new();
    let id = ns("app");
    let salt = Salt([1; 16]);
    let price = w.namespace_price(&id);
    let reveal = |terms| Operation::NamespaceReveal {
        namespace: id.clone(),
        salt,
        terms,
    };

    // Under-paid preorder.
    let out = w.preorder_namespace(&key(1), &id, salt, 1, price - 1);
    let ctx = w.ctx(1 + MIN_DEPTH, 0, vec![out]);
    assert_eq!(
        w.submit(&key(1), reveal(test_terms()), &ctx),
        Err(Rejection::FeeTooLow {
            required: Amount(price),
            burned: Amount(price - 1)
        })
    );
    // Zero lifetime.
    let zero = NamespaceTerms {
        lifetime: 0,
        ..test_terms()
    };
    assert_eq!(
        w.submit(&key(1), reveal(zero), &ctx),
        Err(Rejection::ZeroLifetime)
    );
    // Too early, then fine.
    let out = w.preorder_namespace(&key(1), &id, Salt([2; 16]), 2, price);
    let early = w.ctx(3, 0, vec![out]);
    let op2 = Operation::NamespaceReveal {
        namespace: id.clone(),
        salt: Salt([2; 16]),
        terms: test_terms(),
    };
    assert!(matches!(
        w.submit(&key(1), op2.clone(), &early),
        Err(Rejection::PreorderTooRecent { .. })
    ));
    let no_spend = w.ctx(2 + MIN_DEPTH, 0, vec![]);
    assert_eq!(
        w.submit(&key(1), op2.clone(), &no_spend),
        Err(Rejection::PreorderOutputNotSpent { output: out })
    );
    let ok = w.ctx(2 + MIN_DEPTH, 0, vec![out]);
    w.submit(&key(1), op2, &ok).unwrap();
    // Someone else cannot reveal the same id while it is revealed.
    let out = w.preorder_namespace(&key(3), &id, Salt([3; 16]), 5, price);
    let ctx = w.ctx(5 + MIN_DEPTH, 0, vec![out]);
    let op3 = Operation::NamespaceReveal {
        namespace: id.clone(),
        salt: Salt([3; 16]),
        terms: test_terms(),
    };
    assert_eq!(
        w.submit(&key(3), op3, &ctx),
        Err(Rejection::NamespaceExists {
            namespace: id.clone()
        })
    );
}

#[test]
fn a_lapsed_namespace_can_be_revealed_again() {
    let mut w = World::new();
    let id = ns("app");
    let price = w.namespace_price(&id);
    let out = w.preorder_namespace(&key(1), &id, Salt([1; 16]), 1, price);
    let ctx = w.ctx(1 + MIN_DEPTH, 0, vec![out]);
    let reveal = Operation::NamespaceReveal {
        namespace: id.clone(),
        salt: Salt([1; 16]),
        terms: test_terms(),
    };
    w.submit(&key(1), reveal, &ctx).unwrap();
    let lapse = 1 + MIN_DEPTH + READY_WINDOW;
    // Ready comes too late.
    let ctx = w.ctx(lapse, 0, vec![]);
    assert_eq!(
        w.submit(
            &key(1),
            Operation::NamespaceReady {
                namespace: id.clone()
            },
            &ctx
        ),
        Err(Rejection::NamespaceLapsed {
            namespace: id.clone()
        })
    );
    // Another creator takes the id.
    let out = w.preorder_namespace(&key(3), &id, Salt([3; 16]), lapse, price);
    let ctx = w.ctx(lapse + MIN_DEPTH, 0, vec![out]);
    let reveal = Operation::NamespaceReveal {
        namespace: id.clone(),
        salt: Salt([3; 16]),
        terms: test_terms(),
    };
    w.submit(&key(3), reveal, &ctx).unwrap();
    assert_eq!(w.state.namespaces[&id].creator, owner(&key(3)));
}

#[test]
fn only_the_creator_readies_a_namespace_once() {
    let mut w = World::new();
    let id = ns("app");
    let ctx = w.ctx(1, 0, vec![]);
    assert_eq!(
        w.submit(
            &key(1),
            Operation::NamespaceReady {
                namespace: id.clone()
            },
            &ctx
        ),
        Err(Rejection::NoNamespace {
            namespace: id.clone()
        })
    );
    let ready = w.launch(&key(1), &id, 1);
    let _ = ready;
    let ctx = w.ctx(ready + 1, 0, vec![]);
    assert_eq!(
        w.submit(
            &key(2),
            Operation::NamespaceReady {
                namespace: id.clone()
            },
            &ctx
        ),
        Err(Rejection::NotCreator {
            namespace: id.clone(),
            creator: owner(&key(1)),
            signer: owner(&key(2)),
        })
    );
    assert_eq!(
        w.submit(
            &key(1),
            Operation::NamespaceReady {
                namespace: id.clone()
            },
            &ctx
        ),
        Err(Rejection::AlreadyReady {
            namespace: id.clone()
        })
    );
}

#[test]
fn only_the_owner_changes_a_name() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let price = test_price().price(&alice.label).units();
    let ops = [
        Operation::NameUpdate {
            name: alice.clone(),
            zone_file: ZoneFileHash([1; 32]),
        },
        Operation::NameTransfer {
            name: alice.clone(),
            new_owner: owner(&key(7)),
            keep_zone_file: false,
        },
        Operation::NameRenew {
            name: alice.clone(),
        },
        Operation::NameRevoke {
            name: alice.clone(),
        },
    ];
    for op in ops {
        let ctx = w.ctx(at + 1, price, vec![]);
        let refused = w.submit(&key(7), op.clone(), &ctx);
        assert_eq!(
            refused,
            Err(Rejection::NotOwner {
                name: alice.clone(),
                owner: owner(&key(2)),
                signer: owner(&key(7)),
            }),
            "{}",
            op.kind()
        );
        // The reason names both addresses.
        let reason = refused.unwrap_err().to_string();
        assert!(
            reason.contains(&hex::encode(owner(&key(2)).0))
                && reason.contains(&hex::encode(owner(&key(7)).0)),
            "{reason}"
        );
        let missing = match op.clone() {
            Operation::NameUpdate { zone_file, .. } => Operation::NameUpdate {
                name: name("bob.id"),
                zone_file,
            },
            Operation::NameTransfer {
                new_owner,
                keep_zone_file,
                ..
            } => Operation::NameTransfer {
                name: name("bob.id"),
                new_owner,
                keep_zone_file,
            },
            Operation::NameRenew { .. } => Operation::NameRenew {
                name: name("bob.id"),
            },
            _ => Operation::NameRevoke {
                name: name("bob.id"),
            },
        };
        assert_eq!(
            w.submit(&key(2), missing, &ctx),
            Err(Rejection::NoName {
                name: name("bob.id")
            })
        );
    }
}

#[test]
fn a_transfer_to_an_address_hands_the_name_to_the_key_of_that_address() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let ctx = w.ctx(at + 1, 0, vec![]);
    let op = Operation::NameTransfer {
        name: alice.clone(),
        new_owner: owner(&key(3)),
        keep_zone_file: true,
    };
    w.submit(&key(2), op, &ctx).unwrap();
    assert_eq!(w.state.names[&alice].owner, owner(&key(3)));
    let update = |zone: u8| Operation::NameUpdate {
        name: alice.clone(),
        zone_file: ZoneFileHash([zone; 32]),
    };
    // The old owner's key no longer acts for it.
    let ctx = w.ctx(at + 2, 0, vec![]);
    assert_eq!(
        w.submit(&key(2), update(1), &ctx),
        Err(Rejection::NotOwner {
            name: alice.clone(),
            owner: owner(&key(3)),
            signer: owner(&key(2)),
        })
    );
    // The key whose address received it does.
    w.submit(&key(3), update(2), &ctx).unwrap();
    assert_eq!(w.state.names[&alice].zone_file, Some(ZoneFileHash([2; 32])));

    // An address is any 32 bytes: one no known key hashes to is taken as given, and the
    // keys that acted for the name before act no more.
    let nobody = OwnerAddress([0xff; 32]);
    let ctx = w.ctx(at + 3, 0, vec![]);
    let op = Operation::NameTransfer {
        name: alice.clone(),
        new_owner: nobody,
        keep_zone_file: true,
    };
    w.submit(&key(3), op, &ctx).unwrap();
    assert_eq!(w.state.names[&alice].owner, nobody);
    for k in [2, 3] {
        let ctx = w.ctx(at + 4, 0, vec![]);
        assert_eq!(
            w.submit(&key(k), update(3), &ctx),
            Err(Rejection::NotOwner {
                name: alice.clone(),
                owner: nobody,
                signer: owner(&key(k)),
            })
        );
    }
}

#[test]
fn a_renewal_pays_the_price_every_time() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let price = test_price().price(&alice.label).units();
    let ctx = w.ctx(at + 1, price - 1, vec![]);
    assert_eq!(
        w.submit(
            &key(2),
            Operation::NameRenew {
                name: alice.clone()
            },
            &ctx
        ),
        Err(Rejection::FeeTooLow {
            required: Amount(price),
            burned: Amount(price - 1)
        })
    );
    let ctx = w.ctx(at + 1, 0, vec![]);
    assert!(matches!(
        w.submit(&key(2), Operation::NameRenew { name: alice }, &ctx),
        Err(Rejection::FeeTooLow { .. })
    ));
}

#[test]
fn in_grace_only_the_owner_renews_and_after_it_the_name_is_free() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let price = test_price().price(&alice.label).units();
    let grace = at + LIFETIME;

    let ctx = w.ctx(grace, 0, vec![]);
    let update = Operation::NameUpdate {
        name: alice.clone(),
        zone_file: ZoneFileHash([1; 32]),
    };
    assert_eq!(
        w.submit(&key(2), update, &ctx),
        Err(Rejection::NameInGrace {
            name: alice.clone()
        })
    );
    let transfer = Operation::NameTransfer {
        name: alice.clone(),
        new_owner: owner(&key(3)),
        keep_zone_file: true,
    };
    assert_eq!(
        w.submit(&key(2), transfer, &ctx),
        Err(Rejection::NameInGrace {
            name: alice.clone()
        })
    );
    let revoke = Operation::NameRevoke {
        name: alice.clone(),
    };
    assert_eq!(
        w.submit(&key(2), revoke, &ctx),
        Err(Rejection::NameInGrace {
            name: alice.clone()
        })
    );

    // Someone else cannot register it during the grace period.
    let salt = Salt([9; 16]);
    let out = w.preorder_name(&key(3), &alice, salt, grace - MIN_DEPTH, price);
    let ctx = w.ctx(grace, 0, vec![out]);
    let register = Operation::NameRegister {
        name: alice.clone(),
        salt,
        zone_file: None,
    };
    assert_eq!(
        w.submit(&key(3), register.clone(), &ctx),
        Err(Rejection::NameTaken {
            name: alice.clone(),
            status: NameStatus::Grace
        })
    );

    // After the grace period the owner cannot renew, and a new register takes it.
    let free = at + LIFETIME + GRACE;
    let ctx = w.ctx(free, price, vec![]);
    assert_eq!(
        w.submit(
            &key(2),
            Operation::NameRenew {
                name: alice.clone()
            },
            &ctx
        ),
        Err(Rejection::NameExpired {
            name: alice.clone()
        })
    );
    let out = w.preorder_name(&key(3), &alice, Salt([10; 16]), free - MIN_DEPTH, price);
    let ctx = w.ctx(free, 0, vec![out]);
    let register = Operation::NameRegister {
        name: alice.clone(),
        salt: Salt([10; 16]),
        zone_file: None,
    };
    let changes = w.submit(&key(3), register, &ctx).unwrap();
    assert_eq!(w.state.names[&alice].owner, owner(&key(3)));
    assert_eq!(w.state.names[&alice].expires_at, Height(free + LIFETIME));
    // Undoing the new registration brings the expired record back.
    w.state.revert(&changes).unwrap();
    assert_eq!(w.state.names[&alice].owner, owner(&key(2)));
}

#[test]
fn a_renewal_in_grace_extends_from_the_old_expiry() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let price = test_price().price(&alice.label).units();
    let ctx = w.ctx(at + LIFETIME + 1, price, vec![]);
    w.submit(
        &key(2),
        Operation::NameRenew {
            name: alice.clone(),
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(w.state.names[&alice].expires_at, Height(at + 2 * LIFETIME));
    assert_eq!(
        w.state.names[&alice].status(Height(at + LIFETIME + 2)),
        NameStatus::Active
    );
}

#[test]
fn a_revoked_name_is_dead_until_it_expires() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let price = test_price().price(&alice.label).units();
    let ctx = w.ctx(at + 1, 0, vec![]);
    w.submit(
        &key(2),
        Operation::NameRevoke {
            name: alice.clone(),
        },
        &ctx,
    )
    .unwrap();
    let ctx = w.ctx(at + 2, price, vec![]);
    for op in [
        Operation::NameRenew {
            name: alice.clone(),
        },
        Operation::NameUpdate {
            name: alice.clone(),
            zone_file: ZoneFileHash([1; 32]),
        },
        Operation::NameRevoke {
            name: alice.clone(),
        },
    ] {
        assert_eq!(
            w.submit(&key(2), op, &ctx),
            Err(Rejection::NameRevoked {
                name: alice.clone()
            })
        );
    }
    let salt = Salt([9; 16]);
    let out = w.preorder_name(&key(3), &alice, salt, at + 2, price);
    let ctx = w.ctx(at + 2 + MIN_DEPTH, 0, vec![out]);
    let register = Operation::NameRegister {
        name: alice.clone(),
        salt,
        zone_file: None,
    };
    assert_eq!(
        w.submit(&key(3), register, &ctx),
        Err(Rejection::NameTaken {
            name: alice,
            status: NameStatus::Revoked
        })
    );
}

#[test]
fn a_transfer_without_keep_clears_the_zone_file() {
    let (mut w, ready) = launched();
    let alice = name("alice.id");
    let at = w.register(&key(2), &alice, ready);
    let ctx = w.ctx(at + 1, 0, vec![]);
    w.submit(
        &key(2),
        Operation::NameUpdate {
            name: alice.clone(),
            zone_file: ZoneFileHash([1; 32]),
        },
        &ctx,
    )
    .unwrap();
    let ctx = w.ctx(at + 2, 0, vec![]);
    let op = Operation::NameTransfer {
        name: alice.clone(),
        new_owner: owner(&key(3)),
        keep_zone_file: false,
    };
    w.submit(&key(2), op, &ctx).unwrap();
    assert_eq!(w.state.names[&alice].zone_file, None);
    // The old owner no longer signs for it.
    let ctx = w.ctx(at + 3, 0, vec![]);
    assert_eq!(
        w.submit(
            &key(2),
            Operation::NameRevoke {
                name: alice.clone()
            },
            &ctx
        ),
        Err(Rejection::NotOwner {
            name: alice,
            owner: owner(&key(3)),
            signer: owner(&key(2)),
        })
    );
}

#[test]
fn a_rejected_operation_changes_nothing() {
    let (mut w, ready) = launched();
    let before = w.state.clone();
    let ctx = w.ctx(ready + 1, 0, vec![]);
    let op = w.sign(&key(2), Operation::NameRevoke { name: name("x.id") }, &ctx);
    assert!(w.submit_signed(&op, &ctx).is_err());
    assert_eq!(w.state, before);
    let _: SignedOperation = op;
}

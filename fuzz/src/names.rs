//! Targets for `naming`'s formats: operation payloads (burn outputs), state records,
//! change lists (undo records), lookup proofs, the state tree's stored nodes and node
//! paths, and names and namespace ids as text.
//!
//! Properties: decoding never panics, and whatever decodes re-encodes to exactly the
//! input (every format is canonical). Decoded values then go through what the node and
//! a light client do with them, against one small name state ([`World`]): a payload's
//! signature is checked and the rules applied; accepted changes apply to the state and
//! to its tree alike, and undo back to the state before; a proof is verified against
//! the state's root, and whatever it proves is what the tree holds. None of it panics.

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use naming::{
    Amount, ChainId, Change, Changes, Commitment, Height, LeafChange, MemoryNames, MemoryStore,
    Name, NameRecord, NamespaceId, NamespaceRecord, NamespaceTerms, NamingParams, Node, NodePath,
    Operation, OutPoint, OwnerAddress, OwnerKey, PreorderKind, PreorderRecord, PriceFunction,
    Proof, Salt, SignedOperation, StateKey, StateRoot, Terminal, TxContext, TxId, ZoneFileHash,
    apply, lookup, prove, value_hash, verify, verify_name,
};

/// The height of every operation the targets apply.
const HEIGHT: u32 = 1000;

/// The signing key of a seed byte: 1 creates namespaces, 2 owns names, 3 receives one.
fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The public key of a seed byte's signing key.
fn signer(seed: u8) -> OwnerKey {
    OwnerKey(key(seed).verifying_key().to_bytes())
}

/// The address that owns what a seed byte's key signs for.
fn owner(seed: u8) -> OwnerAddress {
    OwnerAddress::of_key(&signer(seed))
}

fn name(s: &str) -> Option<Name> {
    s.parse().ok()
}

fn namespace(s: &str) -> Option<NamespaceId> {
    s.parse().ok()
}

const SALT: Salt = Salt([0x5a; 16]);

/// The outpoint every operation is signed over (the first one its transaction spends).
const FIRST_SPENT: OutPoint = OutPoint {
    txid: TxId([0xf0; 32]),
    vout: 0,
};
/// The outputs of the name and namespace preorders in the state, which the
/// transaction spends too.
const NAME_PREORDER_OUT: OutPoint = OutPoint {
    txid: TxId([0xa1; 32]),
    vout: 1,
};
const NAMESPACE_PREORDER_OUT: OutPoint = OutPoint {
    txid: TxId([0xa2; 32]),
    vout: 1,
};

/// The small name state every target works against, its tree, and the transaction
/// that carries the operations.
pub struct World {
    params: NamingParams,
    ctx: TxContext,
    state: MemoryNames,
    store: MemoryStore,
}

fn terms() -> Option<NamespaceTerms> {
    Some(NamespaceTerms {
        lifetime: 100,
        grace: 20,
        price: PriceFunction::new(3, 4, [6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0], 2, 2)
            .ok()?,
    })
}

fn build_world() -> Option<World> {
    let h = |d: i64| Height(u32::try_from(i64::from(HEIGHT) + d).unwrap_or(0));
    let mut state = MemoryNames::new();
    let namespace_record = |ready_at: Option<Height>| -> Option<NamespaceRecord> {
        Some(NamespaceRecord {
            creator: owner(1),
            terms: terms()?,
            revealed_at: h(-30),
            ready_by: h(10),
            ready_at,
            reveal_txid: TxId([0xb1; 32]),
        })
    };
    // "id" is open, "new" revealed and not yet ready.
    state
        .namespaces
        .insert(namespace("id")?, namespace_record(Some(h(-20)))?);
    state
        .namespaces
        .insert(namespace("new")?, namespace_record(None)?);
    // "alice.id" is active, "old.id" in its grace period.
    let name_record = |expires: i64, zone: bool| NameRecord {
        owner: owner(2),
        zone_file: zone.then_some(ZoneFileHash([0x2f; 32])),
        registered_at: h(-50),
        expires_at: h(expires),
        grace_ends_at: h(expires + 20),
        revoked: false,
        last_txid: TxId([0xb2; 32]),
    };
    state.names.insert(name("alice.id")?, name_record(50, true));
    state.names.insert(name("old.id")?, name_record(-5, false));
    // Preorders of "bob.id" and of the namespace "xyz", three blocks deep.
    let preorder = |kind, signer, output| PreorderRecord {
        kind,
        signer,
        height: h(-3),
        burned: Amount(1_000_000_000),
        output,
    };
    state.preorders.insert(
        Commitment::for_name(&name("bob.id")?, &SALT, &owner(2)),
        preorder(PreorderKind::Name, owner(2), NAME_PREORDER_OUT),
    );
    state.preorders.insert(
        Commitment::for_namespace(&namespace("xyz")?, &SALT, &owner(1)),
        preorder(PreorderKind::Namespace, owner(1), NAMESPACE_PREORDER_OUT),
    );
    let store = store_of(&state)?;
    Some(World {
        params: NamingParams::regtest(),
        ctx: TxContext {
            chain_id: ChainId([0xc1; 32]),
            txid: TxId([0x7e; 32]),
            height: Height(HEIGHT),
            burned: Amount(1_000_000_000),
            spent: vec![FIRST_SPENT, NAME_PREORDER_OUT, NAMESPACE_PREORDER_OUT],
            pay_vouts: vec![1],
        },
        state,
        store,
    })
}

/// The world, built once.
fn world() -> Option<&'static World> {
    static WORLD: OnceLock<Option<World>> = OnceLock::new();
    WORLD.get_or_init(build_world).as_ref()
}

/// Every record of `state` as a change from absent to present.
fn creations(state: &MemoryNames) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for (id, r) in &state.namespaces {
        out.push(Change::Namespace {
            id: id.clone(),
            before: None,
            after: Some(r.clone()),
        });
    }
    for (name, r) in &state.names {
        out.push(Change::Name {
            name: name.clone(),
            before: None,
            after: Some(r.clone()),
        });
    }
    for (commitment, r) in &state.preorders {
        out.push(Change::Preorder {
            commitment: *commitment,
            before: None,
            after: Some(r.clone()),
        });
    }
    out
}

/// The tree of `state`, built from nothing in one batch: the oracle that an updated
/// tree is compared with.
fn store_of(state: &MemoryNames) -> Option<MemoryStore> {
    let changes: Vec<LeafChange> = creations(state).iter().map(Change::leaf_change).collect();
    let mut store = MemoryStore::new();
    store.apply(&changes).ok()?;
    Some(store)
}

/// Checks what the node does with accepted `changes`: they apply to the state exactly
/// when they apply to its tree, the updated tree is the tree of the updated state, and
/// undoing them restores both. Returns whether they applied.
fn apply_both(world: &World, changes: &Changes) -> bool {
    let mut state = world.state.clone();
    let mut store = world.store.clone();
    let leaves: Vec<LeafChange> = changes.changes().iter().map(Change::leaf_change).collect();
    let on_state = state.apply(changes).is_ok();
    let on_tree = store.apply(&leaves);
    assert_eq!(
        on_state,
        on_tree.is_ok(),
        "the state and its tree disagree on {changes:?}: {on_tree:?}"
    );
    let Ok(new_root) = on_tree else {
        return false;
    };
    assert_eq!(
        store_of(&state).map(|s| s.root()),
        Some(new_root),
        "the updated tree is not the tree of the updated state"
    );
    assert!(state.revert(changes).is_ok(), "applied changes do not undo");
    assert_eq!(
        state, world.state,
        "undoing changes does not restore the state"
    );
    assert_eq!(store.undo(&leaves).ok(), Some(world.store.root()));
    assert_eq!(store, world.store, "undoing changes leaves other nodes");
    true
}

/// Operation payloads: canonical; the signature check (for the world's chain and
/// outpoint) and the rules answer without panicking, on the payload as it is and signed
/// again by the world's key of its signer; what the rules accept is signed, and its
/// changes are a canonical undo record that applies to the state and its tree alike
/// and undoes.
pub fn name_operation(data: &[u8]) -> bool {
    let Ok(op) = SignedOperation::decode(data) else {
        return false;
    };
    assert_eq!(op.encode(), data, "{op:?} re-encodes differently");
    let Some(world) = world() else {
        return true;
    };
    let signed = op.verify(&world.ctx.chain_id, &FIRST_SPENT);
    check_rules(world, &op, signed);
    // A changed body breaks the signature; signed again by the world's key of its
    // signer, it reaches the rules past the signature check.
    if !signed && let Some(k) = (1..=3).find(|&k| signer(k) == op.signer) {
        let again = SignedOperation::sign(op.op, &key(k), &world.ctx.chain_id, &FIRST_SPENT);
        assert!(again.verify(&world.ctx.chain_id, &FIRST_SPENT));
        check_rules(world, &again, true);
    }
    true
}

/// Applies `op` to the world: what the rules accept is signed, and its changes are a
/// canonical undo record that applies to the state and its tree alike and undoes.
fn check_rules(world: &World, op: &SignedOperation, signed: bool) {
    if let Ok(changes) = apply(&world.params, &world.state, &world.ctx, op) {
        assert!(signed, "the rules accepted a bad signature");
        let bytes = changes.encode();
        assert_eq!(Changes::decode(&bytes).ok().as_ref(), Some(&changes));
        assert!(
            apply_both(world, &changes),
            "the changes of an accepted operation do not apply: {changes:?}"
        );
    }
}

/// The operations of the seeds, each signed by the key the rules expect of it.
fn seed_operations() -> Option<Vec<(u8, Operation)>> {
    let (alice, old, bob) = (name("alice.id")?, name("old.id")?, name("bob.id")?);
    let longest = name(&format!("{}.{}", "l".repeat(37), "n".repeat(19)))?;
    let zone = ZoneFileHash([0x3c; 32]);
    Some(vec![
        (
            1,
            Operation::NamespacePreorder {
                commitment: Commitment::for_namespace(&namespace("abc")?, &SALT, &owner(1)),
            },
        ),
        (
            1,
            Operation::NamespaceReveal {
                namespace: namespace("xyz")?,
                salt: SALT,
                terms: terms()?,
            },
        ),
        (
            1,
            Operation::NamespaceReady {
                namespace: namespace("new")?,
            },
        ),
        (
            2,
            Operation::NamePreorder {
                commitment: Commitment::for_name(&name("carol.id")?, &SALT, &owner(2)),
            },
        ),
        (
            2,
            Operation::NameRegister {
                name: bob.clone(),
                salt: SALT,
                zone_file: Some(zone),
            },
        ),
        (
            2,
            Operation::NameRegister {
                name: bob,
                salt: SALT,
                zone_file: None,
            },
        ),
        (
            2,
            Operation::NameUpdate {
                name: alice.clone(),
                zone_file: zone,
            },
        ),
        (
            2,
            Operation::NameTransfer {
                name: alice.clone(),
                new_owner: owner(3),
                keep_zone_file: true,
            },
        ),
        (
            2,
            Operation::NameTransfer {
                name: alice.clone(),
                new_owner: owner(3),
                keep_zone_file: false,
            },
        ),
        (2, Operation::NameRenew { name: old }),
        (2, Operation::NameRevoke { name: alice }),
        // The largest payload; refused by the rules (no such namespace).
        (
            2,
            Operation::NameRegister {
                name: longest,
                salt: SALT,
                zone_file: Some(zone),
            },
        ),
    ])
}

fn signed_seeds() -> Vec<SignedOperation> {
    let (Some(world), Some(ops)) = (world(), seed_operations()) else {
        return Vec::new();
    };
    ops.into_iter()
        .map(|(k, op)| SignedOperation::sign(op, &key(k), &world.ctx.chain_id, &FIRST_SPENT))
        .collect()
}

/// Seeds of [`name_operation`]: every operation kind, signed for the world's
/// transaction; all but the largest are accepted by the rules.
pub fn name_operation_seeds() -> Vec<Vec<u8>> {
    signed_seeds().iter().map(SignedOperation::encode).collect()
}

/// State records (name, namespace, preorder): canonical; their status at any height
/// answers without panicking.
pub fn name_record(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(r) = NameRecord::decode(data) {
        assert_eq!(r.encode(), data, "{r:?} re-encodes differently");
        for h in [0, HEIGHT, u32::MAX] {
            let _ = r.status(Height(h));
        }
        accepted = true;
    }
    if let Ok(r) = NamespaceRecord::decode(data) {
        assert_eq!(r.encode(), data, "{r:?} re-encodes differently");
        for h in [0, HEIGHT, u32::MAX] {
            let _ = r.status(Height(h));
        }
        accepted = true;
    }
    if let Ok(r) = PreorderRecord::decode(data) {
        assert_eq!(r.encode(), data, "{r:?} re-encodes differently");
        accepted = true;
    }
    accepted
}

/// Seeds of [`name_record`]: every record of the world.
pub fn name_record_seeds() -> Vec<Vec<u8>> {
    let Some(world) = world() else {
        return Vec::new();
    };
    let s = &world.state;
    s.names
        .values()
        .map(NameRecord::encode)
        .chain(s.namespaces.values().map(NamespaceRecord::encode))
        .chain(s.preorders.values().map(PreorderRecord::encode))
        .collect()
}

/// Change lists (undo records): canonical; they apply to the world's state exactly when
/// they apply to its tree, to the same result, and undo back.
pub fn name_changes(data: &[u8]) -> bool {
    let Ok(changes) = Changes::decode(data) else {
        return false;
    };
    assert_eq!(changes.encode(), data, "{changes:?} re-encodes differently");
    assert_eq!(changes.undo().undo(), changes);
    if let Some(world) = world() {
        apply_both(world, &changes);
    }
    true
}

/// Seeds of [`name_changes`]: the changes of every accepted seed operation, their undo
/// records, and no change at all.
pub fn name_changes_seeds() -> Vec<Vec<u8>> {
    let Some(world) = world() else {
        return Vec::new();
    };
    let mut out = vec![Changes::default().encode()];
    for op in signed_seeds() {
        if let Ok(c) = apply(&world.params, &world.state, &world.ctx, &op) {
            out.push(c.encode());
            out.push(c.undo().encode());
        }
    }
    out
}

/// The keys a proof is checked for: every record of the world with its bytes, and
/// keys that hold nothing.
fn probes(world: &World) -> Vec<(StateKey, Option<Vec<u8>>)> {
    let s = &world.state;
    let mut out: Vec<(StateKey, Option<Vec<u8>>)> = Vec::new();
    for (n, r) in &s.names {
        out.push((StateKey::name(n), Some(r.encode())));
    }
    for (id, r) in &s.namespaces {
        out.push((StateKey::namespace(id), Some(r.encode())));
    }
    for (c, r) in &s.preorders {
        out.push((StateKey::preorder(c), Some(r.encode())));
    }
    out.extend(absent_keys().into_iter().map(|k| (k, None)));
    out
}

/// Keys of no record of the world: unregistered names, and the first and last key.
fn absent_keys() -> Vec<StateKey> {
    let mut out: Vec<StateKey> = (0..16)
        .filter_map(|i| name(&format!("n{i}.id")))
        .map(|n| StateKey::name(&n))
        .collect();
    out.push(StateKey([0; 32]));
    out.push(StateKey([0xff; 32]));
    out
}

/// Lookup proofs against the world's root: canonical; verification of every probe key
/// with the true record, no record and a forged one never panics, and a proof only
/// verifies for the truth: the record the tree holds, or absence where it holds none.
pub fn name_proof(data: &[u8]) -> bool {
    let Ok(proof) = Proof::decode(data) else {
        return false;
    };
    assert_eq!(proof.encode(), data, "{proof:?} re-encodes differently");
    assert_eq!(proof.is_membership(), *proof.terminal() == Terminal::Member);
    let Some(world) = world() else {
        return true;
    };
    let root: StateRoot = world.store.root();
    let forged = b"forged record".to_vec();
    for (key, truth) in probes(world) {
        let held = lookup(&world.store, &key).ok().flatten();
        for claim in [None, truth.clone(), Some(forged.clone())] {
            if verify(&root, &key, claim.as_deref(), &proof).is_ok() {
                assert_eq!(
                    claim.as_deref().map(value_hash),
                    held,
                    "a proof verifies a false claim for key {key}"
                );
            }
        }
    }
    for (n, r) in &world.state.names {
        let bytes = r.encode();
        if let Ok(found) = verify_name(&root, n, Some(&bytes), &proof) {
            assert_eq!(found.as_ref(), Some(r));
        }
        assert!(
            verify_name(&root, n, None, &proof).is_err(),
            "a proof shows {n} absent"
        );
    }
    true
}

/// Seeds of [`name_proof`]: the membership proof of every record of the world, and
/// proofs of absence of both kinds (the walk ends in an empty subtree, or at another
/// key's leaf).
pub fn name_proof_seeds() -> Vec<Vec<u8>> {
    let Some(world) = world() else {
        return Vec::new();
    };
    let proofs: Vec<Proof> = probes(world)
        .iter()
        .filter_map(|(key, _)| prove(&world.store, key).ok())
        .collect();
    let mut out: Vec<Vec<u8>> = proofs
        .iter()
        .filter(|p| p.is_membership())
        .map(Proof::encode)
        .collect();
    for empty in [true, false] {
        let absence = proofs.iter().find(|p| {
            matches!(
                (empty, p.terminal()),
                (true, Terminal::Empty) | (false, Terminal::Neighbour { .. })
            )
        });
        out.extend(absence.map(Proof::encode));
    }
    out
}

/// Stored tree nodes (65 bytes) and node paths (34 bytes): canonical; a path is at most
/// 256 deep, is the path of its own prefix as a key, and its children are one deeper
/// on it.
pub fn smt_node(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(node) = Node::decode(data) {
        assert_eq!(
            node.encode().as_slice(),
            data,
            "{node:?} re-encodes differently"
        );
        let _ = node.hash();
        accepted = true;
    }
    if let Ok(path) = NodePath::from_bytes(data) {
        assert_eq!(
            path.to_bytes().as_slice(),
            data,
            "{path:?} re-encodes differently"
        );
        let as_key = prefix_key(&path);
        assert!(path.depth() <= naming::KEY_BITS);
        assert!(path.is_prefix_of(&as_key));
        assert_eq!(NodePath::of_key(&as_key, path.depth()), Some(path));
        for right in [false, true] {
            if let Some(child) = path.child(right) {
                assert_eq!(child.depth(), path.depth() + 1);
                let below = prefix_key(&child);
                assert_eq!(NodePath::of_key(&below, path.depth()), Some(path));
                assert_eq!(below.bit(path.depth()), right);
                assert_eq!(
                    NodePath::from_bytes(&child.to_bytes()).ok(),
                    Some(child),
                    "a child path does not read back"
                );
            }
        }
        let _ = format!("{path:?} {path}");
        accepted = true;
    }
    accepted
}

/// The key whose first bits are `path`'s prefix, the others zero.
fn prefix_key(path: &NodePath) -> StateKey {
    let mut prefix = [0u8; 32];
    for (p, b) in prefix.iter_mut().zip(path.to_bytes().iter().skip(2)) {
        *p = *b;
    }
    StateKey(prefix)
}

/// Seeds of [`smt_node`]: every node of the world's tree and its path.
pub fn smt_node_seeds() -> Vec<Vec<u8>> {
    let Some(world) = world() else {
        return Vec::new();
    };
    let leaves: Vec<LeafChange> = creations(&world.state)
        .iter()
        .map(Change::leaf_change)
        .collect();
    let Ok(update) = naming::update(&MemoryStore::new(), &leaves) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, node) in &update.writes {
        out.push(path.to_bytes().to_vec());
        if let Some(node) = node {
            out.push(node.encode().to_vec());
        }
    }
    out
}

/// Names, labels and namespace ids as text or bytes: what parses is written back as the
/// input, parses the same from bytes as from text, and goes through a payload (the
/// binary encoding of names) unchanged.
pub fn name_text(data: &[u8]) -> bool {
    let mut accepted = false;
    let text = std::str::from_utf8(data).ok();
    let carried = |op: Operation| {
        let signed = SignedOperation {
            op,
            signer: signer(2),
            signature: [0x11; 64],
        };
        let again = SignedOperation::decode(&signed.encode());
        assert_eq!(again.as_ref().ok(), Some(&signed), "a payload drops a name");
    };
    if let Ok(id) = NamespaceId::from_bytes(data) {
        assert_eq!(id.as_str().as_bytes(), data);
        assert_eq!(
            text.map(str::parse::<NamespaceId>).and_then(Result::ok),
            Some(id.clone())
        );
        let _ = StateKey::namespace(&id);
        carried(Operation::NamespaceReady { namespace: id });
        accepted = true;
    }
    if let Ok(label) = naming::Label::from_bytes(data) {
        assert_eq!(label.to_string().as_bytes(), data);
        accepted = true;
    }
    if let Some(s) = text
        && let Ok(n) = s.parse::<Name>()
    {
        assert_eq!(n.to_string(), s);
        let (label, id) = s.split_once('.').unwrap_or_default();
        assert_eq!(label, n.label.as_str());
        assert_eq!(id, n.namespace.as_str());
        let _ = StateKey::name(&n);
        carried(Operation::NameRenew { name: n });
        accepted = true;
    }
    accepted
}

/// Seeds of [`name_text`]: names with every character class, at the longest, and a
/// namespace id alone.
pub fn name_text_seeds() -> Vec<Vec<u8>> {
    [
        "alice.id".to_string(),
        "a_b-9.x".to_string(),
        format!("{}.{}", "z".repeat(37), "0".repeat(19)),
        "id".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// The deeper checks run only on what the rules accept: every seed operation but
    /// the last one must be accepted, or they would check nothing.
    #[test]
    fn the_rules_accept_the_seed_operations() {
        let world = world().expect("the world builds");
        let seeds = signed_seeds();
        assert_eq!(seeds.len(), 12);
        for (i, op) in seeds.iter().enumerate() {
            let accepted = apply(&world.params, &world.state, &world.ctx, op);
            assert_eq!(
                accepted.is_ok(),
                i + 1 < seeds.len(),
                "seed {i}: {accepted:?}"
            );
        }
    }

    #[test]
    fn the_proof_seeds_hold_both_kinds_of_absence() {
        let proofs: Vec<Proof> = name_proof_seeds()
            .iter()
            .map(|b| Proof::decode(b).expect("a seed decodes"))
            .collect();
        // Six records, then an empty subtree and a neighbour's leaf.
        assert_eq!(proofs.len(), 8);
        assert!(proofs.iter().any(|p| *p.terminal() == Terminal::Empty));
        assert!(
            proofs
                .iter()
                .any(|p| matches!(p.terminal(), Terminal::Neighbour { .. }))
        );
    }
}

//! Targets for witnessing: tlog-policy files, tlog-witness `add-checkpoint`
//! request bodies, and witnesses' cosignature answers.
//!
//! Properties: parsing never panics; a request body that parses is written back
//! byte for byte; a policy that parses is written in canonical form, which parses
//! to the same policy; a checkpoint is verified under any policy that parses, and an
//! answer is searched for a cosignature, without panicking, and what is accepted
//! holds what was asked.

use merkle_log::note::KeyName;
use merkle_log::tlog_witness::{AddCheckpoint, take_cosignature};
use merkle_log::{Checkpoint, Cosigner, Hash, NoteSigner, Policy};

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The published Go test key "Log", the log of every seed.
fn log_signer() -> Option<NoteSigner> {
    NoteSigner::from_private_key(
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    )
    .ok()
}

fn witness(i: u8) -> Option<Cosigner> {
    Some(Cosigner::from_seed(
        KeyName::new(&format!("witness.fuzz/w{i}")).ok()?,
        &[i; 32],
    ))
}

/// The checkpoint of the seeds, its text and its note signed by the log and
/// cosigned by witnesses 1 and 2.
fn cosigned() -> Option<(String, String)> {
    let text = Checkpoint::new("Log", 5, Hash::leaf(b"fuzz"))
        .ok()?
        .to_text();
    let mut note = log_signer()?.sign(&text).ok()?;
    for i in [1, 2] {
        note += &witness(i)?.signature_line(&text, 1_700_000_000).ok()?;
    }
    Some((text, note))
}

/// Policy files.
pub fn policy(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(p) = Policy::parse(s) else {
        return false;
    };
    let written = p.to_string();
    assert_eq!(Policy::parse(&written).ok().as_ref(), Some(&p), "{written}");
    if let Some((_, note)) = cosigned()
        && let Ok(w) = p.verify_checkpoint(&note, &[])
    {
        assert!(p.quorum_met(|i| {
            p.witnesses()
                .get(i)
                .is_some_and(|x| w.cosigned_by.iter().any(|(n, _)| *n == x.name))
        }));
    }
    true
}

/// Seeds of [`policy`]: the C2SP example's shape with real keys, and `quorum none`.
pub fn policy_seeds() -> Vec<Vec<u8>> {
    let (Some(log), Some(w1), Some(w2), Some(w3)) =
        (log_signer(), witness(1), witness(2), witness(3))
    else {
        return Vec::new();
    };
    vec![
        format!(
            "# a policy\nlog {} https://log.example\n\twitness w1 {} http://127.0.0.1:1\n\
             witness w2 {}\nwitness w3 {}\ngroup two 2 w1 w2\ngroup g any two w3\nquorum g\n",
            log.verifier(),
            w1.verifier(),
            w2.verifier(),
            w3.verifier()
        )
        .into_bytes(),
        b"quorum none\n".to_vec(),
    ]
}

/// `add-checkpoint` request bodies.
pub fn add_checkpoint(data: &[u8]) -> bool {
    let Ok(request) = AddCheckpoint::parse(data) else {
        return false;
    };
    assert_eq!(request.encode().as_bytes(), data);
    true
}

/// Seeds of [`add_checkpoint`]: from the empty tree, and with a proof.
pub fn add_checkpoint_seeds() -> Vec<Vec<u8>> {
    let Some((_, note)) = cosigned() else {
        return Vec::new();
    };
    [(0, vec![]), (3, vec![Hash::leaf(b"a"), Hash::leaf(b"b")])]
        .into_iter()
        .map(|(old_size, proof)| {
            AddCheckpoint {
                old_size,
                proof,
                checkpoint: note.clone(),
            }
            .encode()
            .into_bytes()
        })
        .collect()
}

/// A witness's 200 answer to the seeds' checkpoint: what is taken is one line of
/// the answer, by witness 1.
pub fn witness_answer(data: &[u8]) -> bool {
    let (Some(s), Some((text, _)), Some(w1)) = (self::text(data), cosigned(), witness(1)) else {
        return false;
    };
    let Ok(c) = take_cosignature(&text, s, w1.verifier()) else {
        return false;
    };
    assert!(s.split_inclusive('\n').any(|l| l == c.line));
    true
}

/// Seeds of [`witness_answer`]: witness 1's line alone and among others.
pub fn witness_answer_seeds() -> Vec<Vec<u8>> {
    let (Some((text, _)), Some(w1), Some(w2)) = (cosigned(), witness(1), witness(2)) else {
        return Vec::new();
    };
    let (Ok(a), Ok(b)) = (w1.signature_line(&text, 7), w2.signature_line(&text, 8)) else {
        return Vec::new();
    };
    vec![a.clone().into_bytes(), format!("{b}{a}").into_bytes()]
}

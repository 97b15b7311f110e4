//! tlog-policy: parsing and quorums against the truth tables of sigsum-go's
//! `pkg/policy/config_test.go` and the example of C2SP `tlog-policy.md`, and
//! checkpoints verified under a policy.

use merkle_log::note::KeyName;
use merkle_log::policy::{Member, Threshold};
use merkle_log::{
    Checkpoint, Cosigner, Hash, NoteError, NoteSigner, Policy, PolicyError, QuorumError,
};

/// The log: the published Go test key "Log".
fn log_signer() -> NoteSigner {
    NoteSigner::from_private_key(
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    )
    .unwrap()
}

fn witness(name: &str, seed: u8) -> Cosigner {
    Cosigner::from_seed(KeyName::new(name).unwrap(), &[seed; 32])
}

/// Witness keys W1.. with seeds 1..
fn wkey(i: u8) -> String {
    witness(&format!("w{i}.example"), i).verifier().to_string()
}

/// Which sets of witnesses (1-based, by definition order) meet the quorum.
fn check(policy: &Policy, table: &[(&[usize], bool)]) {
    for (set, want) in table {
        let got = policy.quorum_met(|i| set.contains(&(i + 1)));
        assert_eq!(got, *want, "witnesses {set:?}");
    }
}

#[test]
fn sigsum_valid_config_and_its_quorum_table() {
    // sigsum-go TestValidConfig, with vkeys for hex keys; W2 shares its key
    // material with a log (allowed), W6 comes after the quorum line (allowed).
    let log = log_signer().verifier().to_string();
    let shared = {
        let w = Cosigner::from_private_key(&log_signer().to_private_key()).unwrap();
        w.verifier().to_string()
    };
    let text = format!(
        "\n# example config\nlog {log} http://sigsum.example.org\n  # comment\n\n\
         witness W1 {} http://w1\nwitness W2 {shared}\nwitness W3 {} http://w3\n\
         witness W4 {} https://w4/\nwitness W5 {} https://w5\n\n\
         group G1 any W1 W2\ngroup G2 2 W3 W4 W5\ngroup G3 all G1 G2\n\nquorum G3\n\n\
         witness W6 {}\n",
        wkey(1),
        wkey(3),
        wkey(4),
        wkey(5),
        wkey(6)
    );
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(
        p.logs()[0].url.as_deref(),
        Some("http://sigsum.example.org")
    );
    assert_eq!(p.witnesses().len(), 6);
    let urls: Vec<Option<&str>> = p.witnesses().iter().map(|w| w.url.as_deref()).collect();
    assert_eq!(
        urls,
        [
            Some("http://w1"),
            None,
            Some("http://w3"),
            Some("https://w4/"),
            Some("https://w5"),
            None
        ]
    );
    assert_eq!(p.quorum_name(), "G3");
    check(
        &p,
        &[
            (&[], false),
            (&[1], false),
            (&[2], false),
            (&[3], false),
            (&[3, 4, 5], false),
            (&[1, 2], false),
            (&[1, 3], false),
            (&[1, 3, 4], true),
            (&[2, 3, 5], true),
        ],
    );
    // The canonical rendering reads back to the same policy.
    assert_eq!(Policy::parse(&p.to_string()).unwrap(), p);
}

#[test]
fn sigsum_numeric_threshold_table() {
    let mut text = format!("log {}\n", log_signer().verifier());
    for (i, name) in ["A1", "A2", "A3", "B1", "B2", "B3"].iter().enumerate() {
        text += &format!("witness {name} {}\n", wkey(i as u8 + 1));
    }
    text += "group A-group 1 A1 A2 A3\ngroup B-group 2 B1 B2 B3\ngroup G any A-group B-group\nquorum G\n";
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.groups()[0].threshold, Threshold::AtLeast(1));
    // A1..A3 are witnesses 1..3, B1..B3 are 4..6.
    check(
        &p,
        &[
            (&[], false),
            (&[1], true),
            (&[2], true),
            (&[3], true),
            (&[1, 3], true),
            (&[1, 3, 4], true),
            (&[4], false),
            (&[5], false),
            (&[6], false),
            (&[4, 5], true),
            (&[4, 6], true),
            (&[5, 6], true),
            (&[4, 5, 6], true),
            (&[2, 4, 5, 6], true),
        ],
    );
}

#[test]
fn spec_example_two_levels_of_groups() {
    // C2SP tlog-policy.md: two of the X witnesses and one of the Y witnesses.
    let mut text = format!("log {}\n\n", log_signer().verifier());
    for i in 1..=3 {
        text += &format!("witness X{i} {}\n", wkey(i));
    }
    text += "group X-witnesses 2 X1 X2 X3\n\n";
    for i in 1..=3 {
        text += &format!("witness Y{i} {}\n", wkey(i + 3));
    }
    text += "group Y-witnesses any Y1 Y2 Y3\n\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n";
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.quorum(), Member::Group(2));
    check(
        &p,
        &[
            (&[1, 2], false),
            (&[4, 5, 6], false),
            (&[1, 4], false),
            (&[1, 2, 4], true),
            (&[2, 3, 6], true),
            (&[1, 2, 3, 4, 5, 6], true),
        ],
    );
    let none = Policy::parse("quorum none\n").unwrap();
    assert!(none.quorum_met(|_| false));
    assert_eq!(none.quorum(), Member::None);
}

#[test]
fn invalid_policies_are_refused_with_the_line() {
    let (w1, w2, w3) = (wkey(1), wkey(2), wkey(3));
    let log = log_signer().verifier().to_string();
    // sigsum-go TestInvalidConfig, then the rules of the C2SP text.
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no quorum"),
        ("# \u{c}\nquorum none\n".into(), "control character U+000C"),
        ("# \u{7f}\nquorum none\n".into(), "control character U+007F"),
        ("quorum none\r\n".into(), "control character U+000D"),
        (
            format!("log {log}\n  log {log}\nquorum none\n"),
            "duplicate log key",
        ),
        (
            format!("log {log} http://example.org #comment\nquorum none\n"),
            "line 1: expected",
        ),
        (
            format!("witness W1 {w1}\nwitness W2 {w1}\nquorum none\n"),
            "duplicate witness key",
        ),
        (
            format!("witness W1 {w1}\nwitness W1 {w2}\nquorum none\n"),
            "duplicate name \"W1\"",
        ),
        (
            format!("witness none {w1}\nquorum none\n"),
            "duplicate name \"none\"",
        ),
        (
            format!("witness W1 {w1}\nwitness W2 {w2}\ngroup G all W1 W3 W2\n"),
            "undefined name \"W3\"",
        ),
        (
            format!("witness W1 {w1}\nwitness W2 {w2}\ngroup G all W1 W2\n"),
            "no quorum",
        ),
        (
            format!("witness W1 {w1}\nwitness W2 {w2}\ngroup G all W1 W2 W1\nquorum G\n"),
            "already a member",
        ),
        (
            format!(
                "witness W1 {w1}\nwitness W2 {w2}\nwitness W3 {w3}\ngroup G1 all W1 W2\ngroup G2 all W3 W2\nquorum G2\n"
            ),
            "line 5: \"W2\" is already a member",
        ),
        (
            format!("witness W1 {w1}\nquorum W1\nquorum W1\n"),
            "line 3: a second quorum",
        ),
        (
            format!("witness W1 {w1}\ngroup G 0 W1\nquorum G\n"),
            "threshold \"0\"",
        ),
        (
            format!("witness W1 {w1}\ngroup G 2 W1\nquorum G\n"),
            "threshold \"2\"",
        ),
        (
            format!("witness W1 {w1}\ngroup G 01 W1\nquorum G\n"),
            "threshold \"01\"",
        ),
        (
            format!("witness W1 {w1}\ngroup G any none\nquorum G\n"),
            "none cannot be a group member",
        ),
        (
            format!("witness W1 {w1}\ngroup G any\nquorum G\n"),
            "line 2: expected",
        ),
        ("quorum W9\n".into(), "undefined name \"W9\""),
        (format!("witness W1 {log}\nquorum W1\n"), "type 0x04"),
        (format!("log {w1}\nquorum none\n"), "type 0x01 or 0x05"),
        ("log not-a-key\nquorum none\n".into(), "line 1: log key"),
        ("frobnicate\nquorum none\n".into(), "line 1: expected"),
        (
            format!("# {}\nquorum none\n", "x".repeat(64 * 1024)),
            "longer than",
        ),
    ];
    for (text, want) in cases {
        let err = Policy::parse(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
    let too_many: String = (0..65u8)
        .map(|i| format!("witness W{i} {}\n", wkey(i.wrapping_add(10))))
        .collect::<String>()
        + "quorum none\n";
    assert!(matches!(
        Policy::parse(&too_many),
        Err(PolicyError::Line { line: 65, .. })
    ));
}

/// A checkpoint of the log, signed, and cosigned by the given witnesses.
fn cosigned(cosigners: &[&Cosigner]) -> (String, String) {
    let cp = Checkpoint::new("Log", 5, Hash::leaf(b"root")).unwrap();
    let text = cp.to_text();
    let mut note = log_signer().sign(&text).unwrap();
    for c in cosigners {
        note += &c.signature_line(&text, 1_700_000_000).unwrap();
    }
    (note, text)
}

#[test]
fn checkpoints_verify_only_with_the_quorum_of_valid_cosignatures() {
    let (a, b, c, stranger) = (
        witness("a", 1),
        witness("b", 2),
        witness("c", 3),
        witness("d", 4),
    );
    let policy = Policy::parse(&format!(
        "log {}\nwitness A {}\nwitness B {}\nwitness C {}\ngroup two 2 A B C\nquorum two\n",
        log_signer().verifier(),
        a.verifier(),
        b.verifier(),
        c.verifier()
    ))
    .unwrap();

    let (note, _) = cosigned(&[&a, &stranger, &c]);
    let ok = policy.verify_checkpoint(&note, &[]).unwrap();
    assert_eq!(ok.checkpoint.size(), 5);
    assert_eq!(ok.log_key, *log_signer().verifier());
    assert_eq!(
        ok.cosigned_by,
        vec![
            ("A".to_owned(), 1_700_000_000),
            ("C".to_owned(), 1_700_000_000)
        ]
    );
    assert_eq!(ok.ignored, 1);

    // Too few: one cosignature, or one plus a witness the policy does not know.
    for set in [vec![&b], vec![&b, &stranger], vec![]] {
        let (note, _) = cosigned(&set);
        assert!(matches!(
            policy.verify_checkpoint(&note, &[]),
            Err(QuorumError::TooFewCosignatures { .. })
        ));
    }
    let (note, _) = cosigned(&[&b]);
    assert_eq!(
        policy
            .verify_checkpoint(&note, &[])
            .unwrap_err()
            .to_string(),
        "quorum \"two\" not met: cosigned by B"
    );

    // A bad cosignature by a listed witness rejects the note, even with a quorum.
    let (note, text) = cosigned(&[&a, &b, &c]);
    let bad_c = c
        .signature_line(&text.replace('5', "6"), 1_700_000_000)
        .unwrap();
    let good_c = c.signature_line(&text, 1_700_000_000).unwrap();
    let tampered = note.replace(&good_c, &bad_c);
    assert_ne!(tampered, note);
    assert!(matches!(
        policy.verify_checkpoint(&tampered, &[]),
        Err(QuorumError::Note(NoteError::BadSignature { .. }))
    ));

    // Cosigned, but not signed by a listed log.
    let other_log = NoteSigner::from_seed(KeyName::new("Log").unwrap(), &[7; 32]);
    let cp_text = Checkpoint::new("Log", 5, Hash::leaf(b"root"))
        .unwrap()
        .to_text();
    let mut forged = other_log.sign(&cp_text).unwrap();
    for w in [&a, &b] {
        forged += &w.signature_line(&cp_text, 1).unwrap();
    }
    assert!(policy.verify_checkpoint(&forged, &[]).is_err());
    // ... unless the caller adds that key.
    assert!(
        policy
            .verify_checkpoint(&forged, std::slice::from_ref(other_log.verifier()))
            .is_ok()
    );
}

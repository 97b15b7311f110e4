//! C2SP tlog-policy: which logs and witnesses a party trusts, and the quorum of
//! cosignatures that makes a checkpoint valid.
//!
//! ```text
//! log example.org/log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs https://log.example.org
//! witness w1 witness.example/w1+b0d98d90+BBpc... http://127.0.0.1:7380
//! witness w2 witness.example/w2+... http://127.0.0.1:7381
//! witness w3 witness.example/w3+...
//! group two-of-three 2 w1 w2 w3
//! quorum two-of-three
//! ```
//!
//! Lines are `log <vkey> [<url>]`, `witness <name> <vkey> [<url>]`,
//! `group <name> all|any|<k> <member>...` and exactly one `quorum <name>` (or
//! `quorum none`); blank lines and lines starting with `#` are ignored; items are
//! separated by spaces and tabs. A group or the quorum names only what earlier lines
//! defined, a name is a member of at most one group, and no key is listed twice.
//! [`Policy::verify_checkpoint`] accepts a checkpoint signed by a listed log whose
//! cosignatures by listed witnesses meet the quorum.

use std::fmt;

use crate::checkpoint::{Checkpoint, parse_decimal};
use crate::error::{PolicyError, QuorumError};
use crate::note::{Note, VerifierKey, VerifierKind};

/// The longest policy file read.
pub const MAX_POLICY_LEN: usize = 64 * 1024;
/// Most `log` lines.
pub const MAX_POLICY_LOGS: usize = 64;
/// Most `witness` lines.
pub const MAX_POLICY_WITNESSES: usize = 64;
/// Most `group` lines.
pub const MAX_POLICY_GROUPS: usize = 64;
/// The predefined name of the empty quorum.
pub const NONE: &str = "none";

/// A log the policy accepts checkpoints of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// Its key (type 0x01 or 0x05); the key name is the log's origin.
    pub key: VerifierKey,
    /// Where to reach it, if given.
    pub url: Option<String>,
}

/// A witness of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name in the policy (not its key name).
    pub name: String,
    /// Its cosigning key (type 0x04).
    pub key: VerifierKey,
    /// Its tlog-witness submission prefix, if given.
    pub url: Option<String>,
}

/// A group's threshold, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Every member.
    All,
    /// One member.
    Any,
    /// At least this many members (1 <= k <= members).
    AtLeast(usize),
}

/// What a group or the quorum refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// The witness at this index of [`Policy::witnesses`].
    Witness(usize),
    /// The group at this index of [`Policy::groups`].
    Group(usize),
    /// `none`: no cosignature needed (only as the quorum).
    None,
}

/// A group of witnesses and groups with a threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// How many members must have witnessed.
    pub threshold: Threshold,
    // INVARIANT: non-empty; each refers to a witness or an earlier group, never None.
    members: Vec<Member>,
}

impl Group {
    /// Its members.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    fn needed(&self) -> usize {
        match self.threshold {
            Threshold::All => self.members.len(),
            Threshold::Any => 1,
            Threshold::AtLeast(k) => k,
        }
    }
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Member,
}

/// A checkpoint that satisfies a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The log key that signed it.
    pub log_key: VerifierKey,
    /// The policy's witnesses whose cosignature verified, in policy order, with
    /// the time each carries.
    pub cosigned_by: Vec<(String, u64)>,
    /// Signature lines by keys the policy does not list (ignored).
    pub ignored: usize,
}

fn bad(line: usize, why: impl Into<String>) -> PolicyError {
    PolicyError::Line {
        line,
        why: why.into(),
    }
}

/// The bytes that identify a public key, whatever its name and key ID.
fn key_material(key: &VerifierKey) -> Vec<u8> {
    match key.kind() {
        VerifierKind::Ed25519(k) | VerifierKind::Cosignature(k) => k.as_bytes().to_vec(),
        VerifierKind::Rfc6962(k) => k.log_id().to_vec(),
    }
}

impl Policy {
    /// Reads a policy file's text.
    ///
    /// # Errors
    /// [`PolicyError`] naming the first bad line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_LEN {
            return Err(PolicyError::TooLong {
                limit: MAX_POLICY_LEN,
            });
        }
        if let Some(c) = text
            .chars()
            .find(|&c| (c < ' ' && c != '\t' && c != '\n') || c == '\u{7f}')
        {
            return Err(PolicyError::ControlCharacter(u32::from(c)));
        }
        let mut p = Builder::default();
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            match words.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["log", key, url @ ..] if url.len() <= 1 => p.log(n, key, url.first())?,
                ["witness", name, key, url @ ..] if url.len() <= 1 => {
                    p.witness(n, name, key, url.first())?;
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    p.group(n, name, threshold, members)?;
                }
                ["quorum", name] => p.quorum(n, name)?,
                _ => {
                    return Err(bad(
                        n,
                        "expected log <vkey> [<url>], witness <name> <vkey> [<url>], \
                         group <name> all|any|<k> <member>..., or quorum <name>",
                    ));
                }
            }
        }
        let quorum = p.quorum.ok_or(PolicyError::NoQuorum)?;
        Ok(Policy {
            logs: p.logs,
            witnesses: p.witnesses,
            groups: p.groups,
            quorum,
        })
    }

    /// The logs, in file order.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The witnesses, in file order.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The groups, in file order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// What the quorum line names.
    pub fn quorum(&self) -> Member {
        self.quorum
    }

    /// The name on the quorum line.
    pub fn quorum_name(&self) -> &str {
        self.name_of(self.quorum)
    }

    fn name_of(&self, m: Member) -> &str {
        match m {
            Member::Witness(i) => self.witnesses.get(i).map_or("", |w| &w.name),
            Member::Group(i) => self.groups.get(i).map_or("", |g| &g.name),
            Member::None => NONE,
        }
    }

    /// Whether the witnesses for which `cosigned` holds (by index into
    /// [`Policy::witnesses`]) meet the quorum.
    pub fn quorum_met(&self, cosigned: impl Fn(usize) -> bool) -> bool {
        // Groups only name earlier groups, so one pass in file order decides each.
        let mut met: Vec<bool> = Vec::with_capacity(self.groups.len());
        let is_met = |m: Member, met: &[bool]| match m {
            Member::Witness(i) => cosigned(i),
            Member::Group(g) => met.get(g).copied().unwrap_or(false),
            Member::None => true,
        };
        for g in &self.groups {
            let count = g.members.iter().filter(|&&m| is_met(m, &met)).count();
            met.push(count >= g.needed());
        }
        is_met(self.quorum, &met)
    }

    /// Verifies a signed checkpoint note: signed by one of the policy's logs or of
    /// `log_keys` whose key name is the checkpoint's origin, with valid
    /// cosignatures by enough of the policy's witnesses to meet the quorum. Under
    /// the signed-note rules a signature by a listed key that fails rejects the
    /// note, and lines by keys not listed are ignored.
    ///
    /// # Errors
    /// [`QuorumError`] saying which check failed.
    pub fn verify_checkpoint(
        &self,
        note: &str,
        log_keys: &[VerifierKey],
    ) -> Result<Witnessed, QuorumError> {
        let logs: Vec<VerifierKey> = log_keys
            .iter()
            .chain(self.logs.iter().map(|l| &l.key))
            .cloned()
            .collect();
        let mut keys = logs.clone();
        keys.extend(self.witnesses.iter().map(|w| w.key.clone()));
        let verified = Note::parse(note)?.verify(&keys)?;
        let checkpoint = Checkpoint::parse(&verified.text)?;
        let log_key = verified
            .verified
            .iter()
            .map(|v| &v.key)
            .find(|k| logs.contains(k) && k.name().as_str() == checkpoint.origin())
            .cloned()
            .ok_or_else(|| QuorumError::NotSignedByLog {
                origin: checkpoint.origin().to_owned(),
            })?;
        let time_of = |i: usize| {
            let key = &self.witnesses.get(i)?.key;
            verified
                .verified
                .iter()
                .find(|v| v.key == *key)
                .and_then(|v| v.cosigned_at)
        };
        let cosigned_by: Vec<(String, u64)> = self
            .witnesses
            .iter()
            .enumerate()
            .filter_map(|(i, w)| Some((w.name.clone(), time_of(i)?)))
            .collect();
        if !self.quorum_met(|i| time_of(i).is_some()) {
            return Err(QuorumError::TooFewCosignatures {
                quorum: self.quorum_name().to_owned(),
                cosigned_by: cosigned_by.into_iter().map(|(n, _)| n).collect(),
            });
        }
        Ok(Witnessed {
            checkpoint,
            log_key,
            cosigned_by,
            ignored: verified.unverified,
        })
    }
}

impl fmt::Display for Policy {
    /// The policy in canonical form: logs, witnesses, groups, quorum.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
        for l in &self.logs {
            writeln!(f, "log {}{}", l.key, url(&l.url))?;
        }
        for w in &self.witnesses {
            writeln!(f, "witness {} {}{}", w.name, w.key, url(&w.url))?;
        }
        for g in &self.groups {
            write!(f, "group {} ", g.name)?;
            match g.threshold {
                Threshold::All => f.write_str("all")?,
                Threshold::Any => f.write_str("any")?,
                Threshold::AtLeast(k) => write!(f, "{k}")?,
            }
            for &m in &g.members {
                write!(f, " {}", self.name_of(m))?;
            }
            f.write_str("\n")?;
        }
        writeln!(f, "quorum {}", self.name_of(self.quorum))
    }
}

/// A policy being read, line by line.
#[derive(Default)]
struct Builder {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    // Names defined so far, and whether each is already a group member.
    names: Vec<(String, Member, bool)>,
    quorum: Option<Member>,
}

impl Builder {
    fn lookup(&self, name: &str) -> Option<(usize, Member, bool)> {
        if name == NONE {
            return Some((usize::MAX, Member::None, false));
        }
        self.names
            .iter()
            .enumerate()
            .find(|(_, (n, _, _))| n == name)
            .map(|(i, &(_, m, used))| (i, m, used))
    }

    fn define(&mut self, line: usize, name: &str, member: Member) -> Result<(), PolicyError> {
        if self.lookup(name).is_some() {
            return Err(bad(line, format!("duplicate name {name:?}")));
        }
        self.names.push((name.to_owned(), member, false));
        Ok(())
    }

    fn log(&mut self, line: usize, key: &str, url: Option<&&str>) -> Result<(), PolicyError> {
        if self.logs.len() == MAX_POLICY_LOGS {
            return Err(bad(line, format!("more than {MAX_POLICY_LOGS} logs")));
        }
        let key: VerifierKey = key
            .parse()
            .map_err(|e| bad(line, format!("log key: {e}")))?;
        if matches!(key.kind(), VerifierKind::Cosignature(_)) {
            return Err(bad(line, "a log key must be of type 0x01 or 0x05"));
        }
        let material = key_material(&key);
        if self.logs.iter().any(|l| key_material(&l.key) == material) {
            return Err(bad(line, format!("duplicate log key {key}")));
        }
        self.logs.push(PolicyLog {
            key,
            url: url.map(|u| (*u).to_owned()),
        });
        Ok(())
    }

    fn witness(
        &mut self,
        line: usize,
        name: &str,
        key: &str,
        url: Option<&&str>,
    ) -> Result<(), PolicyError> {
        if self.witnesses.len() == MAX_POLICY_WITNESSES {
            return Err(bad(
                line,
                format!("more than {MAX_POLICY_WITNESSES} witnesses"),
            ));
        }
        let key: VerifierKey = key
            .parse()
            .map_err(|e| bad(line, format!("witness key: {e}")))?;
        if !matches!(key.kind(), VerifierKind::Cosignature(_)) {
            return Err(bad(
                line,
                "a witness key must be of type 0x04 (cosignature/v1)",
            ));
        }
        let material = key_material(&key);
        if self
            .witnesses
            .iter()
            .any(|w| key_material(&w.key) == material)
        {
            return Err(bad(line, format!("duplicate witness key {key}")));
        }
        self.define(line, name, Member::Witness(self.witnesses.len()))?;
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            key,
            url: url.map(|u| (*u).to_owned()),
        });
        Ok(())
    }

    fn group(
        &mut self,
        line: usize,
        name: &str,
        threshold: &str,
        members: &[&str],
    ) -> Result<(), PolicyError> {
        if self.groups.len() == MAX_POLICY_GROUPS {
            return Err(bad(line, format!("more than {MAX_POLICY_GROUPS} groups")));
        }
        let threshold = match threshold {
            "all" => Threshold::All,
            "any" => Threshold::Any,
            k => match parse_decimal(k).and_then(|k| usize::try_from(k).ok()) {
                Some(k) if (1..=members.len()).contains(&k) => Threshold::AtLeast(k),
                _ => {
                    return Err(bad(
                        line,
                        format!(
                            "threshold {k:?} is not all, any, or a number from 1 to {}",
                            members.len()
                        ),
                    ));
                }
            },
        };
        let mut resolved = Vec::with_capacity(members.len());
        for m in members {
            let (at, member, used) = self
                .lookup(m)
                .ok_or_else(|| bad(line, format!("undefined name {m:?}")))?;
            if member == Member::None {
                return Err(bad(line, "none cannot be a group member"));
            }
            if used || resolved.contains(&member) {
                return Err(bad(line, format!("{m:?} is already a member of a group")));
            }
            resolved.push(member);
            if let Some(entry) = self.names.get_mut(at) {
                entry.2 = true;
            }
        }
        self.define(line, name, Member::Group(self.groups.len()))?;
        self.groups.push(Group {
            name: name.to_owned(),
            threshold,
            members: resolved,
        });
        Ok(())
    }

    fn quorum(&mut self, line: usize, name: &str) -> Result<(), PolicyError> {
        if self.quorum.is_some() {
            return Err(bad(line, "a second quorum line"));
        }
        let (_, member, _) = self
            .lookup(name)
            .ok_or_else(|| bad(line, format!("undefined name {name:?}")))?;
        self.quorum = Some(member);
        Ok(())
    }
}

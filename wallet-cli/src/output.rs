//! The one printer: human text or JSON, and the exit code of each outcome.

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use zeroize::Zeroize as _;

/// How a command ended; each outcome has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: the check passed or the command did its work.
    Ok,
    /// Exit 1: a proof or signature does not verify.
    Invalid,
    /// Exit 2: the input was malformed; nothing was checked or changed.
    BadInput,
    /// Exit 3: a log contradicts what it showed before (shrank, forked, or serves
    /// data that does not match its signed root).
    Inconsistent,
    /// Exit 1: the operation could not be done (wrong passphrase, node unreachable,
    /// insufficient funds); nothing was changed.
    Failed,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Invalid => 1,
            Outcome::BadInput => 2,
            Outcome::Failed => 1,
            Outcome::Inconsistent => 3,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Invalid => "invalid",
            Outcome::BadInput => "bad_input",
            Outcome::Failed => "failed",
            Outcome::Inconsistent => "inconsistent",
        }
    }
}

/// What a command has to say: one line of text and the same facts as JSON fields.
#[derive(Debug, Clone)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// One line for people.
    pub line: String,
    /// Fields for scripts (merged into the JSON object).
    pub fields: Map<String, Value>,
}

impl Report {
    /// A successful result.
    pub fn ok(line: impl Into<String>, fields: Value) -> Self {
        Report {
            outcome: Outcome::Ok,
            line: line.into(),
            fields: into_map(fields),
        }
    }

    /// A check that did not pass, or input that could not be read.
    pub fn failed(outcome: Outcome, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut fields = Map::new();
        fields.insert("error".into(), Value::String(reason.clone()));
        Report {
            outcome,
            line: reason,
            fields,
        }
    }
}

impl Drop for Report {
    /// Wipes the text and every string field: a report may carry recovery words.
    fn drop(&mut self) {
        self.line.zeroize();
        for v in self.fields.values_mut() {
            wipe(v);
        }
    }
}

fn wipe(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(m) => m.values_mut().for_each(wipe),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `n` and the noun, singular for one ("1 tile", "2 tiles").
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A command that could not finish: the outcome and the one-line reason.
pub type Failure = (Outcome, String);

/// Exit 1: the operation could not be done.
pub fn failed(e: impl std::fmt::Display) -> Failure {
    (Outcome::Failed, e.to_string())
}

/// Exit 2: the input was malformed.
pub fn bad(msg: impl Into<String>) -> Failure {
    (Outcome::BadInput, msg.into())
}

/// Exit 1: a proof or signature does not verify.
pub fn invalid(msg: impl Into<String>) -> Failure {
    (Outcome::Invalid, msg.into())
}

impl Report {
    /// The report of a command's result, success or failure.
    pub fn from_result(result: Result<Report, Failure>) -> Report {
        result.unwrap_or_else(|(outcome, reason)| Report::failed(outcome, reason))
    }
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    }
}

/// Prints a report and returns its exit code. Text goes to standard output on
/// success and to standard error otherwise; JSON always goes to standard output.
/// A closed pipe (`wallet history | head -1`) ends the output quietly, as Unix
/// tools do: the command's work is done and its exit code stands.
pub fn print(report: &Report, as_json: bool) -> ExitCode {
    if as_json {
        let mut obj = Map::new();
        obj.insert("ok".into(), json!(report.outcome == Outcome::Ok));
        if report.outcome != Outcome::Ok {
            obj.insert("status".into(), json!(report.outcome.label()));
        }
        obj.extend(report.fields.clone());
        let mut obj = Value::Object(obj);
        let _ = writeln!(std::io::stdout().lock(), "{obj}");
        wipe(&mut obj);
    } else {
        let line = &report.line;
        // A failed write is not reported: a closed pipe means nobody reads it.
        let _ = match report.outcome {
            Outcome::Ok => writeln!(std::io::stdout().lock(), "{line}"),
            Outcome::Invalid => writeln!(std::io::stderr().lock(), "invalid: {line}"),
            Outcome::BadInput | Outcome::Failed => {
                writeln!(std::io::stderr().lock(), "error: {line}")
            }
            Outcome::Inconsistent => writeln!(std::io::stderr().lock(), "INCONSISTENT: {line}"),
        };
    }
    ExitCode::from(report.outcome.code())
}

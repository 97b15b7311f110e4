//! `wallet name resolve --verify`: a name lookup proven against proof-of-work headers
//! alone, by `chain_node::light`.

use naming::Name;
use serde_json::{Value, json};

use crate::name_lookup::NodeLink;
use crate::output::{Failure, invalid};

/// Most headers `resolve --verify` fetches: a chain claimed longer is refused before it
/// is downloaded (80 bytes each: 400 MB).
pub const MAX_VERIFY_HEADERS: u64 = 5_000_000;

/// Headers fetched per `getblockheaders` call (the node's bound).
const HEADERS_PER_CALL: u64 = 2_000;

/// A lookup proven against proof-of-work headers alone: the node's `getnameproof`
/// answer and every header from genesis to its block, checked by
/// [`chain_node::light::verify_name_answer`]. Nothing the node says is trusted but the
/// headers' work.
///
/// # Errors
/// `invalid: ...` (exit 1) when the answer or the headers do not verify; RPC failures.
pub fn verify_lookup(
    s: &NodeLink<'_>,
    name: &Name,
) -> Result<chain_node::light::VerifiedName, Failure> {
    use chain_node::light::{NameAnswer, NameAnswerText, verify_name_answer};
    let a = s.call("getnameproof", json!([name.to_string()]))?;
    let text_of = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let text = NameAnswerText {
        name: text_of("name"),
        height: a.get("height").and_then(Value::as_u64).unwrap_or(u64::MAX),
        block_hash: text_of("blockhash"),
        tx_count: a.get("txcount").and_then(Value::as_u64).unwrap_or(0),
        coinbase: text_of("coinbase"),
        coinbase_path: a
            .get("coinbasepath")
            .and_then(Value::as_array)
            .map(|p| {
                p.iter()
                    .map(|h| h.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        record: a.get("record").and_then(Value::as_str).map(str::to_owned),
        proof: text_of("proof"),
    };
    let answer = NameAnswer::from_text(&text).map_err(|e| invalid(e.to_string()))?;
    if answer.name != *name {
        return Err(invalid(format!(
            "the node answered for {} when asked for {name}",
            answer.name
        )));
    }
    let wanted = u64::from(answer.height.0) + 1;
    if wanted > MAX_VERIFY_HEADERS {
        return Err(invalid(format!(
            "the answer is at height {}, past the {MAX_VERIFY_HEADERS} headers this wallet checks",
            answer.height.0
        )));
    }
    let mut headers = Vec::new();
    while (headers.len() as u64) < wanted {
        let start = headers.len() as u64;
        let count = (wanted - start).min(HEADERS_PER_CALL);
        let page = s.call("getblockheaders", json!([start, count]))?;
        let list = page
            .as_array()
            .or_else(|| page.get("headers").and_then(Value::as_array))
            .ok_or_else(|| invalid("getblockheaders answered no list of headers"))?;
        if list.is_empty() || list.len() as u64 > count {
            return Err(invalid(format!(
                "getblockheaders answered {} headers for {count} asked from height {start}",
                list.len()
            )));
        }
        for h in list {
            // Decoded in place: `hex::decode` grows a vector per header, about 2.5 x the time.
            let mut bytes = [0u8; chain_node::HEADER_SIZE];
            h.as_str()
                .and_then(|t| hex::decode_to_slice(t, &mut bytes).ok())
                .ok_or_else(|| invalid("a header that is not 80 bytes of hex"))?;
            let header = chain_node::encoding::decode_exact::<chain_node::Header>(&bytes)
                .map_err(|e| invalid(format!("a header that does not decode: {e}")))?;
            headers.push(header);
        }
    }
    verify_name_answer(&s.network().params(), &headers, &answer).map_err(|e| invalid(e.to_string()))
}

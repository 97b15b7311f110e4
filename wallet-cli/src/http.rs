//! A small blocking HTTP client with timeouts and response-size limits, for log
//! servers and the node's JSON-RPC.

use std::time::Duration;

/// What goes wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No connection, a timeout, TLS failure, or an unreadable response.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The response body was larger than allowed.
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL asked.
        url: String,
        /// The limit.
        limit: u64,
    },
}

/// A response: status code and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// A client with one agent (connection reuse) and fixed timeouts.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Default for Client {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

fn classify(url: &str, limit: u64, e: ureq::Error) -> HttpError {
    match e {
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge {
            url: url.to_string(),
            limit,
        },
        other => HttpError::Unreachable {
            url: url.to_string(),
            reason: other.to_string(),
        },
    }
}

/// Reads a response's status and at most `limit` bytes of its body.
fn read(
    url: &str,
    limit: u64,
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Response, HttpError> {
    let mut resp = resp.map_err(|e| classify(url, limit, e))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| classify(url, limit, e))?;
    Ok(Response { status, body })
}

impl Client {
    /// A client whose every request ends within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// GETs `url`, reading at most `limit` bytes of body.
    ///
    /// # Errors
    /// [`HttpError`] when the server cannot be reached or answers too much.
    pub fn get(&self, url: &str, limit: u64) -> Result<Response, HttpError> {
        let resp = self.agent.get(url).call();
        read(url, limit, resp)
    }

    /// POSTs `body` as JSON with an optional `Authorization` header.
    ///
    /// # Errors
    /// [`HttpError`] when the server cannot be reached or answers too much.
    pub fn post_json(
        &self,
        url: &str,
        authorization: Option<&str>,
        body: &[u8],
        limit: u64,
    ) -> Result<Response, HttpError> {
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        if let Some(auth) = authorization {
            req = req.header("Authorization", auth);
        }
        read(url, limit, req.send(body))
    }
}

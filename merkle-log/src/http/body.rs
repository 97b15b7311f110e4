//! Request and response bodies that report to their connection, and the byte budget
//! that response bodies reserve before they are sent.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::conn::Conn;

/// The bytes of response bodies held by the server at once, across all connections.
#[derive(Debug)]
pub(crate) struct Budget {
    total: usize,
    bytes: Arc<Semaphore>,
}

/// Bytes reserved from the [`Budget`]; returned when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    permit: OwnedSemaphorePermit,
}

impl Reservation {
    /// The bytes reserved.
    pub(crate) fn bytes(&self) -> usize {
        self.permit.num_permits()
    }
}

impl Budget {
    pub(crate) fn new(total: usize) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Budget {
            total,
            bytes: Arc::new(Semaphore::new(total)),
        }
    }

    /// Bytes reserved now.
    pub(crate) fn held(&self) -> usize {
        self.total.saturating_sub(self.bytes.available_permits())
    }

    /// Reserves `n` bytes, waiting at most `wait` for other responses to return
    /// theirs. `None` when `n` can never fit or did not fit in time.
    pub(crate) async fn reserve(&self, n: usize, wait: Duration) -> Option<Reservation> {
        if n > self.total {
            return None;
        }
        let n = u32::try_from(n).ok()?;
        let acquire = Arc::clone(&self.bytes).acquire_many_owned(n);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Some(Reservation { permit }),
            // Timed out, or the semaphore closed (it never is).
            _ => None,
        }
    }
}

/// A request body that tells its connection when it has been received in full.
#[derive(Debug)]
pub(crate) struct RequestBody<B> {
    inner: B,
    conn: Arc<Conn>,
    request: u64,
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, conn: Arc<Conn>, request: u64) -> Self {
        RequestBody {
            inner,
            conn,
            request,
        }
    }
}

impl<B: Body + Unpin> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let done = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if done {
            self.conn.body_received(self.request);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body handed to the connection in chunks of at most `chunk` bytes,
/// each a copy, so that once the body is dropped none of its memory is pinned by
/// the connection's write buffer. It holds its budget [`Reservation`] until then,
/// and tells its connection that the response is done.
pub(crate) struct ResponseBody {
    inner: axum::body::Body,
    pending: Bytes,
    chunk: usize,
    conn: Arc<Conn>,
    request: u64,
    next_head: Duration,
    _reservation: Vec<Arc<Reservation>>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("pending", &self.pending.len())
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub(crate) fn new(
        inner: axum::body::Body,
        chunk: usize,
        conn: Arc<Conn>,
        request: u64,
        next_head: Duration,
        reservation: Vec<Arc<Reservation>>,
    ) -> Self {
        ResponseBody {
            inner,
            pending: Bytes::new(),
            chunk: chunk.max(1),
            conn,
            request,
            next_head,
            _reservation: reservation,
        }
    }

    /// The next chunk of `pending`: the whole of it when small, else a copy of its
    /// front.
    fn take_chunk(&mut self) -> Bytes {
        if self.pending.len() <= self.chunk {
            return std::mem::take(&mut self.pending);
        }
        let front = self.pending.split_to(self.chunk);
        Bytes::copy_from_slice(&front)
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if !self.pending.is_empty() {
            let chunk = self.take_chunk();
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    self.pending = data;
                    let chunk = self.take_chunk();
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Err(other) => Poll::Ready(Some(Ok(other))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let pending = self.pending.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(pending));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(pending));
        }
        hint
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.conn
            .sent(self.request, Instant::now() + self.next_head);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_budget_refuses_what_cannot_fit_and_returns_bytes_on_drop() {
        let budget = Budget::new(1000);
        let wait = Duration::from_millis(20);
        assert!(budget.reserve(1001, wait).await.is_none());
        let a = budget.reserve(600, wait).await;
        assert!(a.is_some());
        assert_eq!(budget.held(), 600);
        assert!(budget.reserve(600, wait).await.is_none());
        drop(a);
        assert_eq!(budget.held(), 0);
        assert!(budget.reserve(1000, wait).await.is_some());
    }

    #[tokio::test]
    async fn a_large_body_is_sent_in_copied_chunks_with_its_length_announced() {
        use http_body::Body as _;
        let table = super::super::conn::ConnTable::new(1);
        let (conn, _) = table.admit(Instant::now() + Duration::from_secs(60));
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut body = ResponseBody::new(
            axum::body::Body::from(data.clone()),
            4096,
            conn,
            0,
            Duration::from_secs(1),
            Vec::new(),
        );
        assert_eq!(body.size_hint().exact(), Some(10_000));
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let bytes = frame.unwrap().into_data().unwrap();
            sizes.push(bytes.len());
            got.extend_from_slice(&bytes);
        }
        assert_eq!(got, data);
        assert_eq!(sizes, vec![4096, 4096, 1808]);
        assert!(body.is_end_stream());
    }
}

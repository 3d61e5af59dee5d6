//! Reading a response body whole, within a limit: a server (or a proxy, or a wrong base
//! URL) that sends an endless or oversized body must not make the client buffer it.

use bytes::{Bytes, BytesMut};

/// The default of [`ClientBuilder::max_response_bytes`](super::ClientBuilder::max_response_bytes):
/// 64 MiB, far above any JSON answer Feishu documents.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a body could not be read.
pub(crate) enum ReadError {
    /// The body is longer than the limit; reading stopped at the limit.
    TooLarge,
    Transport(reqwest::Error),
}

/// The whole body of `response`, or [`ReadError::TooLarge`] as soon as it is known to be
/// longer than `limit` bytes: from its `Content-Length`, or once that much has arrived.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, ReadError> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    // A declared length is only a hint for the first allocation, never trusted further.
    let hint = declared.map_or(0, |length| length as usize).min(1 << 20);
    let mut body = BytesMut::with_capacity(hint);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

//! Reading a response body whole, within a limit: a server (or a proxy, or a wrong base
//! URL) that sends an endless or oversized body must not make the client buffer it.

use bytes::{Bytes, BytesMut};

use crate::transfer::idle::Progress;

/// The default of [`ClientBuilder::max_response_bytes`](crate::client::ClientBuilder::max_response_bytes):
/// 64 MiB, far above any JSON answer Feishu documents.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a body could not be read.
pub(crate) enum ReadError {
    /// The body is longer than the limit; reading stopped at the limit.
    TooLarge,
    Transport(reqwest::Error),
}

/// How much of a download's JSON body is read to tell Feishu's error answer (a few
/// hundred bytes) from a JSON file.
const ERROR_PEEK: usize = 64 * 1024;

/// A response as read so far.
pub(crate) enum Received {
    /// The whole body.
    Whole(Bytes),
    /// A file: the bytes read to tell it from an error, and the rest of it unread.
    File {
        prefix: Bytes,
        rest: Option<reqwest::Response>,
    },
}

/// A download's answer: an error (any status but 2xx, or Feishu's JSON error answer) is
/// read whole within `limit`, for the error it carries; a file is left unread but for the
/// few bytes that show it is not an error. A body the server calls an attachment
/// (`Content-Disposition: attachment`) is a file whatever it holds.
///
/// Each chunk read counts as `progress`, for the transfer's idle timeout.
pub(crate) async fn read_file(
    mut response: reqwest::Response,
    limit: usize,
    progress: &Progress,
) -> Result<Received, ReadError> {
    progress.moved();
    if !response.status().is_success() {
        return read_limited(response, limit, Some(progress))
            .await
            .map(Received::Whole);
    }
    let headers = response.headers();
    let attachment = headers
        .get(reqwest::header::CONTENT_DISPOSITION)
        // Bytes, not text: a raw UTF-8 file name makes the value no `str`.
        .and_then(|value| value.as_bytes().split(|&b| b == b';').next())
        .is_some_and(|kind| kind.trim_ascii().eq_ignore_ascii_case(b"attachment"));
    let json = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        });
    if attachment || !json {
        return Ok(Received::File {
            prefix: Bytes::new(),
            rest: Some(response),
        });
    }
    let mut prefix = BytesMut::new();
    while prefix.len() <= ERROR_PEEK {
        match response.chunk().await.map_err(ReadError::Transport)? {
            Some(chunk) => {
                progress.moved();
                prefix.extend_from_slice(&chunk)
            }
            None => {
                let whole = prefix.freeze();
                return Ok(match is_feishu_error(&whole) {
                    true => Received::Whole(whole),
                    false => Received::File {
                        prefix: whole,
                        rest: None,
                    },
                });
            }
        }
    }
    Ok(Received::File {
        prefix: prefix.freeze(),
        rest: Some(response),
    })
}

/// The whole body of `response`, or [`ReadError::TooLarge`] as soon as it is known to be
/// longer than `limit` bytes: from its `Content-Length`, or once that much has arrived.
/// Each chunk counts as `progress`, if given.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    progress: Option<&Progress>,
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
        if let Some(progress) = progress {
            progress.moved();
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Whether a whole body is Feishu's error answer: a JSON object with a non-zero integer
/// `code` and a string `msg`, as every Feishu error has. A download's JSON body that is
/// not one is the file itself.
pub(crate) fn is_feishu_error(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        code: i64,
        #[allow(dead_code)] // Required: a `code` alone is too common in a JSON file.
        msg: String,
    }
    serde_json::from_slice::<Head>(body).is_ok_and(|head| head.code != 0)
}

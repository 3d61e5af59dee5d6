//! What a download returns: the file's metadata, and its body as a stream that is never
//! held whole in memory unless asked for.

use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::upload::file_error;
use super::{Error, Result};

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A file an endpoint answered with (`返回文件二进制流`).
///
/// The body is read as it is consumed: as a [`Stream`] of chunks, with
/// [`chunk`](Self::chunk), or all at once with [`bytes`](Self::bytes),
/// [`write_to`](Self::write_to) or [`save`](Self::save). The call's timeout ends when the
/// file starts to arrive; the client's [`timeout`](super::ClientBuilder::timeout) bounds
/// each wait for more of it.
pub struct Download {
    endpoint: &'static str,
    status: u16,
    headers: HeaderMap,
    log_id: Option<String>,
    /// Bytes already read (to tell a file from an error), given out first.
    prefix: Option<Bytes>,
    rest: Option<BodyStream>,
    /// The client's `max_response_bytes`, the most [`bytes`](Self::bytes) collects.
    limit: usize,
}

impl Download {
    pub(crate) fn new(
        endpoint: &'static str,
        status: u16,
        headers: HeaderMap,
        log_id: Option<String>,
        prefix: Bytes,
        rest: Option<reqwest::Response>,
        limit: usize,
    ) -> Self {
        Download {
            endpoint,
            status,
            headers,
            log_id,
            prefix: Some(prefix).filter(|bytes| !bytes.is_empty()),
            rest: rest.map(|response| Box::pin(response.bytes_stream()) as BodyStream),
            limit,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `Content-Type` header, e.g. `image/png`.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }

    /// The file's length in bytes, when the server declared it (`Content-Length`).
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// The file name from `Content-Disposition` (`filename*` preferred to `filename`),
    /// reduced to a bare name: any directories, control characters and the names `.` and
    /// `..` are dropped, so it is safe to join to a directory.
    pub fn file_name(&self) -> Option<String> {
        let value = self.headers.get(CONTENT_DISPOSITION)?;
        disposition_file_name(&String::from_utf8_lossy(value.as_bytes()))
    }

    /// The `X-Tt-Logid` header: quote it when asking Feishu for help.
    pub fn log_id(&self) -> Option<&str> {
        self.log_id.as_deref()
    }

    /// All the response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next chunk of the file; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }

    /// The whole file in memory, up to the client's
    /// [`max_response_bytes`](super::ClientBuilder::max_response_bytes): a longer file
    /// fails with [`Error::TooLarge`]; stream it or [`save`](Self::save) it instead.
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut body = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if body.len().saturating_add(chunk.len()) > self.limit {
                return Err(Error::TooLarge {
                    endpoint: self.endpoint,
                    status: self.status,
                    log_id: self.log_id.clone(),
                    limit: self.limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Writes the file into `writer` as it arrives and flushes it; returns the bytes
    /// written.
    pub async fn write_to<W: AsyncWrite + Unpin + ?Sized>(mut self, writer: &mut W) -> Result<u64> {
        let endpoint = self.endpoint;
        let failed = |source| Error::File {
            endpoint,
            path: None,
            source,
        };
        let mut written = 0u64;
        while let Some(chunk) = self.chunk().await? {
            writer.write_all(&chunk).await.map_err(failed)?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(failed)?;
        Ok(written)
    }

    /// Saves the file at `path` and returns its length. The file is written beside
    /// `path` under a temporary name and renamed into place once whole, so `path` never
    /// holds part of a file; on failure the temporary file is removed.
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let endpoint = self.endpoint;
        let mut partial = path.as_os_str().to_owned();
        partial.push(format!(".part-{}", std::process::id()));
        let partial = std::path::PathBuf::from(partial);
        let result = async {
            let mut file = tokio::fs::File::create(&partial)
                .await
                .map_err(|source| file_error(endpoint, &partial, source))?;
            let written = self
                .write_to(&mut file)
                .await
                .map_err(|error| match error {
                    Error::File { source, .. } => file_error(endpoint, &partial, source),
                    other => other,
                })?;
            tokio::fs::rename(&partial, path)
                .await
                .map_err(|source| file_error(endpoint, path, source))?;
            Ok(written)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result
    }
}

impl Stream for Download {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(prefix)));
        }
        let endpoint = self.endpoint;
        let Some(rest) = &mut self.rest else {
            return Poll::Ready(None);
        };
        rest.as_mut().poll_next(cx).map(|next| {
            next.map(|chunk| chunk.map_err(|source| Error::Transport { endpoint, source }))
        })
    }
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("content_type", &self.content_type())
            .field("content_length", &self.content_length())
            .field("file_name", &self.file_name())
            .field("log_id", &self.log_id)
            .finish_non_exhaustive()
    }
}

/// The file name a `Content-Disposition` value gives, made safe to use as a file name.
fn disposition_file_name(value: &str) -> Option<String> {
    let (mut plain, mut extended) = (None, None);
    for param in split_params(value).into_iter().skip(1) {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "filename*" => extended = decode_extended(value.trim()),
            "filename" => plain = Some(unquote(value.trim())),
            _ => {}
        }
    }
    extended.or(plain).and_then(|name| bare_name(&name))
}

/// The `;`-separated parts of a header value; a `;` inside quotes does not separate.
fn split_params(value: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (at, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// A token or a quoted string (RFC 9110), without its quotes and escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_owned();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => chars.next().unwrap_or('\\'),
            c => c,
        });
    }
    out
}

/// An RFC 8187 value, `charset'language'percent-encoded`, in UTF-8 or ISO-8859-1.
fn decode_extended(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let (charset, _language, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    match charset.to_ascii_lowercase().as_str() {
        "utf-8" => String::from_utf8(bytes).ok(),
        "iso-8859-1" => Some(bytes.into_iter().map(char::from).collect()),
        _ => None,
    }
}

/// The last path component of a name the server chose, without control characters;
/// `None` if nothing usable is left.
fn bare_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    match clean {
        "" | "." | ".." => None,
        name => Some(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_content_disposition() {
        let name = |value: &str| disposition_file_name(value);
        assert_eq!(
            name("attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            name("attachment; filename=plain.txt").as_deref(),
            Some("plain.txt")
        );
        assert_eq!(
            name("attachment; filename=\"a.txt\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt")
                .as_deref(),
            Some("报告.txt")
        );
        assert_eq!(
            name("attachment; filename*=iso-8859-1'en'caf%E9.txt").as_deref(),
            Some("café.txt")
        );
        assert_eq!(
            name("attachment; filename=\"semi;colon \\\"q\\\".txt\"").as_deref(),
            Some("semi;colon \"q\".txt")
        );
        assert_eq!(name("inline").as_deref(), None);
    }

    #[test]
    fn server_chosen_names_cannot_leave_a_directory() {
        let name = |value: &str| disposition_file_name(value);
        assert_eq!(
            name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        // Unquoted, as some servers send Windows paths (quoted, `\` escapes the next character).
        assert_eq!(
            name("attachment; filename=..\\..\\boot.ini").as_deref(),
            Some("boot.ini")
        );
        assert_eq!(name("attachment; filename=\"..\"").as_deref(), None);
        assert_eq!(
            name("attachment; filename*=UTF-8''a%0Ab%00.txt").as_deref(),
            Some("ab.txt")
        );
        assert_eq!(name("attachment; filename=\"dir/\"").as_deref(), None);
    }
}

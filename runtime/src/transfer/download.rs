//! What a download returns: the file's metadata, and its body as a stream that is never
//! held whole in memory unless asked for.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::transfer::idle::IdleTimer;
use crate::transfer::upload::file_error;

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A file an endpoint answered with (`返回文件二进制流`).
///
/// The body is read as it is consumed: as a [`Stream`] of chunks, with
/// [`chunk`](Self::chunk), or all at once with [`bytes`](Self::bytes),
/// [`write_to`](Self::write_to) or [`save`](Self::save). The call's timeout ends when the
/// file starts to arrive; after that, a wait for more of it that lasts the client's
/// [`timeout`](crate::client::ClientBuilder::timeout) fails with [`Error::Stalled`].
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
    /// The wait for the next chunk, bounded by the client's timeout.
    wait: IdleTimer,
}

/// A successful answer whose body is a file, as the call read it.
pub(crate) struct FileAnswer {
    /// The endpoint's id, for errors.
    pub(crate) endpoint: &'static str,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) log_id: Option<String>,
    /// The bytes read to tell the file from Feishu's error.
    pub(crate) prefix: bytes::Bytes,
    /// The rest of the body, not read yet.
    pub(crate) rest: Option<reqwest::Response>,
    /// The client's `max_response_bytes`.
    pub(crate) limit: usize,
    /// How long the transfer may stand still: the client's timeout.
    pub(crate) idle: Option<std::time::Duration>,
}

impl Download {
    /// The file a successful answer holds: the bytes read to tell it from an error first,
    /// then the rest of the body.
    pub(crate) fn new(answer: FileAnswer) -> Self {
        Download {
            endpoint: answer.endpoint,
            status: answer.status,
            headers: answer.headers,
            log_id: answer.log_id,
            prefix: Some(answer.prefix).filter(|bytes| !bytes.is_empty()),
            rest: answer
                .rest
                .map(|response| Box::pin(response.bytes_stream()) as BodyStream),
            limit: answer.limit,
            wait: IdleTimer::new(answer.idle),
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
    /// [`max_response_bytes`](crate::client::ClientBuilder::max_response_bytes): a longer file
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
    /// `path` under a new temporary name, synced to disk and renamed into place once
    /// whole, so `path` never holds part of a file. On failure, or when the future is
    /// dropped before it is done, the temporary file is removed.
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let endpoint = self.endpoint;
        // `file` is closed before `partial` is dropped (a file cannot be removed while
        // open on every system): bindings drop in reverse order.
        let (partial, mut file) = Partial::create(path)
            .await
            .map_err(|source| file_error(endpoint, path, source))?;
        let written = self
            .write_to(&mut file)
            .await
            .map_err(|error| match error {
                Error::File { source, .. } => file_error(endpoint, &partial.path, source),
                other => other,
            })?;
        file.sync_all()
            .await
            .map_err(|source| file_error(endpoint, &partial.path, source))?;
        drop(file);
        partial
            .rename_to(path)
            .await
            .map_err(|source| file_error(endpoint, path, source))?;
        Ok(written)
    }
}

/// A temporary file beside a download's destination, removed when dropped unless it was
/// renamed into place.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    /// Creates a temporary file beside `dest` under a name no one can have guessed: a
    /// name that exists already, even as a link, is never opened but replaced by another.
    async fn create(dest: &Path) -> io::Result<(Partial, tokio::fs::File)> {
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // A name near the system's limit leaves no room for the temporary name's
        // additions: the temporary file keeps at most 100 bytes of it.
        let stem = dest.file_name().unwrap_or_default().to_string_lossy();
        let cut = (0..=stem.len().min(100))
            .rev()
            .find(|&at| stem.is_char_boundary(at))
            .unwrap_or(0);
        let stem = &stem[..cut];
        let mut tries = 0;
        loop {
            let path = dir.join(format!(".{stem}.{:016x}.part", unguessable()));
            let opened = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await;
            match opened {
                Ok(file) => return Ok((Partial { path, kept: false }, file)),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
                Err(err) => return Err(err),
            }
        }
    }

    async fn rename_to(mut self, dest: &Path) -> io::Result<()> {
        tokio::fs::rename(&self.path, dest).await?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            // Synchronous, since a drop cannot wait; removing one file is quick.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A number no other process can predict: std's hasher keys are drawn from the operating
/// system's random source.
fn unguessable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

impl Stream for Download {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(prefix)));
        }
        let endpoint = self.endpoint;
        let this = &mut *self;
        let Some(rest) = &mut this.rest else {
            return Poll::Ready(None);
        };
        let next = rest.as_mut().poll_next(cx);
        match ready!(this.wait.poll(cx, next)) {
            Ok(next) => Poll::Ready(
                next.map(|chunk| chunk.map_err(|source| Error::Transport { endpoint, source })),
            ),
            Err(after) => {
                // The connection is dropped: nothing more is read from it.
                this.rest = None;
                Poll::Ready(Some(Err(Error::Stalled { endpoint, after })))
            }
        }
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
pub fn disposition_file_name(value: &str) -> Option<String> {
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

/// The last path component of a name the server chose, made a plain file name on every
/// system: no control characters; `_` for the characters Windows gives a meaning (a drive
/// `C:`, a stream `a:b`, wildcards); no trailing dots or spaces, which Windows drops; a
/// device name (`CON`, `nul.txt`, `COM1`) prefixed with `_`. `None` if nothing is left.
fn bare_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last
        .chars()
        // Control characters, and format characters (bidi overrides, zero-width ones),
        // with which "\u{202e}gnp.exe" shows as "exe.png".
        .filter(|c| !c.is_control() && c.general_category() != GeneralCategory::Format)
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let clean = clean.trim_start().trim_end_matches([' ', '.']);
    if clean.is_empty() {
        return None;
    }
    let stem = clean.split('.').next().unwrap_or(clean).trim_end();
    Some(match is_windows_device(stem) {
        true => format!("_{clean}"),
        false => clean.to_owned(),
    })
}

/// Whether Windows reserves `stem` for a device, in any case and with any extension.
fn is_windows_device(stem: &str) -> bool {
    let stem = stem.to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => ["COM", "LPT"].iter().any(|device| {
            stem.strip_prefix(device).is_some_and(|n| {
                matches!(
                    n,
                    "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
                )
            })
        }),
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
            // Unquoted, then made a Windows-safe name.
            Some("semi;colon _q_.txt")
        );
        assert_eq!(name("inline").as_deref(), None);
    }

    #[test]
    fn format_characters_cannot_disguise_a_name() {
        let name = |value: &str| disposition_file_name(value);
        // The right-to-left override would show "\u{202e}gnp.exe" as "exe.png".
        assert_eq!(
            name("attachment; filename*=UTF-8''%E2%80%AEgnp.exe").as_deref(),
            Some("gnp.exe")
        );
        assert_eq!(
            name("attachment; filename=\"a\u{200b}b\u{2066}c\u{feff}.txt\"").as_deref(),
            Some("abc.txt")
        );
        assert_eq!(
            name("attachment; filename=\"\u{200d}\u{200e}\"").as_deref(),
            None
        );
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

    #[test]
    fn server_chosen_names_mean_nothing_special_on_windows() {
        let name = |value: &str| disposition_file_name(value);
        assert_eq!(
            name("attachment; filename=\"C:x.txt\"").as_deref(),
            Some("C_x.txt")
        );
        assert_eq!(
            name("attachment; filename=\"a.txt:hidden\"").as_deref(),
            Some("a.txt_hidden")
        );
        assert_eq!(name("attachment; filename=CON").as_deref(), Some("_CON"));
        assert_eq!(
            name("attachment; filename=\"nul.tar.gz\"").as_deref(),
            Some("_nul.tar.gz")
        );
        assert_eq!(
            name("attachment; filename=com1.log").as_deref(),
            Some("_com1.log")
        );
        assert_eq!(name("attachment; filename=LPT0").as_deref(), Some("_LPT0"));
        assert_eq!(
            name("attachment; filename=console.log").as_deref(),
            Some("console.log")
        );
        assert_eq!(
            name("attachment; filename=\"a?*.txt. . \"").as_deref(),
            Some("a__.txt")
        );
        assert_eq!(name("attachment; filename=\" . \"").as_deref(), None);
    }
}

//! Files sent by `multipart/form-data` uploads: where a file's bytes come from, the checks
//! made before anything is sent, and the form each attempt streams.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use reqwest::multipart::{Form, Part};

use crate::error::{Error, FieldViolation, Result};
use crate::transfer::idle::Progress;

/// How much of a file on disk is read at a time: large enough that a big upload is not
/// thousands of small writes, small enough to stay out of the way of memory.
const READ_CHUNK: usize = 64 * 1024;

/// A stream of a file's bytes.
type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A file to upload: its bytes (in memory, in a file on disk, or from a stream), with the
/// file name and MIME type its form part carries.
///
/// A file on disk or a stream is read as it is sent, never whole into memory. Bytes and
/// paths can be read again, so a call that uploads them is retried like any other; a
/// stream is read once, so a failed upload from a stream is not retried
/// ([`Error::NotRetried`]).
pub struct UploadFile {
    source: Source,
    file_name: Option<String>,
    mime_type: Option<String>,
}

enum Source {
    Bytes(Bytes),
    Path(PathBuf),
    /// Taken out of the slot by the attempt that sends it; empty afterwards.
    Stream {
        slot: Arc<Mutex<Option<ByteStream>>>,
        length: u64,
    },
}

impl UploadFile {
    /// A file held in memory.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        UploadFile::from_source(Source::Bytes(bytes.into()))
    }

    /// The file at `path`, read as it is sent. Its file name is the path's last component
    /// unless [`file_name`](Self::file_name) gives another. A path that cannot be read
    /// fails the call before anything is sent ([`Error::File`]).
    pub fn path(path: impl Into<PathBuf>) -> Self {
        UploadFile::from_source(Source::Path(path.into()))
    }

    /// A file read from `stream`, which must yield exactly `length` bytes: a stream that
    /// ends short, or whose chunk runs past `length`, fails the call instead of sending a
    /// malformed form. The stream is not read past `length`, so one that never ends is
    /// sent up to its length.
    pub fn stream<S>(stream: S, length: u64) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Some(Box::pin(stream) as ByteStream)));
        UploadFile::from_source(Source::Stream { slot, length })
    }

    fn from_source(source: Source) -> Self {
        UploadFile {
            source,
            file_name: None,
            mime_type: None,
        }
    }

    /// The file name the form part carries (`filename=`).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// The MIME type of the form part, e.g. `image/png`. By default it is guessed from
    /// the file name's extension, else `application/octet-stream`.
    pub fn mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// Whether the file can be sent more than once (bytes and paths), so a failed upload
    /// of it can be retried.
    pub fn is_replayable(&self) -> bool {
        !matches!(self.source, Source::Stream { .. })
    }

    fn path_name(&self) -> Option<&str> {
        match &self.source {
            Source::Path(path) => path.file_name()?.to_str(),
            _ => None,
        }
    }
}

/// An empty file without a name: what an upload request holds until its file is set.
impl Default for UploadFile {
    fn default() -> Self {
        UploadFile::bytes(Bytes::new())
    }
}

impl fmt::Debug for UploadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("UploadFile");
        match &self.source {
            Source::Bytes(bytes) => out.field("bytes", &bytes.len()),
            Source::Path(path) => out.field("path", path),
            Source::Stream { length, .. } => out.field("stream", length),
        };
        out.field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .finish()
    }
}

/// A file part an endpoint documents: its wire name and the largest file it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilePart {
    /// The part's name in the form, e.g. `image`.
    pub name: &'static str,
    /// Whether the doc page requires the part.
    pub required: bool,
    /// The documented size limit in bytes, checked before sending.
    pub max_bytes: Option<u64>,
}

/// A file checked and ready to go into each attempt's form.
pub(crate) struct ReadyFile<'a> {
    part: &'static str,
    file: &'a UploadFile,
    length: u64,
    file_name: String,
    mime_type: String,
}

/// The text fields and files of an upload, checked before the first attempt.
pub(crate) struct Upload<'a> {
    fields: Vec<(String, String)>,
    files: Vec<ReadyFile<'a>>,
}

impl<'a> Upload<'a> {
    /// Checks every file against the endpoint's documented parts: readable, within its
    /// size limit, with a valid MIME type. Nothing is sent yet.
    pub(crate) async fn check(
        endpoint: &'static str,
        parts: &'static [FilePart],
        fields: Vec<(String, String)>,
        files: Vec<(&'static str, &'a UploadFile)>,
    ) -> Result<Upload<'a>> {
        let mut ready = Vec::with_capacity(files.len());
        let mut violations = Vec::new();
        for (part, file) in files {
            let length = length(endpoint, file).await?;
            let limit = parts.iter().find(|p| p.name == part);
            if let Some(max) = limit.and_then(|p| p.max_bytes)
                && length > max
            {
                let message =
                    format!("the file is {length} bytes; the endpoint takes at most {max}");
                violations.push(FieldViolation::new(part, message));
            }
            let file_name = file
                .file_name
                .as_deref()
                .or_else(|| file.path_name())
                .map_or_else(|| part.to_owned(), header_safe);
            let mime_type = match &file.mime_type {
                Some(mime) if mime.parse::<mime_guess::Mime>().is_err() => {
                    violations.push(FieldViolation::new(
                        part,
                        format!("{mime:?} is not a MIME type"),
                    ));
                    continue;
                }
                Some(mime) => mime.clone(),
                None => mime_guess::from_path(&file_name)
                    .first_or_octet_stream()
                    .to_string(),
            };
            ready.push(ReadyFile {
                part,
                file,
                length,
                file_name,
                mime_type,
            });
        }
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(Error::InvalidRequest {
                endpoint,
                message: format!("the upload breaks documented rules: {}", list.join("; ")),
                violations,
            });
        }
        Ok(Upload {
            fields,
            files: ready,
        })
    }

    /// Whether every file can be sent again: false once a stream has been taken.
    pub(crate) fn replayable(&self) -> bool {
        self.files.iter().all(|ready| match &ready.file.source {
            Source::Stream { slot, .. } => lock(slot).is_some(),
            _ => true,
        })
    }

    /// The form of one attempt. Files on disk are opened anew, so every attempt sends
    /// the whole file.
    ///
    /// Every chunk of a file counts as `progress`, for the transfer's idle timeout.
    pub(crate) async fn form(&self, endpoint: &'static str, progress: &Progress) -> Result<Form> {
        // File names go as UTF-8, as browsers send them and Feishu reads them, not
        // percent-encoded (which would reach Feishu as the name itself).
        let mut form = Form::new().percent_encode_noop();
        for (name, value) in &self.fields {
            form = form.text(name.clone(), value.clone());
        }
        for ready in &self.files {
            let stream: ByteStream = match &ready.file.source {
                Source::Bytes(bytes) => Box::pin(InChunks(bytes.clone())),
                Source::Path(path) => {
                    let file = tokio::fs::File::open(path)
                        .await
                        .map_err(|source| file_error(endpoint, path, source))?;
                    let stream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK);
                    Box::pin(Exact::new(Box::pin(stream), ready.length))
                }
                Source::Stream { slot, length } => {
                    let stream = OneShot {
                        slot: slot.clone(),
                        taken: None,
                    };
                    Box::pin(Exact::new(Box::pin(stream), *length))
                }
            };
            let body = reqwest::Body::wrap_stream(progress.counting(stream));
            let part = Part::stream_with_length(body, ready.length)
                .file_name(ready.file_name.clone())
                .mime_str(&ready.mime_type)
                .map_err(|err| Error::InvalidRequest {
                    endpoint,
                    message: format!("part {}: {err}", ready.part),
                    violations: Vec::new(),
                })?;
            form = form.part(ready.part, part);
        }
        Ok(form)
    }
}

/// A file name as browsers put it in a part's header: UTF-8 as it is, but for the
/// characters that would end the quoted name or the header line, and `\\`, which a parser
/// that reads the name as an RFC 9110 quoted string would take for an escape.
fn header_safe(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\\', "%5C")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Bytes in memory, given out `READ_CHUNK` at a time so that sending them shows progress.
struct InChunks(Bytes);

impl Stream for InChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let rest = &mut self.0;
        if rest.is_empty() {
            return Poll::Ready(None);
        }
        let chunk = rest.split_to(rest.len().min(READ_CHUNK));
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// The file's length, which its form part declares before sending it.
async fn length(endpoint: &'static str, file: &UploadFile) -> Result<u64> {
    match &file.source {
        Source::Bytes(bytes) => Ok(bytes.len() as u64),
        Source::Stream { length, .. } => Ok(*length),
        Source::Path(path) => {
            // Opened, not only looked up, so a file the process may not read fails here.
            let opened = tokio::fs::File::open(path).await;
            let metadata = match opened {
                Ok(opened) => opened.metadata().await,
                Err(err) => Err(err),
            }
            .map_err(|source| file_error(endpoint, path, source))?;
            if !metadata.is_file() {
                let source = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
                return Err(file_error(endpoint, path, source));
            }
            Ok(metadata.len())
        }
    }
}

pub(crate) fn file_error(endpoint: &'static str, path: &Path, source: io::Error) -> Error {
    Error::File {
        endpoint,
        path: Some(path.to_owned()),
        source,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while the slot was held leaves nothing half-done in it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A user's stream, taken out of its slot when the attempt first reads it: an attempt
/// that never got to send it leaves it for the next.
struct OneShot {
    slot: Arc<Mutex<Option<ByteStream>>>,
    taken: Option<ByteStream>,
}

impl Stream for OneShot {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.taken.is_none() {
            let taken = lock(&self.slot).take();
            match taken {
                Some(stream) => self.taken = Some(stream),
                None => {
                    let message = "the upload's stream was already sent by an earlier attempt";
                    return Poll::Ready(Some(Err(io::Error::other(message))));
                }
            }
        }
        match &mut self.taken {
            Some(stream) => stream.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Passes a stream on, failing it if it yields more or fewer bytes than its part
/// declared: the form's framing depends on the declared length. The stream ends once the
/// declared length has passed, without waiting for the inner stream to end, so a stream
/// that never ends is read up to its length. Chunks are passed on at most `READ_CHUNK`
/// long: the HTTP client takes a chunk only when it has room for it, and the idle timeout
/// counts chunks taken, so a chunk of megabytes on a slow link would look like a stall.
struct Exact {
    inner: ByteStream,
    declared: u64,
    seen: u64,
    /// The rest of a long chunk, passed on before the next is read.
    rest: Bytes,
}

impl Exact {
    fn new(inner: ByteStream, declared: u64) -> Self {
        Exact {
            inner,
            declared,
            seen: 0,
            rest: Bytes::new(),
        }
    }
}

impl Stream for Exact {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.rest.is_empty() {
            let len = self.rest.len().min(READ_CHUNK);
            return Poll::Ready(Some(Ok(self.rest.split_to(len))));
        }
        if self.seen == self.declared {
            return Poll::Ready(None);
        }
        let next = ready!(self.inner.as_mut().poll_next(cx));
        let (declared, seen) = (self.declared, self.seen);
        let mismatch = |actual: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the file was declared {declared} bytes long but {actual}"),
            )
        };
        Poll::Ready(match next {
            Some(Ok(mut chunk)) => {
                self.seen = seen.saturating_add(chunk.len() as u64);
                if self.seen > declared {
                    Some(Err(mismatch("yielded more")))
                } else {
                    let first = chunk.split_to(chunk.len().min(READ_CHUNK));
                    self.rest = chunk;
                    Some(Ok(first))
                }
            }
            None if seen != declared => Some(Err(mismatch(&format!("ended after {seen}")))),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Chunks(Vec<&'static [u8]>);

    impl Stream for Chunks {
        type Item = io::Result<Bytes>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(match self.0.is_empty() {
                true => None,
                false => Some(Ok(Bytes::from_static(self.0.remove(0)))),
            })
        }
    }

    fn drain(mut stream: Pin<Box<dyn Stream<Item = io::Result<Bytes>>>>) -> Vec<io::Result<Bytes>> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = stream.as_mut().poll_next(&mut cx) {
            let failed = item.is_err();
            out.push(item);
            if failed {
                break;
            }
        }
        out
    }

    #[test]
    fn a_stream_must_yield_exactly_its_declared_length() {
        let exact =
            |declared| Box::pin(Exact::new(Box::pin(Chunks(vec![b"abc", b"de"])), declared));
        let ok = drain(exact(5));
        assert!(ok.iter().all(Result::is_ok) && ok.len() == 2);
        let long = drain(exact(4));
        assert!(
            long.last()
                .unwrap()
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("yielded more")
        );
        let short = drain(exact(6));
        let error = short.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(error.contains("ended after 5"), "{error}");
    }

    #[test]
    fn a_stream_that_never_ends_is_read_up_to_its_declared_length() {
        struct Endless;
        impl Stream for Endless {
            type Item = io::Result<Bytes>;
            fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
                Poll::Ready(Some(Ok(Bytes::from_static(b"ab"))))
            }
        }
        let sent = drain(Box::pin(Exact::new(Box::pin(Endless), 6)));
        let sent: Vec<_> = sent.into_iter().map(Result::unwrap).collect();
        assert_eq!(sent.concat(), b"ababab");
    }

    #[test]
    fn a_long_chunk_of_a_stream_is_passed_on_in_pieces() {
        static LONG: [u8; READ_CHUNK * 2 + 3] = [1; READ_CHUNK * 2 + 3];
        let declared = LONG.len() as u64 + 1;
        let sent = drain(Box::pin(Exact::new(
            Box::pin(Chunks(vec![&LONG, b"z"])),
            declared,
        )));
        let lengths: Vec<_> = sent.iter().map(|c| c.as_ref().unwrap().len()).collect();
        assert_eq!(lengths, [READ_CHUNK, READ_CHUNK, 3, 1]);
    }

    #[test]
    fn bytes_are_sent_a_chunk_at_a_time() {
        let bytes = Bytes::from(vec![7u8; READ_CHUNK * 2 + 1]);
        let chunks = drain(Box::pin(InChunks(bytes)));
        let lengths: Vec<_> = chunks.iter().map(|c| c.as_ref().unwrap().len()).collect();
        assert_eq!(lengths, [READ_CHUNK, READ_CHUNK, 1]);
    }

    #[test]
    fn a_file_name_cannot_end_its_quoted_header_value() {
        assert_eq!(header_safe("报告 \"q\".pdf"), "报告 %22q%22.pdf");
        assert_eq!(header_safe("a\\"), "a%5C");
        assert_eq!(header_safe("a\r\nb"), "a%0D%0Ab");
    }

    #[test]
    fn a_stream_is_sent_once() {
        let file = UploadFile::stream(Chunks(vec![b"x"]), 1);
        let Source::Stream { slot, .. } = &file.source else {
            unreachable!()
        };
        let first = drain(Box::pin(OneShot {
            slot: slot.clone(),
            taken: None,
        }));
        assert_eq!(first.len(), 1);
        assert!(lock(slot).is_none());
        let second = drain(Box::pin(OneShot {
            slot: slot.clone(),
            taken: None,
        }));
        assert!(second[0].is_err());
        assert!(!file.is_replayable() && UploadFile::path("a").is_replayable());
    }
}

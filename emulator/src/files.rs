//! The files download endpoints answer with.

use crate::codes::next_log_id;
use crate::http::Reply;

/// A file a download endpoint answers with ([`Emulator::serve_file`](crate::Emulator::serve_file)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedFile {
    body: Body,
    content_type: String,
    file_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    Bytes(Vec<u8>),
    /// This many bytes of [`crate::http::pattern`], made as they are sent.
    Pattern(u64),
}

impl ServedFile {
    /// A file of these bytes, as `application/octet-stream`.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        ServedFile::of(Body::Bytes(bytes.into()))
    }

    /// A file of `length` bytes of [`pattern`](crate::http::pattern), made as it is sent:
    /// a download of any size that costs the emulator no memory.
    pub fn pattern(length: u64) -> Self {
        ServedFile::of(Body::Pattern(length))
    }

    fn of(body: Body) -> Self {
        ServedFile {
            body,
            content_type: "application/octet-stream".to_owned(),
            file_name: None,
        }
    }

    /// The `Content-Type` it is served as.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = content_type.to_owned();
        self
    }

    /// The file name its `Content-Disposition` gives (as `filename` and, percent-encoded
    /// UTF-8, `filename*`).
    pub fn file_name(mut self, name: &str) -> Self {
        self.file_name = Some(name.to_owned());
        self
    }

    /// What a download endpoint answers when no file was set: the text
    /// `emulated file of <endpoint>`, named `<endpoint>.bin`.
    pub fn default_for(endpoint: &str) -> Self {
        ServedFile::bytes(format!("emulated file of {endpoint}"))
            .file_name(&format!("{endpoint}.bin"))
    }

    pub(crate) fn reply(&self) -> Reply {
        let reply = match &self.body {
            Body::Bytes(bytes) => Reply::raw(200, &self.content_type, bytes.clone()),
            Body::Pattern(length) => Reply::pattern(200, &self.content_type, *length),
        };
        let reply = reply.header("x-tt-logid", &next_log_id());
        match &self.file_name {
            Some(name) => reply.header("content-disposition", &content_disposition(name)),
            None => reply,
        }
    }
}

/// `attachment` with the name as an ASCII fallback and as RFC 8187 UTF-8.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

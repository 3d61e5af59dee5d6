//! `multipart/form-data` requests, read as they arrive: the text fields whole, each file
//! as its length, a checksum and its first bytes, so an upload of any size is checked in
//! bounded memory.

use bytes::Bytes;
use futures_util::Stream;

/// How much of each uploaded file a [`Form`] keeps.
pub const KEPT_FILE_BYTES: usize = 1 << 20;

/// How long a text field may be.
const MAX_FIELD_BYTES: usize = 1 << 20;

/// How many parts a form may have: a Feishu upload has a few.
const MAX_PARTS: usize = 256;

/// How many bytes of a form's fields and file heads are kept in all; a file past it
/// keeps a shorter head, a text field past it is refused.
const MAX_KEPT_BYTES: usize = 32 << 20;

/// A multipart form as the server received it.
///
/// A part is a file when it has a `filename`, a content type other than text, or content
/// that is not a short UTF-8 text; Feishu's Python SDK (and its Node SDK, given a
/// `Buffer`) send files without a `filename`, so an upload endpoint also takes a
/// documented file part that arrived as a text field ([`Form::file_part`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// The text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The file parts, in order.
    pub files: Vec<FormFile>,
}

/// One file part of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormFile {
    /// The part's name.
    pub name: String,
    /// The part's `filename`.
    pub file_name: Option<String>,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
    /// The file's length in bytes.
    pub length: u64,
    /// FNV-1a (64-bit) of the whole file, to compare a large file without keeping it.
    pub checksum: u64,
    /// The file's first bytes, at most [`KEPT_FILE_BYTES`].
    pub head: Vec<u8>,
}

impl Form {
    /// A text field's value, by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A file part, by name.
    pub fn file(&self, name: &str) -> Option<&FormFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The part `name` read as a file: a file part, or a text field of that name (a small
    /// text file sent without a `filename` cannot be told from a field).
    pub fn file_part(&self, name: &str) -> Option<FormFile> {
        if let Some(file) = self.file(name) {
            return Some(file.clone());
        }
        let text = self.field(name)?;
        Some(FormFile {
            name: name.to_owned(),
            file_name: None,
            content_type: None,
            length: text.len() as u64,
            checksum: fnv1a(FNV_START, text.as_bytes()),
            head: text.as_bytes().to_vec(),
        })
    }
}

/// FNV-1a over `bytes`, continuing from `hash` (start with [`FNV_START`]).
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// FNV-1a's offset basis.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Whether a part's content type says it is not a text field.
fn not_text(content_type: &str) -> bool {
    !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/")
}

/// The boundary of a `multipart/form-data` content type; `None` for other types.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type).ok()
}

/// Reads a form from `body`; the error says what is malformed.
pub(crate) async fn read<S>(body: S, boundary: String) -> Result<Form, String>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let mut multipart = multer::Multipart::new(body, boundary);
    let mut form = Form::default();
    let (mut parts, mut kept) = (0usize, 0usize);
    while let Some(mut part) = multipart.next_field().await.map_err(|e| e.to_string())? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(format!("the form has more than {MAX_PARTS} parts"));
        }
        let name = part.name().unwrap_or_default().to_owned();
        let file_name = part.file_name().map(str::to_owned);
        let content_type = part.content_type().map(ToString::to_string);
        let mut is_file = file_name.is_some() || content_type.as_deref().is_some_and(not_text);
        let (mut length, mut checksum, mut head) = (0u64, FNV_START, Vec::new());
        while let Some(chunk) = part.chunk().await.map_err(|e| e.to_string())? {
            length += chunk.len() as u64;
            checksum = fnv1a(checksum, &chunk);
            let room = KEPT_FILE_BYTES
                .saturating_sub(head.len())
                .min(MAX_KEPT_BYTES.saturating_sub(kept + head.len()));
            head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            // A part too long for a field, or cut short by the form's bound, is a file.
            is_file |= length > MAX_FIELD_BYTES as u64 || length > head.len() as u64;
        }
        kept += head.len();
        let text = match is_file {
            true => Err(head),
            false => String::from_utf8(head).map_err(|e| e.into_bytes()),
        };
        match text {
            Ok(value) => form.fields.push((name, value)),
            Err(head) => form.files.push(FormFile {
                name,
                file_name,
                content_type,
                length,
                checksum,
                head,
            }),
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(parts: impl Iterator<Item = (String, Vec<u8>)>) -> Vec<u8> {
        let mut body = Vec::new();
        for (disposition, content) in parts {
            body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; ");
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(&content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--b--\r\n");
        body
    }

    async fn read_body(body: Vec<u8>) -> Result<Form, String> {
        let stream = futures_util::stream::iter([Ok(Bytes::from(body))]);
        read(stream, "b".to_owned()).await
    }

    #[tokio::test]
    async fn a_form_of_too_many_parts_is_refused() {
        let part = |i| (format!("name=\"f{i}\""), b"v".to_vec());
        assert!(read_body(body_of((0..MAX_PARTS).map(part))).await.is_ok());
        let error = read_body(body_of((0..=MAX_PARTS).map(part)))
            .await
            .unwrap_err();
        assert!(error.contains("more than 256 parts"), "{error}");
    }

    #[tokio::test]
    async fn what_a_form_keeps_is_bounded_in_all() {
        let file = |i| {
            let disposition = format!("name=\"f{i}\"; filename=\"f{i}.bin\"");
            (disposition, vec![b'x'; KEPT_FILE_BYTES])
        };
        let parts = MAX_KEPT_BYTES / KEPT_FILE_BYTES + 2;
        let form = read_body(body_of((0..parts).map(file))).await.unwrap();
        let kept: usize = form.files.iter().map(|f| f.head.len()).sum();
        assert_eq!(kept, MAX_KEPT_BYTES);
        assert!(
            form.files
                .iter()
                .all(|f| f.length == KEPT_FILE_BYTES as u64)
        );

        let fields = (0..parts).map(|i| (format!("name=\"t{i}\""), vec![b'y'; MAX_FIELD_BYTES]));
        let form = read_body(body_of(fields)).await.unwrap();
        let kept: usize = form.fields.iter().map(|(_, v)| v.len()).sum::<usize>()
            + form.files.iter().map(|f| f.head.len()).sum::<usize>();
        assert_eq!(kept, MAX_KEPT_BYTES);
        assert!(
            !form.files.is_empty(),
            "the fields past the bound are kept as files"
        );
    }

    #[tokio::test]
    async fn a_file_without_a_file_name_is_a_file_part() {
        let png = b"\x89PNG\r\n\x1a\n\x00".to_vec();
        let parts = [
            ("name=\"image_type\"".to_owned(), b"message".to_vec()),
            ("name=\"image\"".to_owned(), png.clone()),
            ("name=\"file\"".to_owned(), b"plain text".to_vec()),
        ];
        let form = read_body(body_of(parts.into_iter())).await.unwrap();
        assert_eq!(form.field("image_type"), Some("message"));
        let image = form.file("image").expect("binary content is a file");
        assert_eq!(
            (image.file_name.as_deref(), image.head.as_slice()),
            (None, &png[..])
        );
        let text = form.file_part("file").expect("a text field read as a file");
        assert_eq!(
            (text.length, text.head.as_slice()),
            (10, &b"plain text"[..])
        );
        assert!(form.file_part("missing").is_none());
    }
}

//! Uploads and downloads, for every endpoint that sends or answers with a file, against
//! the emulator over real HTTP: an upload's form arrives as the emulator's multipart
//! parser reads it (fields, part names, file names, MIME types, bytes); a file that cannot
//! be read or breaks its documented size is refused before anything is sent; a stream is
//! never sent twice; a download returns the served bytes exactly, and Feishu's JSON error
//! in place of a file as the typed error. Endpoints come from spec/ through the generated
//! crate's own list, so no test names one.

use std::time::Duration;

use bytes::Bytes;
use feishu::runtime::TokenKind;
use feishu::runtime::codegen::Endpoint;
use feishu::{Client, Error, RetryPolicy, UploadFile};
use feishu_emulator::form::FormFile;
use feishu_emulator::http::pattern;
use feishu_emulator::{Fault, ServedFile, Target};
use feishu_spec::LoadedEndpoint;
use feishu_tests::emulated::{USER_TOKEN, api_requests, emulator};
use feishu_tests::endpoints::{self, CallOptions, request_json};
use serde_json::Value;

fn options(meta: &Endpoint) -> CallOptions {
    let user = meta.tokens == [TokenKind::User];
    CallOptions {
        retry: Some(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_jitter: Duration::from_millis(10),
            ..RetryPolicy::default()
        }),
        ..CallOptions::user(user.then(|| USER_TOKEN.to_owned()))
    }
}

/// Calls an upload with the documented request and `files` as its file parts.
async fn upload(
    client: &Client,
    loaded: &LoadedEndpoint,
    endpoint: &endpoints::Endpoint,
    files: Vec<UploadFile>,
) -> Result<Value, Error> {
    (endpoint.upload)(client, request_json(loaded), files, options(endpoint.meta)).await
}

/// The bytes of the test file of one part: different for every endpoint and part, with
/// every byte value in it.
fn file_bytes(id: &str, part: &str) -> Vec<u8> {
    let mut bytes = format!("{id}/{part}:").into_bytes();
    bytes.extend(0..=255u8);
    bytes
}

/// How a file the test sends must arrive.
struct Sent {
    name: String,
    bytes: Vec<u8>,
    file_name: String,
    content_type: &'static str,
}

/// The files of one upload: the first part from a file on disk (named for its part,
/// guessed as a PDF), the others from memory (with a name that needs care in a header).
fn files_for(meta: &Endpoint, dir: &std::path::Path) -> Vec<(Sent, UploadFile)> {
    meta.files
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let bytes = file_bytes(meta.id, part.name);
            if i == 0 {
                let path = dir.join(format!("{}.pdf", part.name));
                std::fs::write(&path, &bytes).unwrap();
                let sent = Sent {
                    name: part.name.to_owned(),
                    bytes,
                    file_name: format!("{}.pdf", part.name),
                    content_type: "application/pdf",
                };
                (sent, UploadFile::path(&path))
            } else {
                let file =
                    UploadFile::bytes(bytes.clone()).file_name(format!("图 \"{}\".png", part.name));
                let sent = Sent {
                    name: part.name.to_owned(),
                    bytes,
                    file_name: format!("图 %22{}%22.png", part.name),
                    content_type: "image/png",
                };
                (sent, file)
            }
        })
        .collect()
}

/// Whether a form field's text is the body field's JSON value: a string as it is, any
/// other value as JSON (numbers compared as numbers).
fn field_matches(text: &str, value: &Value) -> bool {
    match value {
        Value::String(expected) => text == expected,
        Value::Number(expected) => serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.as_f64())
            .is_some_and(|sent| Some(sent) == expected.as_f64()),
        other => serde_json::from_str::<Value>(text).ok().as_ref() == Some(other),
    }
}

fn assert_file_arrived(id: &str, arrived: Option<&FormFile>, sent: &Sent) {
    let arrived = arrived.unwrap_or_else(|| panic!("{id}: part {} did not arrive", sent.name));
    assert_eq!(
        arrived.file_name.as_deref(),
        Some(sent.file_name.as_str()),
        "{id}: {} file name",
        sent.name
    );
    assert_eq!(
        arrived.content_type.as_deref(),
        Some(sent.content_type),
        "{id}: {} MIME type",
        sent.name
    );
    assert_eq!(
        arrived.length,
        sent.bytes.len() as u64,
        "{id}: {} length",
        sent.name
    );
    assert_eq!(arrived.head, sent.bytes, "{id}: {} bytes", sent.name);
}

#[tokio::test]
async fn every_upload_sends_its_fields_and_files_as_a_multipart_parser_reads_them() {
    let uploads = endpoints::uploads();
    assert!(!uploads.is_empty(), "spec/ has uploads");
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (loaded, endpoint) in uploads {
        let id = endpoint.meta.id;
        let request = request_json(&loaded);
        let (expected, files): (Vec<Sent>, Vec<UploadFile>) =
            files_for(endpoint.meta, dir.path()).into_iter().unzip();
        (endpoint.upload)(&client, request.clone(), files, options(endpoint.meta))
            .await
            .unwrap_or_else(|err| panic!("{id}: the upload failed: {err}"));

        let recorded = api_requests(&emulator);
        assert_eq!(recorded.len(), 1, "{id}: one request");
        let request_seen = &recorded[0];
        let content_type = request_seen.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("multipart/form-data; boundary="),
            "{id}: {content_type}"
        );
        let form = request_seen
            .form
            .as_ref()
            .unwrap_or_else(|| panic!("{id}: no form"))
            .as_ref()
            .unwrap_or_else(|err| panic!("{id}: the form does not parse: {err}"));
        for sent in &expected {
            assert_file_arrived(id, form.file(&sent.name), sent);
        }
        assert_eq!(
            form.files.len(),
            expected.len(),
            "{id}: only the documented parts"
        );
        let body = request
            .get("body")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut names: Vec<&str> = form.fields.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        let mut documented: Vec<&str> = body.keys().map(String::as_str).collect();
        documented.sort_unstable();
        assert_eq!(names, documented, "{id}: the form's text fields");
        for (name, text) in &form.fields {
            assert!(
                field_matches(text, &body[name]),
                "{id}: field {name} is {text:?}, sent as {}",
                body[name]
            );
        }
    }
}

#[tokio::test]
async fn an_unreadable_file_is_a_typed_error_before_anything_is_sent() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (loaded, endpoint) in endpoints::uploads() {
        let id = endpoint.meta.id;
        let missing = dir.path().join("no-such-file.png");
        let files = endpoint
            .meta
            .files
            .iter()
            .enumerate()
            .map(|(i, _)| match i {
                0 => UploadFile::path(&missing),
                _ => UploadFile::bytes("x"),
            })
            .collect();
        let error = upload(&client, &loaded, &endpoint, files)
            .await
            .expect_err("a missing file fails the call");
        match &error {
            Error::File {
                endpoint,
                path,
                source,
            } => {
                assert_eq!(*endpoint, id);
                assert_eq!(path.as_deref(), Some(missing.as_path()), "{id}");
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
        assert!(
            error.to_string().contains("no-such-file.png"),
            "{id}: {error}"
        );
        // A directory is not a file either.
        let files = endpoint
            .meta
            .files
            .iter()
            .map(|_| UploadFile::path(dir.path()))
            .collect();
        let error = upload(&client, &loaded, &endpoint, files)
            .await
            .expect_err("a directory fails the call");
        assert!(matches!(error, Error::File { .. }), "{id}: {error:?}");
        assert!(
            emulator.take_requests().is_empty(),
            "{id}: nothing was sent"
        );
    }
}

/// A stream of `length` bytes that fails the test if it is ever read.
fn unread(length: u64) -> UploadFile {
    let never =
        futures_util::stream::poll_fn(|_| -> std::task::Poll<Option<std::io::Result<Bytes>>> {
            panic!("a file over its limit must not be read")
        });
    UploadFile::stream(never, length)
}

#[tokio::test]
async fn a_file_over_its_documented_size_is_refused_before_anything_is_sent() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let mut limited = 0;
    for (loaded, endpoint) in endpoints::uploads() {
        let id = endpoint.meta.id;
        let Some((index, part)) = endpoint
            .meta
            .files
            .iter()
            .enumerate()
            .find_map(|(i, p)| Some((i, p.name)).filter(|_| p.max_bytes.is_some()))
        else {
            continue;
        };
        limited += 1;
        let max = endpoint.meta.files[index].max_bytes.unwrap_or_default();
        let files = (0..endpoint.meta.files.len())
            .map(|i| match i == index {
                true => unread(max + 1),
                false => UploadFile::bytes("x"),
            })
            .collect();
        let error = upload(&client, &loaded, &endpoint, files)
            .await
            .expect_err("too large");
        match &error {
            Error::InvalidRequest { violations, .. } => {
                assert_eq!(violations.len(), 1, "{id}");
                assert_eq!(violations[0].field, part, "{id}");
                assert!(
                    violations[0].description.contains(&max.to_string()),
                    "{id}: {error}"
                );
            }
            other => panic!("{id}: {other:?}"),
        }
        assert!(
            emulator.take_requests().is_empty(),
            "{id}: nothing was sent"
        );
    }
    assert!(limited > 0, "some uploads document a size limit");
}

#[tokio::test]
async fn a_rate_limited_upload_is_retried_from_bytes_but_not_from_a_stream() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    for (loaded, endpoint) in endpoints::uploads() {
        let id = endpoint.meta.id;
        let parts = endpoint.meta.files.len();
        let target = || Target::Endpoint(id.to_owned());

        emulator.inject(target(), Fault::rate_limited(0), 1);
        let files = (0..parts).map(|_| UploadFile::bytes("retried")).collect();
        upload(&client, &loaded, &endpoint, files)
            .await
            .unwrap_or_else(|err| panic!("{id}: bytes are sent again: {err}"));
        let sent = api_requests(&emulator);
        assert_eq!(sent.len(), 2, "{id}: the limited attempt and the retry");
        for request in &sent {
            let form = request.form.as_ref().unwrap().as_ref().unwrap();
            assert!(
                form.files.iter().all(|f| f.head == b"retried"),
                "{id}: each attempt sends the whole file"
            );
        }

        emulator.inject(target(), Fault::rate_limited(0), 1);
        let files = (0..parts)
            .map(|_| {
                UploadFile::stream(
                    futures_util::stream::iter([Ok(Bytes::from_static(b"once"))]),
                    4,
                )
            })
            .collect();
        let error = upload(&client, &loaded, &endpoint, files)
            .await
            .expect_err("a stream is not sent twice");
        match &error {
            Error::NotRetried { source, .. } => {
                assert!(
                    matches!(**source, Error::Api(ref api) if api.is_rate_limited()),
                    "{id}: {source:?}"
                );
            }
            other => panic!("{id}: {other:?}"),
        }
        assert!(
            error.to_string().contains("sent only once"),
            "{id}: {error}"
        );
        assert_eq!(api_requests(&emulator).len(), 1, "{id}: one attempt");
    }
}

#[tokio::test]
async fn a_stream_that_is_not_its_declared_length_fails_the_call() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let (loaded, endpoint) = endpoints::uploads().into_iter().next().expect("an upload");
    for (chunks, declared) in [(vec!["abc"], 5u64), (vec!["abc", "def"], 4)] {
        let parts = endpoint.meta.files.len();
        let files = (0..parts)
            .map(|_| {
                let chunks = chunks
                    .iter()
                    .map(|c| Ok(Bytes::from_static(c.as_bytes())))
                    .collect::<Vec<_>>();
                UploadFile::stream(futures_util::stream::iter(chunks), declared)
            })
            .collect();
        let error = upload(&client, &loaded, &endpoint, files)
            .await
            .expect_err("a stream of the wrong length fails");
        let chain = error_chain(&error);
        assert!(
            chain.contains(&format!("declared {declared} bytes long")),
            "{chain}"
        );
        let arrived = api_requests(&emulator);
        assert!(
            arrived.iter().all(|r| !matches!(&r.form, Some(Ok(_)))),
            "no well-formed upload reached the server"
        );
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn served_bytes(id: &str) -> Vec<u8> {
    let mut bytes = format!("file of {id}\n").into_bytes();
    bytes.extend((0..=255u8).rev());
    bytes
}

#[tokio::test]
async fn every_download_returns_the_served_file_byte_for_byte() {
    let downloads = endpoints::downloads();
    assert!(!downloads.is_empty(), "spec/ has downloads");
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (loaded, endpoint) in downloads {
        let id = endpoint.meta.id;
        let bytes = served_bytes(id);
        let name = format!("报告 {id}.png");
        let served = ServedFile::bytes(bytes.clone())
            .content_type("image/png")
            .file_name(&name);
        emulator.serve_file(id, served);

        let download = (endpoint.call)(&client, request_json(&loaded), options(endpoint.meta))
            .await
            .unwrap_or_else(|err| panic!("{id}: the download failed: {err}"));
        assert_eq!(download.status(), 200, "{id}");
        assert_eq!(download.content_type(), Some("image/png"), "{id}");
        assert_eq!(download.file_name().as_deref(), Some(name.as_str()), "{id}");
        assert_eq!(download.content_length(), Some(bytes.len() as u64), "{id}");
        assert!(download.log_id().is_some(), "{id}: the log id");
        assert_eq!(download.bytes().await.unwrap(), bytes, "{id}: bytes");

        let download = (endpoint.call)(&client, request_json(&loaded), options(endpoint.meta))
            .await
            .unwrap();
        let path = dir.path().join(download.file_name().unwrap());
        assert_eq!(
            download.save(&path).await.unwrap(),
            bytes.len() as u64,
            "{id}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{id}: saved bytes");

        let recorded = api_requests(&emulator);
        assert_eq!(recorded.len(), 2, "{id}");
        assert_eq!(
            recorded[0].method,
            loaded.spec.method.as_str(),
            "{id}: method"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        endpoints::downloads().len(),
        "only the saved files, no partial ones"
    );
}

#[tokio::test]
async fn a_json_error_in_place_of_a_file_is_the_typed_api_error() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    for (loaded, endpoint) in endpoints::downloads() {
        let id = endpoint.meta.id;
        // The page's own first error, else a general one; with its status, and under 200
        // as some endpoints send their errors.
        let (status, code, msg) = endpoint
            .meta
            .errors
            .first()
            .map(|e| (e.http_status.unwrap_or(400), e.code, e.message))
            .unwrap_or((400, 99992402, "field validation failed"));
        for status in [status, 200] {
            let fault = Fault::ApiError {
                status,
                code,
                msg: msg.to_owned(),
            };
            emulator.inject(Target::Endpoint(id.to_owned()), fault, 1);
            // Not retried, even where the page's code comes with a 5xx.
            let options = CallOptions {
                retry: Some(RetryPolicy::none()),
                ..options(endpoint.meta)
            };
            let error = (endpoint.call)(&client, request_json(&loaded), options)
                .await
                .expect_err("an error, not a file");
            let api = error.as_api().unwrap_or_else(|| panic!("{id}: {error:?}"));
            assert_eq!(
                (api.status, api.code, api.msg.as_str()),
                (status, code, msg),
                "{id}"
            );
            assert!(api.log_id.is_some(), "{id}: log id");
            if !endpoint.meta.errors.is_empty() {
                assert!(api.documented.is_some(), "{id}: the page's entry");
            }
        }
    }
}

#[tokio::test]
async fn a_json_file_is_a_file() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    for (loaded, endpoint) in endpoints::downloads() {
        let id = endpoint.meta.id;
        let error_like = &br#"{"code": 1, "msg": "a JSON file that looks like an error"}"#[..];
        for (body, attachment) in [
            (&br#"{"code": 0, "name": "a JSON file"}"#[..], false),
            (br#"{"code": 7, "count": 3}"#, false),
            (br#"{"rows": [1, 2]}"#, false),
            (b"[]", false),
            (error_like, true),
        ] {
            let served = ServedFile::bytes(body).content_type("application/json");
            let served = match attachment {
                true => served.file_name("error-like.json"),
                false => served,
            };
            emulator.serve_file(id, served);
            let download = (endpoint.call)(&client, request_json(&loaded), options(endpoint.meta))
                .await
                .unwrap_or_else(|err| panic!("{id}: {err}"));
            assert_eq!(download.bytes().await.unwrap(), body, "{id}");
        }
    }
}

#[tokio::test]
async fn a_large_download_streams_within_bounded_memory_and_saves_whole() {
    const LENGTH: u64 = 8 << 20;
    let emulator = emulator().await;
    // Collecting is bounded by the client's limit; streaming and saving are not.
    let client = emulator
        .client_builder()
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let (loaded, endpoint) = endpoints::downloads()
        .into_iter()
        .next()
        .expect("a download");
    let id = endpoint.meta.id;
    emulator.serve_file(id, ServedFile::pattern(LENGTH));
    let call = || (endpoint.call)(&client, request_json(&loaded), options(endpoint.meta));

    let mut download = call().await.unwrap();
    let (mut offset, mut largest) = (0u64, 0usize);
    while let Some(chunk) = download.chunk().await.unwrap() {
        assert_eq!(chunk, pattern(offset, chunk.len()), "bytes at {offset}");
        offset += chunk.len() as u64;
        largest = largest.max(chunk.len());
    }
    assert_eq!(offset, LENGTH);
    assert!(
        largest <= 1 << 20,
        "chunks arrive as they come, not whole: {largest}"
    );

    let error = call()
        .await
        .unwrap()
        .bytes()
        .await
        .expect_err("over the limit");
    assert!(
        matches!(error, Error::TooLarge { limit: 1048576, .. }),
        "{error:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    assert_eq!(call().await.unwrap().save(&path).await.unwrap(), LENGTH);
    let saved = std::fs::read(&path).unwrap();
    assert!(
        saved == pattern(0, LENGTH as usize),
        "the saved file is the served one"
    );
}

#[tokio::test]
async fn a_download_cut_short_leaves_no_file_behind() {
    use feishu_emulator::http::{Reply, Server};
    let (loaded, endpoint) = endpoints::downloads()
        .into_iter()
        .next()
        .expect("a download");
    // Declares 1 MiB, sends 4 bytes and closes the connection.
    let server = Server::start(|request| match request.path.contains("access_token") {
        true => Reply::json(
            200,
            &serde_json::json!({"code": 0, "msg": "ok", "expire": 7200,
            "tenant_access_token": "t-1", "app_access_token": "a-1"}),
        ),
        false => {
            Reply::raw(200, "application/octet-stream", "abcd").header("content-length", "1048576")
        }
    })
    .await;
    let client = Client::builder("cli_a", "secret")
        .base_url(feishu::BaseUrl::Custom(server.url()))
        .build()
        .unwrap();
    let mut options = options(endpoint.meta);
    options.user_access_token =
        Some(USER_TOKEN.to_owned()).filter(|_| endpoint.meta.tokens == [TokenKind::User]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.bin");
    let result = match (endpoint.call)(&client, request_json(&loaded), options).await {
        Ok(download) => download.save(&path).await.map(|_| ()),
        Err(error) => Err(error),
    };
    let error = result.expect_err("the file was cut short");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(!path.exists(), "no partial file at the path");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}

/// A server that answers the first request with a download's head (`headers`, then the
/// length) and `chunks` of its body, `gap` apart, then holds the connection open without
/// sending more.
async fn trickling_server(
    headers: &'static str,
    length: usize,
    chunks: Vec<&'static [u8]>,
    gap: Duration,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if socket.read(&mut byte).await.unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let answer = format!("HTTP/1.1 200 OK\r\n{headers}content-length: {length}\r\n\r\n");
        socket.write_all(answer.as_bytes()).await.unwrap();
        for chunk in chunks {
            socket.write_all(chunk).await.unwrap();
            tokio::time::sleep(gap).await;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    url
}

const OCTETS: &str = "content-type: application/octet-stream\r\n";

/// A download a user token can call, from a client of `url` with a timeout of 300 ms.
fn slow_download_client(url: String) -> (Client, LoadedEndpoint, endpoints::DownloadEndpoint) {
    let (loaded, endpoint) = endpoints::downloads()
        .into_iter()
        .find(|(_, e)| e.meta.tokens.contains(&TokenKind::User) && !e.meta.helpdesk)
        .expect("a download a user token can call");
    let client = Client::builder("cli_a", "secret")
        .base_url(feishu::BaseUrl::Custom(url))
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    (client, loaded, endpoint)
}

#[tokio::test]
async fn a_download_that_stalls_fails_once_it_stands_still_for_the_timeout() {
    // The head and 4 bytes of a 100-byte file, then nothing more.
    let url = trickling_server(OCTETS, 100, vec![b"abcd"], Duration::ZERO).await;
    let (client, loaded, endpoint) = slow_download_client(url);
    let options = CallOptions::user(Some(USER_TOKEN.to_owned()));
    let started = std::time::Instant::now();
    let download = (endpoint.call)(&client, request_json(&loaded), options)
        .await
        .unwrap();
    let error = download.bytes().await.expect_err("the server stalled");
    assert!(matches!(error, Error::Stalled { .. }), "{error:?}");
    assert!(error.is_timeout() && error.is_retryable(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_download_slower_than_the_timeout_but_moving_arrives_whole() {
    // 10 chunks 100 ms apart: a second in all, against a timeout of 300 ms.
    let chunks: Vec<&'static [u8]> = vec![b"0123456789"; 10];
    let url = trickling_server(OCTETS, 100, chunks, Duration::from_millis(100)).await;
    let (client, loaded, endpoint) = slow_download_client(url);
    let options = CallOptions::user(Some(USER_TOKEN.to_owned()));
    let started = std::time::Instant::now();
    let download = (endpoint.call)(&client, request_json(&loaded), options)
        .await
        .unwrap();
    let bytes = download.bytes().await.expect("the file kept moving");
    assert_eq!(bytes, b"0123456789".repeat(10));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// A stream of `chunks` chunks of 1 KiB, `gap` apart; with `stall`, it then waits forever
/// instead of ending.
fn trickle(chunks: u64, gap: Duration, stall: bool) -> UploadFile {
    let stream = futures_util::stream::unfold(0u64, move |sent| async move {
        if sent == chunks {
            if stall {
                std::future::pending::<()>().await;
            }
            return None;
        }
        tokio::time::sleep(gap).await;
        Some((Ok(Bytes::from(vec![b'x'; 1024])), sent + 1))
    });
    let declared = match stall {
        true => chunks * 1024 + 1,
        false => chunks * 1024,
    };
    UploadFile::stream(stream, declared).file_name("trickle.bin")
}

#[tokio::test]
async fn an_upload_slower_than_the_timeout_but_moving_is_sent_whole() {
    let emulator = emulator().await;
    let client = emulator
        .client_builder()
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (loaded, endpoint) = endpoints::uploads().into_iter().next().expect("an upload");
    let parts = endpoint.meta.files.len();
    // Ten chunks 100 ms apart per part: a second or more in all.
    let files = (0..parts)
        .map(|_| trickle(10, Duration::from_millis(100), false))
        .collect();
    let started = std::time::Instant::now();
    upload(&client, &loaded, &endpoint, files)
        .await
        .unwrap_or_else(|err| panic!("{}: the upload kept moving: {err}", endpoint.meta.id));
    assert!(started.elapsed() >= Duration::from_millis(900));
    let sent = api_requests(&emulator);
    let form = sent[0].form.as_ref().unwrap().as_ref().unwrap();
    assert!(form.files.iter().all(|file| file.length == 10 * 1024));
}

#[tokio::test]
async fn an_upload_that_stalls_fails_once_it_stands_still_for_the_timeout() {
    let emulator = emulator().await;
    let client = emulator
        .client_builder()
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (loaded, endpoint) = endpoints::uploads().into_iter().next().expect("an upload");
    let parts = endpoint.meta.files.len();
    let files = (0..parts)
        .map(|_| trickle(2, Duration::ZERO, true))
        .collect();
    let started = std::time::Instant::now();
    let error = upload(&client, &loaded, &endpoint, files)
        .await
        .expect_err("the upload stood still");
    // Where the method lets a stall be retried, the stream cannot be sent again.
    let stalled = match &error {
        Error::NotRetried { source, .. } => &**source,
        other => other,
    };
    assert!(matches!(stalled, Error::Stalled { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_save_abandoned_midway_leaves_no_file_behind() {
    let chunks: Vec<&'static [u8]> = vec![b"0123456789"; 10];
    let url = trickling_server(OCTETS, 100, chunks, Duration::from_millis(100)).await;
    let (client, loaded, endpoint) = slow_download_client(url);
    let options = CallOptions::user(Some(USER_TOKEN.to_owned()));
    let download = (endpoint.call)(&client, request_json(&loaded), options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("abandoned.bin");
    let save = download.save(&path);
    let abandoned = tokio::time::timeout(Duration::from_millis(350), save).await;
    assert!(abandoned.is_err(), "the save was still under way");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "neither the file nor its temporary file is left"
    );
}

#[tokio::test]
async fn a_json_file_slower_than_the_timeout_but_moving_arrives_whole() {
    // Read whole to tell it from Feishu's error: each chunk still counts as progress.
    let chunks: Vec<&'static [u8]> = vec![b"[1,2,3,4]\n"; 10];
    let json = "content-type: application/json\r\n";
    let url = trickling_server(json, 100, chunks, Duration::from_millis(100)).await;
    let (client, loaded, endpoint) = slow_download_client(url);
    let options = CallOptions::user(Some(USER_TOKEN.to_owned()));
    let download = (endpoint.call)(&client, request_json(&loaded), options)
        .await
        .expect("the file kept moving");
    assert_eq!(download.bytes().await.unwrap(), b"[1,2,3,4]\n".repeat(10));
}

#[tokio::test]
async fn an_attachment_named_in_raw_utf8_is_a_file_even_when_it_looks_like_an_error() {
    let body: &'static [u8] = br#"{"code": 1, "msg": "a file"}"#;
    let headers = "content-type: application/json\r\ncontent-disposition: attachment; filename=\"报告.json\"\r\n";
    let url = trickling_server(headers, body.len(), vec![body], Duration::ZERO).await;
    let (client, loaded, endpoint) = slow_download_client(url);
    let options = CallOptions::user(Some(USER_TOKEN.to_owned()));
    let download = (endpoint.call)(&client, request_json(&loaded), options)
        .await
        .expect("an attachment is a file");
    assert_eq!(download.file_name().as_deref(), Some("报告.json"));
    assert_eq!(download.bytes().await.unwrap(), body);
}

#[tokio::test]
async fn a_file_is_saved_under_a_name_as_long_as_the_system_allows() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let (loaded, endpoint) = endpoints::downloads()
        .into_iter()
        .next()
        .expect("a download");
    let id = endpoint.meta.id;
    emulator.serve_file(id, ServedFile::bytes(served_bytes(id)));
    let download = (endpoint.call)(&client, request_json(&loaded), options(endpoint.meta))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 83 three-byte characters and `.bin`: 253 bytes, under the usual limit of 255.
    let path = dir.path().join(format!("{}.bin", "报".repeat(83)));
    download.save(&path).await.expect("the name is valid");
    assert_eq!(std::fs::read(&path).unwrap(), served_bytes(id));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

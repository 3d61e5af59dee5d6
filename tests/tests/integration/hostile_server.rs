//! The client against servers that misbehave on purpose, over real HTTP on 127.0.0.1 (a
//! proxy or a wrong base URL can be any of them): endless and oversized bodies, extreme
//! token lifetimes, timeouts and rate-limit resets, redirects, echoed secrets, short-lived
//! tokens, and a token endpoint that fails under load. Nothing may panic, hang, buffer
//! without bound, or hand a secret back in an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use feishu::application::v6::application_feedback::{
    FeedbackStatus, PatchApplicationFeedbackRequest,
};
use feishu::helpdesk::v1::ticket::{UpdateTicketBody, UpdateTicketRequest};
use feishu::{BaseUrl, Client, Error, RetryPolicy};
use feishu_tests::server::{
    Recorded, Reply, TENANT_TOKEN, TENANT_TOKEN_PATH, TestServer, token_reply,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "app-secret-never-shown";
const HELPDESK_TOKEN: &str = "helpdesk-token-never-shown";

fn builder(url: String) -> feishu::ClientBuilder {
    Client::builder("cli_a", SECRET)
        .base_url(BaseUrl::Custom(url))
        .helpdesk("hd", HELPDESK_TOKEN)
        .retry(RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_jitter: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
}

/// A tenant-token endpoint, PATCH (not retried after a 5xx by default).
fn patch(client: &Client) -> feishu::Call<'_, PatchApplicationFeedbackRequest> {
    let request =
        PatchApplicationFeedbackRequest::new("cli_a", "705", FeedbackStatus::Handled, "ou_1");
    client
        .application()
        .v6()
        .application_feedback()
        .patch(request)
}

fn success() -> Reply {
    Reply::json(200, &json!({"code": 0, "msg": "success", "data": {}}))
}

/// A server the test writes at the socket level, for answers no HTTP library would give:
/// the token endpoint gets `token`, every other request `api`, both as raw bytes written
/// until the client hangs up (`None`: an endless body of `x`).
async fn raw_server(token: Option<Vec<u8>>, api: Option<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (token, api) = (Arc::new(token), Arc::new(api));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (token, api) = (token.clone(), api.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let is_token = String::from_utf8_lossy(&head).contains(TENANT_TOKEN_PATH);
                let answer = if is_token { &*token } else { &*api };
                match answer {
                    Some(bytes) => {
                        let _ = socket.write_all(bytes).await;
                    }
                    None => {
                        let start = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        if socket.write_all(start).await.is_err() {
                            return;
                        }
                        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                }
            });
        }
    });
    url
}

fn token_answer(expire: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"code":0,"msg":"ok","tenant_access_token":"{TENANT_TOKEN}","expire":{expire}}}"#
    );
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn an_endless_body_fails_at_the_limit_instead_of_filling_memory() {
    let url = raw_server(Some(token_answer("7200")), None).await;
    let client = builder(url).max_response_bytes(1 << 20).build().unwrap();
    let started = Instant::now();
    let err = patch(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, status: 200, .. } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // The same from the token endpoint: an auth error that names the limit.
    let url = raw_server(None, None).await;
    let client = builder(url).max_response_bytes(1 << 20).build().unwrap();
    let err = patch(&client).retry(RetryPolicy::none()).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("limit of 1048576 bytes"), "{err}");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let api = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10737418240\r\n\r\n{".to_vec();
    let url = raw_server(Some(token_answer("7200")), Some(api)).await;
    let client = builder(url).build().unwrap();
    let err = patch(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == feishu::runtime::DEFAULT_MAX_RESPONSE_BYTES),
        "{err:?}"
    );
}

#[tokio::test]
async fn extreme_token_lifetimes_neither_panic_nor_refetch() {
    for expire in [u64::MAX.to_string(), i64::MAX.to_string()] {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = fetches.clone();
        let server = TestServer::start(move |request| {
            if request.path == TENANT_TOKEN_PATH {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = format!(
                    r#"{{"code":0,"msg":"ok","tenant_access_token":"{TENANT_TOKEN}","expire":{expire}}}"#
                );
                return Reply::raw(200, "application/json", body);
            }
            success()
        })
        .await;
        let client = builder(server.url()).build().unwrap();
        for _ in 0..3 {
            patch(&client).await.unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_short_lived_token_serves_many_calls() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let server = TestServer::start(move |request| {
        if request.path == TENANT_TOKEN_PATH {
            counted.fetch_add(1, Ordering::SeqCst);
            let body =
                json!({"code": 0, "msg": "ok", "tenant_access_token": TENANT_TOKEN, "expire": 60});
            return Reply::json(200, &body);
        }
        success()
    })
    .await;
    let client = builder(server.url()).build().unwrap();
    for _ in 0..20 {
        patch(&client).await.unwrap();
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "a 60 s token is kept for 30 s"
    );
}

#[tokio::test]
async fn extreme_timeouts_and_waits_are_refused_or_saturate() {
    let server = TestServer::start(|request| token_reply(request).unwrap_or_else(success)).await;
    let client = builder(server.url())
        .call_timeout(Some(Duration::MAX))
        .timeout(Some(Duration::MAX))
        .build()
        .unwrap();
    patch(&client).await.unwrap();
    patch(&client).timeout(Duration::MAX).await.unwrap();

    for (what, built) in [
        (
            "zero timeout",
            builder(server.url()).timeout(Some(Duration::ZERO)).build(),
        ),
        (
            "zero call timeout",
            builder(server.url())
                .call_timeout(Some(Duration::ZERO))
                .build(),
        ),
        (
            "a jitter longer than any accepted wait",
            builder(server.url())
                .retry(RetryPolicy {
                    max_jitter: Duration::MAX,
                    ..RetryPolicy::default()
                })
                .build(),
        ),
        (
            "no response bytes",
            builder(server.url()).max_response_bytes(0).build(),
        ),
    ] {
        let err = built.expect_err(what);
        assert!(matches!(err, Error::Config(_)), "{what}: {err:?}");
    }
    let huge_jitter = RetryPolicy {
        max_jitter: Duration::MAX,
        ..RetryPolicy::default()
    };
    let err = patch(&client).retry(huge_jitter).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn a_rate_limit_reset_far_away_fails_at_once() {
    for reset in ["1e300", "18446744073709551615", "inf", "-5"] {
        let server = TestServer::start(move |request| {
            token_reply(request).unwrap_or_else(|| {
                Reply::json(429, &json!({"code": 99991400, "msg": "limited"}))
                    .header("x-ogw-ratelimit-reset", reset)
            })
        })
        .await;
        let client = builder(server.url()).build().unwrap();
        let started = Instant::now();
        let err = patch(&client).await.unwrap_err();
        assert!(matches!(err, Error::RateLimited { .. }), "{reset}: {err:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{reset}");
    }
}

#[tokio::test]
async fn no_redirect_carries_credentials_off_their_origin() {
    let elsewhere = TestServer::start(|request| token_reply(request).unwrap_or_else(success)).await;
    let target = elsewhere.url();

    // The token endpoint redirects with 307, which would re-send the app secret.
    let to = target.clone();
    let server = TestServer::start(move |request| {
        if request.path == TENANT_TOKEN_PATH {
            return Reply::raw(307, "text/plain", "moved")
                .header("location", &format!("{to}{TENANT_TOKEN_PATH}"));
        }
        success()
    })
    .await;
    let client = builder(server.url()).build().unwrap();
    let err = patch(&client).retry(RetryPolicy::none()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(307),
                ..
            }
        ),
        "{err:?}"
    );

    // An API call redirected to another origin would carry the access token there.
    let to = target.clone();
    let server = TestServer::start(move |request| {
        token_reply(request).unwrap_or_else(|| {
            Reply::raw(308, "text/plain", "moved")
                .header("location", &format!("{to}{}", request.path))
        })
    })
    .await;
    let client = builder(server.url()).build().unwrap();
    let err = patch(&client).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 308, .. }), "{err:?}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

#[tokio::test]
async fn no_redirect_is_followed_even_within_the_origin() {
    // Within the origin too: an API call carries its token, and the long connection's
    // endpoint request the app secret in its body.
    let server = TestServer::start(move |request| {
        if request.path.starts_with("/moved") {
            return success();
        }
        token_reply(request).unwrap_or_else(|| {
            Reply::raw(307, "text/plain", "moved")
                .header("location", &format!("/moved{}", request.path))
        })
    })
    .await;
    let client = builder(server.url()).build().unwrap();
    let err = patch(&client).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 307, .. }), "{err:?}");

    let connection = feishu::events::LongConnection::new(
        client.clone(),
        feishu::events::Dispatcher::builder("").build(),
    )
    .reconnect_count(Some(0));
    let err = tokio::time::timeout(Duration::from_secs(10), connection.run())
        .await
        .expect("run returned")
        .expect_err("no connection");
    assert!(err.to_string().contains("307"), "{err}");
    let moved: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/moved"))
        .collect();
    assert!(moved.is_empty(), "followed: {moved:?}");
    let with_secret = server
        .requests()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(SECRET))
        .count();
    assert_eq!(
        with_secret, 2,
        "the secret went once to the token endpoint and once to the long connection's"
    );
}

/// A server that puts everything the request carried into its error answer: headers and
/// body in `msg`, the `error` details, and (for `html`) a gateway page.
fn echoing(request: &Recorded, html: bool) -> Reply {
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value)))
        .collect();
    let echo = format!(
        "{} {}",
        headers.join("; "),
        String::from_utf8_lossy(&request.body)
    );
    if html {
        return Reply::raw(
            502,
            "text/html",
            format!("<html>bad gateway: {echo}</html>"),
        );
    }
    let body = json!({
        "code": 1234,
        "msg": format!("you sent {echo}"),
        "error": {"echo": echo, "field_violations": [{"field": "x", "value": echo, "description": echo}]},
    });
    Reply::json(400, &body)
}

#[tokio::test]
async fn secrets_a_server_echoes_never_reach_an_error() {
    let secrets = [SECRET, TENANT_TOKEN, HELPDESK_TOKEN, "u-user-token-echoed"];
    // The helpdesk header is base64 of `id:token`.
    let helpdesk_header =
        base64::engine::general_purpose::STANDARD.encode(format!("hd:{HELPDESK_TOKEN}"));
    let check = |err: &Error| {
        let shown = format!("{err} {err:?}");
        for secret in secrets.iter().chain([&helpdesk_header.as_str()]) {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
    };
    for html in [false, true] {
        let server = TestServer::start(move |request| {
            token_reply(request).unwrap_or_else(|| echoing(request, html))
        })
        .await;
        let client = builder(server.url()).build().unwrap();
        let err = patch(&client).await.unwrap_err();
        assert!(
            err.to_string().contains("***"),
            "the echo is kept, redacted: {err}"
        );
        check(&err);
        let ticket = UpdateTicketRequest::new("1", UpdateTicketBody::default());
        let err = client
            .helpdesk()
            .v1()
            .ticket()
            .update(ticket)
            .await
            .unwrap_err();
        check(&err);
        let err = client
            .raw(
                feishu::runtime::codegen::HttpMethod::Get,
                "/open-apis/x/v1/y",
            )
            .token(Some(feishu::runtime::TokenKind::User))
            .user_access_token("u-user-token-echoed")
            .await
            .unwrap_err();
        check(&err);
    }
    // The token endpoint echoes the app secret it was sent.
    let server = TestServer::start(|request| echoing(request, false)).await;
    let client = builder(server.url()).build().unwrap();
    let err = patch(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                code: Some(1234),
                ..
            }
        ),
        "{err:?}"
    );
    check(&err);
}

#[tokio::test]
async fn a_token_endpoint_failing_under_load_is_retried_by_every_caller() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let server = TestServer::start(move |request| {
        if request.path == TENANT_TOKEN_PATH {
            // The first fetch meets a 5xx, slowly, so that every caller queues behind it.
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return Reply::json(500, &json!({"code": 99991500, "msg": "internal error"}))
                    .delayed(Duration::from_millis(200));
            }
            return token_reply(request).unwrap();
        }
        success()
    })
    .await;
    let client = builder(server.url()).build().unwrap();
    let calls = (0..1000).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { patch(&client).await })
    });
    let mut failed = 0;
    for call in calls.collect::<Vec<_>>() {
        if let Err(err) = call.await.unwrap() {
            failed += 1;
            assert!(err.is_retryable(), "{err:?}");
        }
    }
    assert_eq!(failed, 0, "every call retried past the failed fetch");
    assert!(fetches.load(Ordering::SeqCst) <= 3, "{fetches:?} fetches");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_keeps_its_cause() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = builder(closed).build().unwrap();
    let err = patch(&client).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    assert!(!causes.is_empty(), "the transport failure is the source");
    let chain = causes.join(": ").to_lowercase();
    assert!(chain.contains("connect"), "{chain}");
}

/// A server that reads a request, then sends an answer's head one byte every 100 ms,
/// forever (a slow-headers server): to the token endpoint too when `token_too`.
async fn dripping_server(token_too: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                if !token_too && String::from_utf8_lossy(&head).contains(TENANT_TOKEN_PATH) {
                    let _ = socket.write_all(&token_answer("7200")).await;
                    return;
                }
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nx-slow: ").await;
                while socket.write_all(b"a").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn slow_headers_fail_at_the_timeout_instead_of_hanging() {
    for token_too in [false, true] {
        let url = dripping_server(token_too).await;
        let client = builder(url)
            .timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = patch(&client).retry(RetryPolicy::none()).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call ended ({token_too}): {:?}",
            started.elapsed()
        );
        if token_too {
            assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        } else {
            assert!(err.is_timeout(), "{err:?}");
        }
    }
}

//! Every endpoint, called through the generated client against a real HTTP server on
//! 127.0.0.1: the request must be what the spec documents, the documented response must
//! come back typed, and every documented error code must come back as a typed error.

use base64::Engine;
use feishu::runtime::TokenKind;
use feishu::runtime::codegen::{Envelope, Host};
use feishu::{BaseUrl, Client, Error};
use feishu_tests::endpoints::{
    self, CallOptions, expected_path, expected_query, payload_json, request_json, success_body,
};
use feishu_tests::server::{
    APP_TOKEN, APP_TOKEN_PATH, Recorded, Reply, TENANT_TOKEN, TENANT_TOKEN_PATH, TestServer,
    token_reply,
};
use serde_json::json;

const APP_ID: &str = "cli_test_app";
const APP_SECRET: &str = "test-app-secret";
const HELPDESK_ID: &str = "7000000000000000001";
const HELPDESK_TOKEN: &str = "ht-helpdesk-token";
const USER_TOKEN: &str = "u-test-user-token";
/// Feishu's rate-limit code, under any HTTP status.
const RATE_LIMITED: i64 = 99991400;

fn client(server: &TestServer) -> Client {
    Client::builder(APP_ID, APP_SECRET)
        .base_url(BaseUrl::Custom(server.url()))
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .build()
        .expect("client builds")
}

/// The token a test call uses: a user token where only user tokens are accepted.
fn user_token_for(endpoint: &endpoints::Endpoint) -> Option<String> {
    (endpoint.meta.tokens == [TokenKind::User]).then(|| USER_TOKEN.to_owned())
}

/// Whether the endpoint under test is called without a token: then the client fetches
/// none, and the server answers every request as that endpoint (the token endpoints are
/// such endpoints themselves).
fn tokenless(endpoint: &endpoints::Endpoint) -> bool {
    endpoint.meta.tokens.is_empty()
}

/// The server's handler: Feishu's token endpoints, then `reply` for the endpoint.
fn serving(
    endpoint: &endpoints::Endpoint,
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let tokenless = tokenless(endpoint);
    move |request| match token_reply(request) {
        Some(token) if !tokenless => token,
        _ => reply(),
    }
}

/// The one API request among those recorded (the others fetch tokens).
fn api_request(recorded: Vec<Recorded>, endpoint: &endpoints::Endpoint) -> Recorded {
    let id = endpoint.meta.id;
    let mut api: Vec<Recorded> = recorded
        .into_iter()
        .filter(|r| tokenless(endpoint) || !is_token_path(&r.path))
        .collect();
    assert_eq!(api.len(), 1, "{id}: expected one API request, got {api:?}");
    api.remove(0)
}

fn is_token_path(path: &str) -> bool {
    path == TENANT_TOKEN_PATH || path == APP_TOKEN_PATH
}

/// One attempt per call, so an answer comes back as it is.
fn once(endpoint: &endpoints::Endpoint) -> CallOptions {
    CallOptions {
        retry: Some(feishu::RetryPolicy {
            max_attempts: 1,
            ..feishu::RetryPolicy::default()
        }),
        ..CallOptions::user(user_token_for(endpoint))
    }
}

#[tokio::test]
async fn every_endpoint_sends_what_its_doc_page_documents() {
    for (loaded, endpoint) in endpoints::with_specs() {
        let id = loaded.id.dotted();
        let spec = &loaded.spec;
        let request_sent = request_json(&loaded);
        let payload = payload_json(&loaded);
        let reply_body = success_body(&loaded, payload.clone());
        let server = TestServer::start(serving(&endpoint, move || {
            Reply::json(200, &reply_body).header("X-Tt-Logid", "log-ok")
        }))
        .await;
        let client = client(&server);

        let data = (endpoint.call)(
            &client,
            request_sent.clone(),
            CallOptions::user(user_token_for(&endpoint)),
        )
        .await
        .unwrap_or_else(|err| panic!("{id}: the call failed: {err}"));
        assert_eq!(
            data, payload,
            "{id}: the typed response differs from the documented payload"
        );

        let recorded = server.take_requests();
        // Without a user token, the client acts as the app with the first app token kind
        // the endpoint takes, fetching that token first.
        let app_kind = match user_token_for(&endpoint) {
            Some(_) => None,
            None => endpoint.meta.tokens.iter().find(|t| **t != TokenKind::User),
        };
        let (fetch_path, token) = match app_kind {
            Some(TokenKind::Tenant) => (Some(TENANT_TOKEN_PATH), TENANT_TOKEN),
            Some(_) => (Some(APP_TOKEN_PATH), APP_TOKEN),
            None => (None, USER_TOKEN),
        };
        let token_fetches: Vec<&Recorded> = recorded
            .iter()
            .filter(|r| !tokenless(&endpoint) && is_token_path(&r.path))
            .collect();
        assert_eq!(
            token_fetches
                .iter()
                .map(|r| r.path.as_str())
                .collect::<Vec<_>>(),
            fetch_path.into_iter().collect::<Vec<_>>(),
            "{id}: token fetches"
        );
        if let Some(fetch) = token_fetches.first() {
            assert_eq!(fetch.method, "POST");
            assert_eq!(
                fetch.json(),
                json!({"app_id": APP_ID, "app_secret": APP_SECRET}),
                "{id}: token request body"
            );
        }
        let request = api_request(recorded, &endpoint);
        assert_eq!(request.method, spec.method.as_str(), "{id}: method");
        assert_eq!(
            request.path,
            expected_path(spec, &request_sent),
            "{id}: path"
        );
        assert_eq!(
            request.query_pairs(),
            expected_query(spec, &request_sent),
            "{id}: query"
        );
        let expected_auth = format!("Bearer {token}");
        if spec.tokens.is_empty() {
            assert_eq!(
                request.header("authorization"),
                None,
                "{id}: no token is documented"
            );
        } else {
            assert_eq!(
                request.header("authorization"),
                Some(expected_auth.as_str()),
                "{id}: Authorization"
            );
        }
        let helpdesk = request.header("x-lark-helpdesk-authorization");
        if spec.helpdesk {
            let expected = base64::engine::general_purpose::STANDARD
                .encode(format!("{HELPDESK_ID}:{HELPDESK_TOKEN}"));
            assert_eq!(
                helpdesk,
                Some(expected.as_str()),
                "{id}: helpdesk header, exact bytes, no Bearer"
            );
        } else {
            assert_eq!(
                helpdesk, None,
                "{id}: the helpdesk header goes only where documented"
            );
        }
        assert_eq!(
            request.header("user-agent"),
            Some(feishu::runtime::wire::USER_AGENT),
            "{id}: user agent"
        );

        match &spec.request_body {
            Some(_) => {
                assert_eq!(
                    request.header("content-type"),
                    Some("application/json; charset=utf-8"),
                    "{id}: content type"
                );
                let sent = request.json();
                assert_eq!(sent, request_sent["body"], "{id}: body");
            }
            None => assert!(request.body.is_empty(), "{id}: no body is documented"),
        }
    }
}

/// Calls the endpoint by method and path, as a user would for an endpoint the crate does
/// not generate, sending what `typed` (the generated call's request) sent.
async fn raw_call(
    client: &Client,
    endpoint: &endpoints::Endpoint,
    typed: &Recorded,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let meta = endpoint.meta;
    let mut call = client
        .raw(meta.method, typed.path.clone())
        .retry(once(endpoint).retry.expect("`once` sets a retry policy"));
    for (name, value) in typed.query_pairs() {
        call = call.query(name, &value);
    }
    if let Some(body) = body {
        call = call.body(body);
    }
    match user_token_for(endpoint) {
        Some(token) => call.user_access_token(token).await,
        None => {
            let app_token = meta.tokens.iter().find(|t| **t != TokenKind::User);
            call.token(app_token.copied()).await
        }
    }
}

#[tokio::test]
async fn a_raw_call_sends_what_the_generated_call_sends() {
    let mut checked = 0;
    for (loaded, endpoint) in endpoints::with_specs() {
        let meta = endpoint.meta;
        // A raw call reaches the Open Platform host, reads `data`, and sends only the
        // headers it is given.
        if meta.host != Host::Open || meta.envelope != Envelope::Data || meta.helpdesk {
            continue;
        }
        let id = loaded.id.dotted();
        let request_sent = request_json(&loaded);
        let reply_body = success_body(&loaded, payload_json(&loaded));
        let data = reply_body.get("data").cloned().unwrap_or(json!({}));
        let server =
            TestServer::start(serving(&endpoint, move || Reply::json(200, &reply_body))).await;
        let client = client(&server);
        (endpoint.call)(&client, request_sent.clone(), once(&endpoint))
            .await
            .unwrap_or_else(|err| panic!("{id}: the generated call failed: {err}"));
        let typed = api_request(server.take_requests(), &endpoint);
        let body = loaded
            .spec
            .request_body
            .is_some()
            .then(|| request_sent["body"].clone());
        let raw_data = raw_call(&client, &endpoint, &typed, body)
            .await
            .unwrap_or_else(|err| panic!("{id}: the raw call failed: {err}"));
        assert_eq!(raw_data, data, "{id}: the raw call returns `data` as sent");
        let raw = api_request(server.take_requests(), &endpoint);
        assert_eq!(
            (&raw.method, &raw.path, &raw.query),
            (&typed.method, &typed.path, &typed.query),
            "{id}: method, path and query"
        );
        for header in ["authorization", "content-type", "user-agent"] {
            assert_eq!(raw.header(header), typed.header(header), "{id}: {header}");
        }
        if !typed.body.is_empty() {
            assert_eq!(raw.json(), typed.json(), "{id}: body");
        }
        checked += 1;
    }
    assert!(checked > 0, "spec/ has no endpoint a raw call can reach");
}

#[tokio::test]
async fn a_raw_call_fails_as_typed_as_a_generated_one() {
    let server = TestServer::start(|request: &Recorded| {
        token_reply(request).unwrap_or_else(|| {
            Reply::json(
                400,
                &json!({"code": 232_001, "msg": "invalid chat", "error": {"log_id": "log-raw"}}),
            )
            .header("X-Tt-Logid", "log-raw")
        })
    })
    .await;
    let client = client(&server);
    let method = feishu::runtime::codegen::HttpMethod::Get;
    let err = client
        .raw(method, "/open-apis/im/v1/chats/oc_1")
        .await
        .expect_err("a Feishu error fails the call");
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(
        (api.code, api.status, api.msg.as_str()),
        (232_001, 400, "invalid chat")
    );
    assert_eq!(api.endpoint, "raw GET");
    assert_eq!(err.log_id(), Some("log-raw"));

    server.take_requests();
    let err = client
        .raw(method, "/open-apis/im/v1/chats?page_size=1")
        .await
        .expect_err("a query in the path is refused");
    assert!(
        matches!(&err, Error::InvalidRequest { violations, .. } if violations[0].field == "path"),
        "{err:?}"
    );
    assert!(server.take_requests().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn every_documented_error_code_comes_back_typed() {
    let mut checked = 0;
    for (loaded, endpoint) in endpoints::with_specs() {
        let id = loaded.id.dotted();
        let server = TestServer::start(serving(&endpoint, || Reply::json(500, &json!({})))).await;
        let client = client(&server);
        checked += loaded.spec.errors.len();
        for documented in &loaded.spec.errors {
            let status = documented.http_status.unwrap_or(400);
            let code = *documented.code;
            let message = documented.message.clone();
            server.set_handler(serving(&endpoint, move || {
                Reply::json(
                    status,
                    &json!({"code": code, "msg": message, "error": {"log_id": "log-e"}}),
                )
                .header("X-Tt-Logid", &format!("log-{code}"))
            }));
            let err = (endpoint.call)(&client, request_json(&loaded), once(&endpoint))
                .await
                .expect_err("an error reply fails the call");
            if status == 429 || code == RATE_LIMITED {
                // Feishu's rate limit, whatever the page calls it, is the client's to handle.
                assert!(
                    matches!(&err, Error::RateLimited { status: s, .. } if *s == status),
                    "{id} {code}: {err:?}"
                );
                continue;
            }
            let Error::Api(api) = &err else {
                panic!("{id} {code}: expected an API error, got {err:?}")
            };
            assert_eq!(api.endpoint, id);
            assert_eq!(api.code, code, "{id}: code");
            assert_eq!(api.status, status, "{id} {code}: status");
            assert_eq!(api.msg, documented.message, "{id} {code}: msg");
            assert_eq!(
                err.log_id(),
                Some(format!("log-{code}").as_str()),
                "{id} {code}: log id"
            );
            let doc = api
                .documented
                .unwrap_or_else(|| panic!("{id} {code}: the documented meaning is attached"));
            assert_eq!(
                (doc.code, doc.hint, doc.http_status),
                (code, documented.hint.as_str(), documented.http_status)
            );
            assert_eq!(api.details, Some(json!({"log_id": "log-e"})));
            assert!(
                err.to_string().contains(&code.to_string()),
                "{id}: Display names the code"
            );
        }
    }
    assert!(checked > 0, "spec/ documents no error code");
}

#[tokio::test]
async fn a_non_json_response_is_a_decode_error_with_a_bounded_snippet() {
    for (loaded, endpoint) in endpoints::with_specs() {
        let id = loaded.id.dotted();
        let page = format!(
            "<html><body>502 Bad Gateway{}</body></html>",
            " ".repeat(4000)
        );
        let server = TestServer::start(serving(&endpoint, move || {
            Reply::raw(502, "text/html", page.clone()).header("X-Tt-Logid", "log-gw")
        }))
        .await;
        let client = client(&server);
        let err = (endpoint.call)(&client, request_json(&loaded), once(&endpoint))
            .await
            .expect_err("HTML fails");
        match &err {
            Error::Decode {
                status,
                snippet,
                log_id,
                ..
            } => {
                assert_eq!(*status, 502, "{id}");
                assert!(
                    snippet.starts_with("<html><body>502 Bad Gateway"),
                    "{id}: {snippet:?}"
                );
                assert!(
                    snippet.len() <= feishu::runtime::SNIPPET_LEN,
                    "{id}: the snippet is bounded"
                );
                assert_eq!(log_id.as_deref(), Some("log-gw"));
            }
            other => panic!("{id}: expected a decode error, got {other:?}"),
        }
    }
}

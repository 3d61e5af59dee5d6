//! The client runtime against the local Feishu emulator, over real HTTP on 127.0.0.1:
//! the token lifecycle, rate limits, retries, each error kind, and the emulator's own
//! Feishu-like checks. Endpoints are picked from spec/ by what they document (token kinds,
//! method), so no test names one.

use std::time::{Duration, Instant};

use feishu::runtime::TokenKind;
use feishu::runtime::codegen::PageTokenIn;
use feishu::runtime::wire::HELPDESK_HEADER;
use feishu::{Client, Error, RetryPolicy};
use feishu_emulator::{Emulator, Fault, Target, codes};
use feishu_tests::endpoints::{self, CallOptions, request_json};
use serde_json::Value;

const USER_TOKEN: &str = "u-emulator-user-token";
const HELPDESK_ID: &str = "7000000000000000001";
const HELPDESK_TOKEN: &str = "ht-helpdesk-secret";

/// One endpoint, ready to call with its doc example.
struct Case {
    id: &'static str,
    meta: &'static feishu::runtime::codegen::Endpoint,
    request: Value,
    /// Whether the page says the page token must be sent.
    page_token_required: bool,
    call: for<'a> fn(&'a Client, Value, CallOptions) -> endpoints::CallFuture<'a>,
}

impl Case {
    /// Calls the endpoint, acting for a user where only user tokens are accepted.
    async fn call(&self, client: &Client, options: CallOptions) -> Result<Value, Error> {
        let options = CallOptions {
            user_access_token: options
                .user_access_token
                .or_else(|| (self.meta.tokens == [TokenKind::User]).then(|| USER_TOKEN.to_owned())),
            ..options
        };
        (self.call)(client, self.request.clone(), options).await
    }

    /// The request for a list's first page: the example's page token is one the emulator
    /// never handed out, and a list it keeps (the chats made by an earlier case) refuses it
    /// as Feishu would. A token the page requires stays (no list is kept for those).
    fn first_page(mut self) -> Self {
        if let Some(paging) = self.meta.paging.filter(|_| !self.page_token_required) {
            let holder = match paging.token_in {
                PageTokenIn::Query => Some(&mut self.request),
                PageTokenIn::Body => self.request.get_mut("body"),
            };
            if let Some(Value::Object(fields)) = holder {
                fields.remove(paging.request_token);
            }
        }
        self
    }

    fn takes_app_tokens(&self) -> bool {
        self.meta.tokens.contains(&TokenKind::Tenant)
    }
}

fn cases() -> Vec<Case> {
    endpoints::emulated()
        .into_iter()
        .map(|(loaded, endpoint)| Case {
            id: endpoint.meta.id,
            meta: endpoint.meta,
            request: request_json(&loaded),
            page_token_required: page_token_required(&loaded, endpoint.meta),
            call: endpoint.call,
        })
        .collect()
}

fn page_token_required(
    loaded: &feishu_spec::LoadedEndpoint,
    meta: &feishu::runtime::codegen::Endpoint,
) -> bool {
    let Some(paging) = meta.paging else {
        return false;
    };
    let spec = &loaded.spec;
    let body_fields = spec
        .request_body
        .iter()
        .flat_map(|body| body.value.fields.iter().flatten());
    spec.query_params
        .iter()
        .chain(body_fields)
        .any(|field| field.name.value == paging.request_token && field.required)
}

/// The first endpoint that fits `what`; the spec must have one.
fn case(what: &str, fits: impl Fn(&Case) -> bool) -> Case {
    cases()
        .into_iter()
        .find(|c| fits(c))
        .unwrap_or_else(|| panic!("spec/ has no endpoint that {what}"))
}

/// An endpoint called with the app's tenant token.
fn tenant_case() -> Case {
    case("takes a tenant_access_token", Case::takes_app_tokens)
}

async fn emulator() -> Emulator {
    Emulator::builder()
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .user_token(USER_TOKEN)
        .start()
        .await
}

/// Short backoffs, so retry tests are quick.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        max_jitter: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

fn client(emulator: &Emulator) -> Client {
    emulator
        .client_builder()
        .retry(quick_retries())
        .build()
        .unwrap()
}

fn api_requests(emulator: &Emulator) -> usize {
    emulator.requests().len() - emulator.token_requests()
}

#[tokio::test]
async fn every_endpoint_answers_through_the_emulator() {
    let emulator = emulator().await;
    let client = client(&emulator);
    for case in cases() {
        let case = case.first_page();
        case.call(&client, CallOptions::default())
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", case.id));
    }
    assert_eq!(api_requests(&emulator), cases().len());
    // One tenant token and one app token served every call that needed one.
    assert!(emulator.token_requests() <= 2);
}

#[tokio::test]
async fn a_thousand_concurrent_calls_on_a_cold_cache_fetch_one_token() {
    let emulator = emulator().await;
    // A slow token endpoint keeps every caller waiting on the same fetch.
    emulator.inject(
        Target::Auth,
        Fault::Slow {
            delay: Duration::from_millis(300),
        },
        1,
    );
    let client = client(&emulator);
    let case = std::sync::Arc::new(tenant_case());
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (client, case) = (client.clone(), case.clone());
        calls.spawn(async move { case.call(&client, CallOptions::default()).await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(emulator.token_requests(), 1);
    assert_eq!(api_requests(&emulator), 1000);
}

#[tokio::test]
async fn separate_clients_keep_separate_caches() {
    let emulator = emulator().await;
    let case = tenant_case();
    let (a, b) = (client(&emulator), client(&emulator));
    for client in [&a, &b, &a, &b] {
        case.call(client, CallOptions::default()).await.unwrap();
    }
    assert_eq!(emulator.token_requests(), 2);
}

#[tokio::test]
async fn tokens_are_refreshed_the_margin_before_they_expire() {
    // Tokens live 2 s; with a 1 s margin (at most half the lifetime) the client
    // refreshes after 1 s.
    let emulator = Emulator::builder()
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .token_ttl(Duration::from_secs(2))
        .start()
        .await;
    let client = emulator
        .client_builder()
        .token_refresh_margin(Duration::from_secs(1))
        .build()
        .unwrap();
    let case = tenant_case();
    case.call(&client, CallOptions::default()).await.unwrap();
    case.call(&client, CallOptions::default()).await.unwrap();
    assert_eq!(emulator.token_requests(), 1, "cached within the margin");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    case.call(&client, CallOptions::default()).await.unwrap();
    assert_eq!(
        emulator.token_requests(),
        2,
        "refreshed once the margin is reached"
    );
    // Never an expired token on the wire: every API call was accepted the first time.
    assert_eq!(api_requests(&emulator), 3);
}

#[tokio::test]
async fn an_expired_token_is_evicted_and_the_call_repeated_once() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    case.call(&client, CallOptions::default()).await.unwrap();

    // The tokens expire mid-run while the client still holds one: code 99991663.
    emulator.expire_tokens();
    emulator.take_requests();
    case.call(&client, CallOptions::default())
        .await
        .expect("a fresh token saves the call");
    let requests = emulator.take_requests();
    let tokens: Vec<_> = requests
        .iter()
        .filter(|r| !r.path.contains("/auth/"))
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2, "the call, then its one repeat");
    assert_ne!(tokens[0], tokens[1], "the repeat carries the new token");
    assert_eq!(requests.len() - tokens.len(), 1, "one new token");

    // Retries off: the repeat after a refused token still happens.
    emulator.expire_tokens();
    case.call(
        &client,
        CallOptions {
            retry: Some(RetryPolicy::none()),
            ..CallOptions::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_second_refusal_of_a_fresh_token_is_returned() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    // A revoked token, twice: the repeat is refused too.
    emulator.inject(Target::Api, Fault::Unauthorized, 2);
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    let api = err.as_api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((api.status, api.code), (400, codes::INVALID_TENANT_TOKEN));
    assert!(api.is_invalid_token() && !err.is_retryable());
    assert_eq!(api_requests(&emulator), 2, "exactly one repeat");
    assert_eq!(
        emulator.token_requests(),
        2,
        "the refused token was replaced once"
    );
}

#[tokio::test]
async fn a_documented_401_about_something_else_keeps_the_token() {
    let emulator = emulator().await;
    let case = case("is a helpdesk endpoint taking tenant tokens", |c| {
        c.meta.helpdesk && c.takes_app_tokens()
    });
    // Wrong helpdesk credentials: the page's own 401 code, not a token refusal.
    let client = emulator
        .client_builder()
        .helpdesk(HELPDESK_ID, "wrong-helpdesk-token")
        .build()
        .unwrap();
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    let api = err.as_api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(api.status, 401);
    assert!(
        api.documented.is_some() && !api.is_invalid_token(),
        "{api:?}"
    );
    assert_eq!(api_requests(&emulator), 1, "not repeated");
    assert_eq!(emulator.token_requests(), 1, "the token was kept");
}

#[tokio::test]
async fn a_refused_user_token_is_not_retried() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = case("takes a user_access_token", |c| {
        c.meta.tokens.contains(&TokenKind::User)
    });
    let err = case
        .call(&client, CallOptions::user(Some("u-revoked".to_owned())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(codes::INVALID_USER_TOKEN), "{err}");
    assert_eq!(api_requests(&emulator), 1);
}

#[tokio::test]
async fn a_rate_limited_call_waits_for_the_reset_and_succeeds() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    case.call(&client, CallOptions::default()).await.unwrap();
    emulator.take_requests();

    emulator.inject(Target::Api, Fault::rate_limited(1), 1);
    let started = Instant::now();
    case.call(&client, CallOptions::default()).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "waited the reset: {took:?}");
    assert!(
        took < Duration::from_millis(1400),
        "jitter stays bounded: {took:?}"
    );
    assert_eq!(api_requests(&emulator), 2);

    // Code 99991400 under HTTP 400 and no reset header: exponential backoff.
    emulator.take_requests();
    emulator.inject(
        Target::Api,
        Fault::RateLimited {
            status: 400,
            reset: None,
        },
        2,
    );
    let started = Instant::now();
    case.call(&client, CallOptions::default()).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(api_requests(&emulator), 3);
}

#[tokio::test]
async fn a_rate_limit_wait_never_runs_past_the_deadline() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    emulator.inject(Target::Api, Fault::rate_limited(5), 1);
    let started = Instant::now();
    let err = case
        .call(
            &client,
            CallOptions {
                timeout: Some(Duration::from_secs(2)),
                ..CallOptions::default()
            },
        )
        .await
        .unwrap_err();
    // Sleeping until the deadline would take 2 s; failing at once takes milliseconds (a
    // loaded machine has been seen to take 0.5 s).
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "fails at once rather than sleep into the deadline: {:?}",
        started.elapsed()
    );
    match &err {
        Error::RateLimited {
            attempts: 1,
            retry_after: Some(after),
            status: 429,
            log_id: Some(_),
            ..
        } => assert_eq!(*after, Duration::from_secs(5)),
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.code(), Some(feishu::runtime::wire::RATE_LIMIT_CODE));
}

#[tokio::test]
async fn rate_limit_retries_are_bounded() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    emulator.inject(Target::Api, Fault::rate_limited(0), 10);
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(api_requests(&emulator), 3);

    emulator.take_requests();
    let err = case
        .call(
            &client,
            CallOptions {
                retry: Some(RetryPolicy::none()),
                ..CallOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(api_requests(&emulator), 1, "retries off: one attempt");
}

#[tokio::test]
async fn non_idempotent_calls_are_not_retried_after_a_server_error_by_default() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = case("is a tenant-token POST or PATCH", |c| {
        !c.meta.method.is_idempotent() && c.takes_app_tokens()
    });
    case.call(&client, CallOptions::default()).await.unwrap();

    for fault in [Fault::ServerError { status: 503 }, Fault::Disconnect] {
        emulator.take_requests();
        emulator.inject(Target::Api, fault.clone(), 1);
        let err = case
            .call(&client, CallOptions::default())
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{fault:?}: {err:?}");
        assert_eq!(api_requests(&emulator), 1, "{fault:?}: not repeated");
    }

    // Opted in, the write is repeated.
    emulator.take_requests();
    emulator.inject(Target::Api, Fault::ServerError { status: 503 }, 1);
    let retry = RetryPolicy {
        retry_non_idempotent: true,
        ..quick_retries()
    };
    case.call(
        &client,
        CallOptions {
            retry: Some(retry),
            ..CallOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(api_requests(&emulator), 2);
}

#[tokio::test]
async fn idempotent_calls_are_retried_after_server_errors_and_gateway_pages() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = case("is a PUT, GET or DELETE", |c| c.meta.method.is_idempotent());
    emulator.inject(Target::Api, Fault::ServerError { status: 500 }, 1);
    emulator.inject(Target::Api, Fault::HtmlGateway { status: 502 }, 1);
    emulator.inject(Target::Api, Fault::Disconnect, 1);
    let four_attempts = CallOptions {
        retry: Some(RetryPolicy {
            max_attempts: 4,
            ..quick_retries()
        }),
        ..CallOptions::default()
    };
    case.call(&client, four_attempts)
        .await
        .expect("the fourth attempt succeeds");
    assert_eq!(api_requests(&emulator), 4);

    // With the default three attempts, three failures end the call with the last one.
    emulator.take_requests();
    emulator.inject(Target::Api, Fault::ServerError { status: 503 }, 3);
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.as_api().map(|api| api.status), Some(503), "{err:?}");
    assert_eq!(api_requests(&emulator), 3);
}

#[tokio::test]
async fn each_error_kind() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let case = tenant_case();
    let no_retry = || CallOptions {
        retry: Some(RetryPolicy::none()),
        ..CallOptions::default()
    };

    // Decode: an HTML gateway page, with a bounded snippet and the status.
    emulator.inject(Target::Api, Fault::HtmlGateway { status: 502 }, 1);
    let err = case.call(&client, no_retry()).await.unwrap_err();
    match &err {
        Error::Decode {
            status: 502,
            snippet,
            ..
        } => {
            assert!(snippet.starts_with("<html>") && snippet.len() <= feishu::runtime::SNIPPET_LEN)
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());

    // Decode: truncated JSON under 200 is not retryable (the call may have taken effect).
    emulator.inject(Target::Api, Fault::TruncatedJson, 1);
    let err = case.call(&client, no_retry()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Decode {
                status: 200,
                log_id: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable() && err.log_id().is_some());

    // Transport: the client's own request timeout.
    let impatient = emulator
        .client_builder()
        .timeout(Some(Duration::from_millis(200)))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    case.call(&impatient, CallOptions::default()).await.unwrap();
    emulator.inject(
        Target::Api,
        Fault::Slow {
            delay: Duration::from_secs(3),
        },
        1,
    );
    let err = case
        .call(&impatient, CallOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport { .. }) && err.is_timeout() && err.is_retryable(),
        "{err:?}"
    );

    // Timeout: the call's deadline, also while waiting for a token.
    let cold = emulator.client_builder().build().unwrap();
    emulator.inject(
        Target::Auth,
        Fault::Slow {
            delay: Duration::from_secs(3),
        },
        1,
    );
    let started = Instant::now();
    let err = case
        .call(
            &cold,
            CallOptions {
                timeout: Some(Duration::from_millis(200)),
                ..CallOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Transport: nothing listens.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let nowhere = Client::builder("cli_x", "secret")
        .base_url(feishu::BaseUrl::Custom(format!("http://{closed}")))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = case
        .call(&nowhere, CallOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth { code: None, .. }) && err.is_retryable(),
        "the token fetch cannot connect: {err:?}"
    );

    // Auth: wrong credentials; Feishu's code, not retryable.
    let wrong = Client::builder(feishu_emulator::DEFAULT_APP_ID, "wrong-secret")
        .base_url(feishu::BaseUrl::Custom(emulator.url()))
        .build()
        .unwrap();
    let err = case.call(&wrong, CallOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Auth {
                code: Some(codes::AUTH_INVALID_SECRET),
                log_id: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn field_and_permission_violations_come_back_typed() {
    use feishu_tests::server::{Reply, TestServer, token_reply};
    let body = serde_json::json!({
        "code": 99992402,
        "msg": "field validation failed",
        "error": {
            "log_id": "log-from-body",
            "field_violations": [{"field": "user_id", "value": "", "description": "required"}],
            "permission_violations": [{"type": "action_privilege_required", "subject": "im:chat", "description": "missing"}],
            "helps": [{"url": "https://open.feishu.cn", "description": "docs"}]
        }
    });
    let server =
        TestServer::start(move |r| token_reply(r).unwrap_or_else(|| Reply::json(400, &body))).await;
    let client = Client::builder("cli_x", "secret")
        .base_url(feishu::BaseUrl::Custom(server.url()))
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .build()
        .unwrap();
    let case = tenant_case();
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.field_violations.len(), 1);
    assert_eq!(api.field_violations[0].field, "user_id");
    assert_eq!(api.field_violations[0].value.as_deref(), Some(""));
    assert_eq!(
        api.permission_violations[0].kind,
        "action_privilege_required"
    );
    assert_eq!(api.permission_violations[0].subject, "im:chat");
    assert_eq!(
        err.log_id(),
        Some("log-from-body"),
        "no header: the body's log id"
    );
    let text = err.to_string();
    assert!(
        text.contains("user_id: required") && text.contains("im:chat"),
        "{text}"
    );
}

#[tokio::test]
async fn the_emulator_refuses_like_feishu() {
    let emulator = emulator().await;
    let client = client(&emulator);
    feishu::install_crypto_provider();
    let http = reqwest::Client::new();
    // A valid tenant token, fetched by a client.
    tenant_case()
        .call(&client, CallOptions::default())
        .await
        .unwrap();
    let last_token = || {
        emulator
            .requests()
            .iter()
            .rev()
            .find_map(|r| r.header("authorization").map(str::to_owned))
            .unwrap()
    };
    let tenant_token = last_token();
    // And a valid app token, where an endpoint takes only that.
    case("takes only an app_access_token", |c| {
        c.meta.tokens == [TokenKind::App]
    })
    .call(&client, CallOptions::default())
    .await
    .unwrap();
    let app_token = last_token();
    let helpdesk_value = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{HELPDESK_ID}:{HELPDESK_TOKEN}"))
    };

    for case in cases() {
        let path = case.meta.path.replace(':', "p-");
        let url = format!("{}{path}", emulator.url());
        let method = reqwest::Method::from_bytes(case.meta.method.as_str().as_bytes()).unwrap();
        let token = if case.takes_app_tokens() {
            tenant_token.clone()
        } else if case.meta.tokens.contains(&TokenKind::App) {
            app_token.clone()
        } else {
            format!("Bearer {USER_TOKEN}")
        };
        let send = |authorization: Option<&str>, helpdesk: Option<&str>, body: &str| {
            let mut request = http.request(method.clone(), &url).body(body.to_owned());
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            if let Some(value) = helpdesk {
                request = request.header(HELPDESK_HEADER, value);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap();
                let body: Value = serde_json::from_slice(&bytes).unwrap();
                (status, body)
            }
        };
        let helpdesk = case.meta.helpdesk.then_some(helpdesk_value.as_str());
        let valid_body = case
            .request
            .get("body")
            .map_or("{}".to_owned(), Value::to_string);

        if !case.meta.tokens.is_empty() {
            let (status, body) = send(None, helpdesk, &valid_body).await;
            assert_eq!(
                (status, body["code"].as_i64()),
                (400, Some(codes::MISSING_TOKEN)),
                "{}",
                case.id
            );
        }

        if case.meta.helpdesk {
            // One SDK sends "Bearer" in the helpdesk header; Feishu refuses it.
            let bearer = format!("Bearer {helpdesk_value}");
            let (status, body) = send(Some(&token), Some(&bearer), &valid_body).await;
            let expected = case
                .meta
                .errors
                .iter()
                .find(|e| e.http_status == Some(401))
                .map_or(codes::HELPDESK_UNAUTHORIZED, |e| e.code);
            assert_eq!(
                (status, body["code"].as_i64()),
                (401, Some(expected)),
                "{}",
                case.id
            );
        }

        if case.request.get("body").is_some() {
            let (status, body) = send(Some(&token), helpdesk, "[1, 2]").await;
            assert_eq!(status, 400, "{}: {body}", case.id);
            assert!(
                body["error"]["field_violations"][0]["description"].is_string(),
                "{}: {body}",
                case.id
            );
        }

        let (status, body) = send(Some(&token), helpdesk, &valid_body).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (200, Some(0)),
            "{}: {body}",
            case.id
        );
    }
}

#[tokio::test]
async fn marketplace_apps_use_the_app_ticket_and_per_tenant_tokens() {
    let emulator = Emulator::builder()
        .marketplace_app("cli_market", "market-secret")
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .start()
        .await;
    let client = emulator.marketplace_client_builder().build().unwrap();
    assert!(client.is_marketplace());
    let case = tenant_case();
    let tenant = |key: &str| CallOptions {
        tenant_key: Some(key.to_owned()),
        ..CallOptions::default()
    };

    // Without a tenant key the call is refused before any I/O.
    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("tenant_key")),
        "{err:?}"
    );
    assert!(emulator.requests().is_empty());

    // No ticket yet: the client asks Feishu to resend it and says what to do.
    let err = case.call(&client, tenant("tenant-a")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth { message, .. } if message.contains("set_app_ticket")),
        "{err:?}"
    );
    assert_eq!(emulator.app_ticket_resends(), 1);

    client.set_app_ticket(emulator.issue_app_ticket());
    emulator.take_requests();
    let mut sent = Vec::new();
    for key in ["tenant-a", "tenant-b", "tenant-a", "tenant-b"] {
        case.call(&client, tenant(key)).await.unwrap();
        let token = emulator
            .requests()
            .last()
            .unwrap()
            .header("authorization")
            .unwrap()
            .to_owned();
        assert_eq!(
            emulator
                .tenant_of(token.trim_start_matches("Bearer "))
                .as_deref(),
            Some(key)
        );
        sent.push(token);
    }
    assert_eq!(sent[0], sent[2], "tenant-a's token is reused");
    assert_eq!(sent[1], sent[3], "tenant-b's token is reused");
    assert_ne!(sent[0], sent[1], "each tenant has its own token");
    let requests = emulator.take_requests();
    let tenant_keys: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/open-apis/auth/v3/tenant_access_token")
        .map(|r| r.json()["tenant_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tenant_keys, ["tenant-a", "tenant-b"]);
    let paths: Vec<String> = requests
        .into_iter()
        .filter(|r| r.path.contains("/auth/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/open-apis/auth/v3/app_access_token",
            "/open-apis/auth/v3/tenant_access_token",
            "/open-apis/auth/v3/tenant_access_token",
        ],
        "one app token, then one tenant token per tenant"
    );

    // An internal app has no tenants to pick.
    let internal = Emulator::start().await;
    let internal_client = internal.client_builder().build().unwrap();
    let err = case
        .call(&internal_client, tenant("tenant-a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

/// Whether the field has a maximum length small enough to exceed in a test (some pages
/// give 2^32).
fn breakable(field: &feishu_spec::model::Field) -> bool {
    field.rules.max_length.is_some_and(|max| max < 10_000)
}

/// Makes `value` break the first documented maximum length among `fields` that the example
/// fills in, and returns the broken field's path in the body.
fn break_a_length_rule(
    fields: &[feishu_spec::model::Field],
    value: &mut Value,
    at: &str,
) -> Option<String> {
    for field in fields {
        let path = if at.is_empty() {
            field.name.value.clone()
        } else {
            format!("{at}.{}", field.name.value)
        };
        match value.get_mut(field.name.value.as_str()) {
            // An enum's value is one of its variants, whatever length the page allows.
            Some(Value::String(text)) if breakable(field) && field.options.is_empty() => {
                let max = field.rules.max_length.unwrap() as usize;
                *text = "长".repeat(max + 1);
                return Some(path);
            }
            Some(Value::Array(items)) if breakable(field) => {
                let max = field.rules.max_length.unwrap() as usize;
                let first = items.first()?.clone();
                items.resize(max + 1, first);
                return Some(path);
            }
            Some(Value::Array(items)) => {
                if let (Some(first), Some(nested)) = (items.first_mut(), &field.fields)
                    && let Some(found) = break_a_length_rule(nested, first, &format!("{path}[0]"))
                {
                    return Some(found);
                }
            }
            Some(object @ Value::Object(_)) => {
                if let Some(nested) = &field.fields
                    && let Some(found) = break_a_length_rule(nested, object, &path)
                {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

#[tokio::test]
async fn a_request_breaking_a_documented_rule_is_refused_before_sending() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut checked = 0;
    for (loaded, endpoint) in endpoints::emulated() {
        let mut request = request_json(&loaded);
        let fields = loaded
            .spec
            .request_body
            .as_ref()
            .and_then(|body| body.fields.as_deref())
            .unwrap_or_default();
        let Some(body) = request.get_mut("body") else {
            continue;
        };
        let Some(path) = break_a_length_rule(fields, body, "") else {
            continue;
        };
        let user = (endpoint.meta.tokens == [TokenKind::User]).then(|| USER_TOKEN.to_owned());
        let err = (endpoint.call)(&client, request, CallOptions::user(user))
            .await
            .expect_err(&format!("{}: {path} breaks its rule", endpoint.meta.id));
        match &err {
            Error::InvalidRequest { violations, .. } => {
                assert_eq!(violations.len(), 1, "{}: {violations:?}", endpoint.meta.id);
                assert_eq!(violations[0].field, path, "{}", endpoint.meta.id);
                assert!(violations[0].description.contains("above the maximum"));
            }
            other => panic!("{}: {other:?}", endpoint.meta.id),
        }
        assert!(!err.is_retryable());
        checked += 1;
    }
    assert!(
        checked > 0,
        "spec/ documents no length rule an example fills in"
    );
    assert!(emulator.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn every_invalid_token_answer_makes_the_client_fetch_a_new_token() {
    use feishu_tests::server::{Reply, TestServer, token_reply};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let case = tenant_case();
    let answers = feishu::runtime::wire::INVALID_TOKEN_CODES
        .iter()
        .map(|&code| {
            Reply::json(
                400,
                &serde_json::json!({"code": code, "msg": "Invalid access token for authorization"}),
            )
        })
        // The HTTP 401 form, whatever its body.
        .chain([Reply::raw(
            401,
            "text/html",
            "<html>401 Unauthorized</html>",
        )]);
    for refusal in answers {
        let refused = Arc::new(AtomicBool::new(false));
        let first = refused.clone();
        let server = TestServer::start(move |request| {
            token_reply(request).unwrap_or_else(|| {
                if first.swap(true, Ordering::SeqCst) {
                    Reply::json(
                        200,
                        &serde_json::json!({"code": 0, "msg": "ok", "data": {}}),
                    )
                } else {
                    refusal.clone()
                }
            })
        })
        .await;
        let client = Client::builder("cli_x", "secret")
            .base_url(feishu::BaseUrl::Custom(server.url()))
            .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
            .build()
            .unwrap();
        case.call(&client, CallOptions::default()).await.unwrap();
        let paths: Vec<bool> = server
            .take_requests()
            .iter()
            .map(|r| r.path.contains("/auth/"))
            .collect();
        assert_eq!(
            paths,
            [true, false, true, false],
            "token, refused call, new token, call"
        );
    }
}

#[tokio::test]
async fn a_test_can_make_an_endpoint_fail_with_one_of_its_documented_errors() {
    // An endpoint whose page lists a business error the client does not act on itself
    // (not a rate limit, not a server error it would retry).
    let acts_on = |code: i64, status: u16| code == codes::RATE_LIMITED || status >= 500;
    let case = case("documents a business error", |c| {
        c.takes_app_tokens()
            && c.meta
                .errors
                .iter()
                .any(|e| !acts_on(e.code, e.http_status.unwrap_or(400)))
    });
    let documented = case
        .meta
        .errors
        .iter()
        .find(|e| !acts_on(e.code, e.http_status.unwrap_or(400)))
        .expect("just found");
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.inject_documented_error(case.id, documented.code, 1);

    let err = case
        .call(&client, CallOptions::default())
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{}: expected the documented error, got {err:?}", case.id)
    };
    assert_eq!(api.code, documented.code, "{}", case.id);
    assert_eq!(api.status, documented.http_status.unwrap_or(400));
    assert_eq!(api.msg, documented.message);
    assert_eq!(
        api.documented,
        Some(documented),
        "the page's row comes with it"
    );
    case.call(&client, CallOptions::default())
        .await
        .unwrap_or_else(|err| panic!("{}: only the next call fails: {err}", case.id));
}

//! The runtime's behaviour over real HTTP on 127.0.0.1: which token a call sends, what is
//! refused before any I/O, the token cache, per-call options, and secrets kept out of
//! Debug and Display.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use feishu::application::v6::application_feedback::{
    FeedbackStatus, PatchApplicationFeedbackRequest, UserIdType,
};
use feishu::helpdesk::v1::notification::{PatchNotificationBody, PatchNotificationRequest};
use feishu::helpdesk::v1::ticket::{TicketStatus, UpdateTicketBody, UpdateTicketRequest};
use feishu::im::v2::chat_button::{ActionType, ButtonType};
use feishu::{BaseUrl, Client, Error};
use feishu_tests::server::{Reply, TENANT_TOKEN, TENANT_TOKEN_PATH, TestServer, token_reply};
use serde_json::json;

const SECRET: &str = "app-secret-never-shown";
const HELPDESK_TOKEN: &str = "helpdesk-token-never-shown";
const USER_TOKEN: &str = "u-user-token-never-shown";

fn ok_server() -> impl Fn(&feishu_tests::server::Recorded) -> Reply + Send + Sync + 'static {
    |request| {
        token_reply(request)
            .unwrap_or_else(|| Reply::json(200, &json!({"code": 0, "msg": "success", "data": {}})))
    }
}

fn builder(server: &TestServer) -> feishu::ClientBuilder {
    Client::builder("cli_a", SECRET).base_url(BaseUrl::Custom(server.url()))
}

fn feedback() -> PatchApplicationFeedbackRequest {
    PatchApplicationFeedbackRequest::new(
        "cli_9f115af860f7901b",
        "705",
        FeedbackStatus::Handled,
        "ou_1",
    )
    .user_id_type(UserIdType::OpenId)
}

/// A client with helpdesk credentials, against `server`.
fn helpdesk_client(server: &TestServer) -> Client {
    builder(server)
        .helpdesk("hd", HELPDESK_TOKEN)
        .build()
        .unwrap()
}

/// The tenant-token endpoint used by most tests below.
fn patch_feedback(client: &Client) -> feishu::Call<'_, PatchApplicationFeedbackRequest> {
    client
        .application()
        .v6()
        .application_feedback()
        .patch(feedback())
}

/// A server whose token endpoint takes 5 s to answer.
async fn slow_token_server() -> TestServer {
    server_with_token_endpoint(|request| {
        token_reply(request)
            .unwrap()
            .delayed(Duration::from_secs(5))
    })
    .await
}

/// A server whose token endpoint answers with `token`, and every other path with success.
async fn server_with_token_endpoint(
    token: impl Fn(&feishu_tests::server::Recorded) -> Reply + Send + Sync + 'static,
) -> TestServer {
    TestServer::start(move |request| {
        if request.path == TENANT_TOKEN_PATH {
            return token(request);
        }
        Reply::json(200, &json!({"code": 0, "msg": "success", "data": {}}))
    })
    .await
}

#[tokio::test]
async fn a_call_sends_the_user_token_where_given_and_the_tenant_token_otherwise() {
    let server = TestServer::start(ok_server()).await;
    let client = helpdesk_client(&server);
    let notifications = client.helpdesk().v1().notification();

    notifications
        .patch(PatchNotificationRequest::new(
            "n1",
            PatchNotificationBody::default(),
        ))
        .await
        .unwrap();
    notifications
        .patch(PatchNotificationRequest::new(
            "n1",
            PatchNotificationBody::default(),
        ))
        .user_access_token(USER_TOKEN)
        .await
        .unwrap();

    let requests = server.take_requests();
    let auth: Vec<(&str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.path.as_str(), r.header("authorization")))
        .collect();
    let tenant = format!("Bearer {TENANT_TOKEN}");
    let user = format!("Bearer {USER_TOKEN}");
    assert_eq!(
        auth,
        vec![
            (TENANT_TOKEN_PATH, None),
            (
                "/open-apis/helpdesk/v1/notifications/n1",
                Some(tenant.as_str())
            ),
            (
                "/open-apis/helpdesk/v1/notifications/n1",
                Some(user.as_str())
            ),
        ]
    );
}

#[tokio::test]
async fn what_cannot_succeed_is_refused_before_any_request() {
    let server = TestServer::start(ok_server()).await;
    let with_helpdesk = helpdesk_client(&server);
    let without_helpdesk = builder(&server).build().unwrap();
    let body = UpdateTicketBody::default().status(TicketStatus::Processing);

    // A user-token-only endpoint without a user token.
    let err = with_helpdesk
        .helpdesk()
        .v1()
        .ticket()
        .update(UpdateTicketRequest::new("1", body.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { endpoint: "helpdesk.v1.ticket.update", message, .. } if message.contains("user_access_token")),
        "{err}"
    );
    // A helpdesk endpoint without helpdesk credentials.
    let err = without_helpdesk
        .helpdesk()
        .v1()
        .ticket()
        .update(UpdateTicketRequest::new("1", body))
        .user_access_token(USER_TOKEN)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("helpdesk")),
        "{err}"
    );
    // A user token where the endpoint takes only the tenant token.
    let err = with_helpdesk
        .application()
        .v6()
        .application_feedback()
        .patch(feedback())
        .user_access_token(USER_TOKEN)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("does not accept a user_access_token")),
        "{err}"
    );

    assert!(server.take_requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn concurrent_calls_on_a_cold_cache_fetch_the_tenant_token_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let server = server_with_token_endpoint(move |request| {
        counter.fetch_add(1, Ordering::SeqCst);
        token_reply(request)
            .unwrap()
            .delayed(Duration::from_millis(50))
    })
    .await;
    let client = builder(&server).build().unwrap();
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { patch_feedback(&client).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Later calls reuse the cached token too; a separate client has its own cache.
    patch_feedback(&client).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    builder(&server)
        .build()
        .unwrap()
        .application()
        .v6()
        .application_feedback()
        .patch(feedback())
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_token_request_is_an_auth_error() {
    let server = server_with_token_endpoint(|_| {
        Reply::json(400, &json!({"code": 10014, "msg": "app secret invalid"}))
            .header("X-Tt-Logid", "log-auth")
    })
    .await;
    let client = builder(&server).build().unwrap();
    let err = patch_feedback(&client).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Auth {
                code: Some(10014),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.log_id(), Some("log-auth"));
    assert!(!err.to_string().contains(SECRET) && !format!("{err:?}").contains(SECRET));
}

#[tokio::test]
async fn per_call_headers_request_id_and_timeout() {
    let server = TestServer::start(ok_server()).await;
    let client = builder(&server).build().unwrap();
    let api = client.application().v6().application_feedback();
    api.patch(feedback())
        .header("X-Custom", "yes")
        .request_id("req-42")
        .await
        .unwrap();
    let request = server.take_requests().pop().unwrap();
    assert_eq!(request.header("x-custom"), Some("yes"));
    assert_eq!(request.header("x-request-id"), Some("req-42"));

    server.set_handler(|request| {
        token_reply(request).unwrap_or_else(|| {
            Reply::json(200, &json!({"code": 0, "data": {}})).delayed(Duration::from_secs(5))
        })
    });
    let started = std::time::Instant::now();
    let err = api
        .patch(feedback())
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, .. } if *after == Duration::from_millis(100)),
        "{err:?}"
    );
    assert!(err.is_timeout() && err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let server = TestServer::start(ok_server()).await;
    let client = builder(&server).build().unwrap();
    let request = PatchApplicationFeedbackRequest::new(
        "a/b c?d",
        "工单#1",
        FeedbackStatus::Unknown(9),
        "ou 1",
    );
    client
        .application()
        .v6()
        .application_feedback()
        .patch(request)
        .await
        .unwrap();
    let sent = server.take_requests().pop().unwrap();
    assert_eq!(
        sent.path,
        "/open-apis/application/v6/applications/a%2Fb%20c%3Fd/feedbacks/%E5%B7%A5%E5%8D%95%231"
    );
    assert_eq!(
        sent.query_pairs(),
        vec![
            ("status".into(), "9".into()),
            ("operator_id".into(), "ou 1".into())
        ]
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let client = Client::builder("cli_a", SECRET)
        .helpdesk("hd", HELPDESK_TOKEN)
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(shown.contains("cli_a"), "{shown}");
    for secret in [SECRET, HELPDESK_TOKEN] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let builder = format!(
        "{:?}",
        Client::builder("cli_a", SECRET).helpdesk("hd", HELPDESK_TOKEN)
    );
    assert!(
        !builder.contains(SECRET) && !builder.contains(HELPDESK_TOKEN),
        "{builder}"
    );
    let call = client
        .application()
        .v6()
        .application_feedback()
        .patch(feedback())
        .user_access_token(USER_TOKEN);
    let shown = format!("{call:?}");
    assert!(
        !shown.contains(USER_TOKEN) && shown.contains("ou_1"),
        "{shown}"
    );
}

#[test]
fn enums_keep_values_they_do_not_know() {
    let status: TicketStatus = serde_json::from_value(json!(99)).unwrap();
    assert_eq!(status, TicketStatus::Unknown(99));
    assert_eq!(serde_json::to_value(&status).unwrap(), json!(99));
    assert_eq!(
        serde_json::from_value::<TicketStatus>(json!(50)).unwrap(),
        TicketStatus::ClosedByBot
    );
    let action: ActionType = serde_json::from_value(json!("open_mini_program")).unwrap();
    assert_eq!(action, ActionType::Unknown("open_mini_program".into()));
    assert_eq!(
        serde_json::to_value(&action).unwrap(),
        json!("open_mini_program")
    );
    assert_eq!(ButtonType::Primary.as_str(), "primary");
    assert_eq!(FeedbackStatus::Closed.value(), 3);
}

#[test]
fn base_urls() {
    assert_eq!(BaseUrl::Feishu.as_str(), "https://open.feishu.cn");
    assert_eq!(BaseUrl::Lark.as_str(), "https://open.larksuite.com");
    assert_eq!(
        Client::builder("a", "b")
            .base_url(BaseUrl::Lark)
            .build()
            .unwrap()
            .base_url(),
        "https://open.larksuite.com"
    );
    let err = Client::builder("a", "b")
        .base_url(BaseUrl::Custom("http://127.0.0.1:1/api".into()))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

/// A hand-written request: an endpoint without tokens that takes a header parameter,
/// to reach runtime paths the seed endpoints do not.
#[derive(Debug)]
struct Probe {
    id: String,
    trace: Option<String>,
}

impl feishu::runtime::codegen::ApiRequest for Probe {
    type Body = serde_json::Value;
    type Response = feishu::runtime::Empty;
    const ENDPOINT: &'static feishu::runtime::codegen::Endpoint =
        &feishu::runtime::codegen::Endpoint {
            id: "probe.v1.thing.get",
            method: feishu::runtime::codegen::HttpMethod::Post,
            host: feishu::runtime::codegen::Host::Open,
            path: "/open-apis/probe/v1/things/:id",
            tokens: &[],
            helpdesk: false,
            envelope: feishu::runtime::codegen::Envelope::Data,
            files: &[],
            errors: &[
                feishu::runtime::DocumentedError {
                    http_status: Some(400),
                    code: 7,
                    message: "bad",
                    hint: "as 400",
                },
                feishu::runtime::DocumentedError {
                    http_status: Some(403),
                    code: 7,
                    message: "bad",
                    hint: "as 403",
                },
            ],
            doc_url: "https://open.feishu.cn/document/probe",
            paging: None,
            rate_limit: &[],
            response_example: None,
            body_schema: None,
        };

    fn path(&self) -> String {
        let mut path = String::from("/open-apis/probe/v1/things/");
        feishu::runtime::codegen::push_path_param(&mut path, &self.id);
        path
    }

    fn headers(&self, out: &mut feishu::runtime::codegen::Params) {
        if let Some(trace) = &self.trace {
            out.push("X-Trace-Id", trace);
        }
    }

    fn body(&self) -> Option<&Self::Body> {
        Some(&serde_json::Value::Null)
    }
}

fn probe(id: &str) -> Probe {
    Probe {
        id: id.to_owned(),
        trace: Some("trace-1".to_owned()),
    }
}

#[tokio::test]
async fn header_parameters_are_sent_and_caller_headers_override_without_duplicates() {
    let server = TestServer::start(ok_server()).await;
    let client = builder(&server).build().unwrap();
    feishu::Call::new(&client, probe("p1"))
        .header("Content-Type", "application/json")
        .header("X-Trace-Id", "mine")
        .await
        .unwrap();
    let request = server.take_requests().pop().unwrap();
    assert_eq!(request.path, "/open-apis/probe/v1/things/p1");
    assert_eq!(
        request.header("authorization"),
        None,
        "the endpoint documents no token"
    );
    let values = |name: &str| request.headers.iter().filter(|(n, _)| n == name).count();
    assert_eq!((values("content-type"), values("x-trace-id")), (1, 1));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-trace-id"), Some("mine"));

    feishu::Call::new(&client, probe("p2")).await.unwrap();
    assert_eq!(
        server.take_requests().pop().unwrap().header("x-trace-id"),
        Some("trace-1")
    );
}

#[tokio::test]
async fn a_user_token_for_an_endpoint_without_tokens_and_an_empty_path_parameter_are_refused() {
    let server = TestServer::start(ok_server()).await;
    let client = builder(&server).build().unwrap();
    let err = feishu::Call::new(&client, probe("p"))
        .user_access_token(USER_TOKEN)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("does not accept a user_access_token")),
        "{err}"
    );
    let err = feishu::Call::new(&client, probe("")).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { message, .. } if message.contains("path parameter is empty")),
        "{err}"
    );
    assert!(server.take_requests().is_empty());
}

#[tokio::test]
async fn the_documented_row_with_the_same_status_explains_an_error() {
    let server = TestServer::start(|_| Reply::json(403, &json!({"code": 7, "msg": "bad"}))).await;
    let client = builder(&server).build().unwrap();
    let err = feishu::Call::new(&client, probe("p")).await.unwrap_err();
    assert_eq!(
        err.as_api().and_then(|api| api.documented).map(|d| d.hint),
        Some("as 403")
    );
}

#[tokio::test]
async fn a_success_status_without_a_feishu_code_is_not_success() {
    let server =
        TestServer::start(|_| Reply::json(200, &json!({"error": "gateway says no"}))).await;
    let client = builder(&server).build().unwrap();
    let err = feishu::Call::new(&client, probe("p")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { status: 200, message, .. } if message.contains("no Feishu `code`")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_token_fetch_is_bounded_by_the_client_timeout() {
    let server = slow_token_server().await;
    let client = builder(&server)
        .timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = patch_feedback(&client).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Auth {
                kind: "tenant_access_token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_malformed_token_response_is_an_auth_error_that_does_not_quote_the_token() {
    for body in [
        json!({"code": 0, "expire": "7200", "tenant_access_token": "t-LEAKED-SECRET"}),
        json!({"code": 0, "tenant_access_token": "t-LEAKED-SECRET"}),
    ] {
        let server = server_with_token_endpoint(move |_| Reply::json(200, &body)).await;
        let client = builder(&server).build().unwrap();
        let err = patch_feedback(&client).await.unwrap_err();
        assert!(matches!(&err, Error::Auth { code: None, .. }), "{err:?}");
        assert!(
            !err.to_string().contains("LEAKED") && !format!("{err:?}").contains("LEAKED"),
            "{err:?}"
        );
    }
}

#[test]
fn a_call_shows_header_names_but_not_their_values() {
    let client = Client::builder("cli_a", SECRET).build().unwrap();
    let call = feishu::Call::new(&client, probe("p")).header("X-Api-Key", "header-secret-value");
    let shown = format!("{call:?}");
    assert!(
        shown.contains("X-Api-Key") && !shown.contains("header-secret-value"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_call_timeout_bounds_the_wait_for_a_token_too() {
    let server = slow_token_server().await;
    let client = builder(&server).build().unwrap();
    let started = std::time::Instant::now();
    let err = patch_feedback(&client)
        .timeout(Duration::from_millis(150))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, .. } if *after == Duration::from_millis(150)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn enum_values_compare_by_what_they_send() {
    assert_eq!(TicketStatus::Unknown(2), TicketStatus::Processing);
    assert_ne!(TicketStatus::Unknown(3), TicketStatus::Processing);
    assert_eq!(ActionType::Unknown("webhook".into()), ActionType::Webhook);
    let set: std::collections::HashSet<TicketStatus> =
        [TicketStatus::Unknown(2), TicketStatus::Processing].into();
    assert_eq!(set.len(), 1);
}

/// A hand-written request whose response fields sit beside `code` and `msg`, like the
/// auth endpoints'.
#[derive(Debug)]
struct FlatProbe;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct FlatAnswer {
    token: String,
    expire: i64,
}

impl feishu::runtime::codegen::ApiRequest for FlatProbe {
    type Body = ();
    type Response = FlatAnswer;
    const ENDPOINT: &'static feishu::runtime::codegen::Endpoint =
        &feishu::runtime::codegen::Endpoint {
            id: "probe.v1.flat.get",
            method: feishu::runtime::codegen::HttpMethod::Get,
            host: feishu::runtime::codegen::Host::Open,
            path: "/open-apis/probe/v1/flat",
            tokens: &[],
            helpdesk: false,
            envelope: feishu::runtime::codegen::Envelope::Flat,
            files: &[],
            errors: &[],
            doc_url: "https://open.feishu.cn/document/probe",
            paging: None,
            rate_limit: &[],
            response_example: None,
            body_schema: None,
        };

    fn path(&self) -> String {
        "/open-apis/probe/v1/flat".to_owned()
    }
}

#[tokio::test]
async fn a_flat_response_is_read_from_the_top_level() {
    let server = TestServer::start(|_| {
        Reply::json(
            200,
            &json!({"code": 0, "msg": "ok", "token": "x", "expire": 7200}),
        )
    })
    .await;
    let client = builder(&server).build().unwrap();
    let answer = feishu::Call::new(&client, FlatProbe).await.unwrap();
    assert_eq!(
        answer,
        FlatAnswer {
            token: "x".into(),
            expire: 7200
        }
    );
    let sent = server.take_requests().pop().unwrap();
    assert_eq!((sent.method.as_str(), sent.body.len()), ("GET", 0));
}

#[tokio::test]
async fn a_call_gives_its_answers_metadata_when_asked() {
    let server = TestServer::start(|request| {
        token_reply(request).unwrap_or_else(|| {
            Reply::json(200, &json!({"code": 0, "msg": "success", "data": {}}))
                .header("X-Tt-Logid", "log-ok-1")
                .header("x-ogw-ratelimit-remaining", "49")
        })
    })
    .await;
    let client = builder(&server).build().unwrap();
    let (data, metadata) = patch_feedback(&client).send_with_metadata().await.unwrap();
    assert_eq!(data, feishu::runtime::Empty {});
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.log_id.as_deref(), Some("log-ok-1"));
    let remaining = metadata.headers.get("x-ogw-ratelimit-remaining");
    assert_eq!(remaining.and_then(|v| v.to_str().ok()), Some("49"));
}

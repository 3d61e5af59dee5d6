//! What the client tells the outside world: its tracing spans carry what an operator
//! needs (method, path, status, log id, attempt, wait), and no secret ever shows up in a
//! log line, a `Debug`, a `Display` or an error, whatever path a call takes.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use feishu::runtime::TokenKind;
use feishu::{Client, RetryPolicy};
use feishu_emulator::{Emulator, Fault, Target};
use feishu_spec::LoadedEndpoint;
use feishu_tests::endpoints::{self, CallOptions, request_json};
use tracing_subscriber::fmt::format::FmtSpan;

const APP_SECRET: &str = "app-secret-must-not-leak";
const MARKET_SECRET: &str = "market-secret-must-not-leak";
const HELPDESK_ID: &str = "7000000000000000001";
const HELPDESK_TOKEN: &str = "helpdesk-token-must-not-leak";
const USER_TOKEN: &str = "u-user-token-must-not-leak";

/// Everything the subscriber writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A subscriber for this thread that records everything, spans' starts and ends included,
/// at every level; what it wrote, and the guard that keeps it installed.
fn capture_everything() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// One endpoint for each way a call can go: the tokens it takes, the helpdesk header,
/// its method, whether it has a body and a query. What a call logs depends on these, not
/// on the endpoint, and the whole API through every fault would take most of an hour.
fn one_per_shape() -> Vec<(LoadedEndpoint, endpoints::Endpoint)> {
    let mut seen = BTreeSet::new();
    endpoints::emulated()
        .into_iter()
        .filter(|(loaded, endpoint)| {
            let meta = endpoint.meta;
            seen.insert((
                meta.tokens.iter().map(|t| t.name()).collect::<Vec<_>>(),
                meta.helpdesk,
                meta.method.as_str(),
                loaded.spec.request_body.is_some(),
                loaded.spec.query_params.is_empty(),
            ))
        })
        .collect()
}

// The default (current-thread) runtime runs the client and the emulator on this thread,
// where the subscriber is installed.
#[tokio::test]
async fn spans_say_what_happened_and_nothing_secret() {
    let (captured, _guard) = capture_everything();

    let emulator = Emulator::builder()
        .app("cli_observed", APP_SECRET)
        .marketplace_app("cli_market", MARKET_SECRET)
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .user_token(USER_TOKEN)
        .start()
        .await;
    let quick = RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_jitter: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let builder = emulator.client_builder().retry(quick.clone());
    let mut shown = vec![format!("{builder:?}")];
    let client = builder.build().unwrap();
    shown.push(format!("{client:?}"));
    let market = emulator
        .marketplace_client_builder()
        .retry(quick)
        .build()
        .unwrap();
    let ticket = emulator.issue_app_ticket();
    market.set_app_ticket(ticket.clone());

    let mut errors = Vec::new();
    for (loaded, endpoint) in one_per_shape() {
        let user_only = endpoint.meta.tokens == [TokenKind::User];
        let options = |retry| CallOptions {
            retry,
            ..CallOptions::user(user_only.then(|| USER_TOKEN.to_owned()))
        };
        let call = |client, retry| (endpoint.call)(client, request_json(&loaded), options(retry));
        call(&client, None).await.unwrap();
        // A token that expires mid-run, a rate limit and a server error, then success.
        emulator.expire_tokens();
        emulator.inject(Target::Api, Fault::rate_limited(0), 1);
        emulator.inject(Target::Api, Fault::ServerError { status: 500 }, 1);
        let _ = call(&client, None).await;
        emulator.clear_faults();
        // Failures that end the call (a user token is not refreshed, so one attempt may
        // leave the second fault unused).
        emulator.inject(Target::Api, Fault::Unauthorized, 2);
        errors.extend(call(&client, None).await.err());
        emulator.clear_faults();
        emulator.inject(Target::Api, Fault::HtmlGateway { status: 502 }, 1);
        errors.extend(call(&client, Some(RetryPolicy::none())).await.err());
        if endpoint.meta.tokens.contains(&TokenKind::Tenant) {
            let market_call = (endpoint.call)(
                &market,
                request_json(&loaded),
                CallOptions {
                    tenant_key: Some("tenant-1".into()),
                    ..CallOptions::default()
                },
            );
            market_call.await.unwrap();
        }
    }
    let wrong = Client::builder("cli_observed", "wrong-secret-must-not-leak")
        .base_url(feishu::BaseUrl::Custom(emulator.url()))
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .build()
        .unwrap();
    let (loaded, endpoint) = endpoints::emulated()
        .into_iter()
        .find(|(_, e)| e.meta.tokens.contains(&TokenKind::Tenant))
        .unwrap();
    errors.extend(
        (endpoint.call)(&wrong, request_json(&loaded), CallOptions::default())
            .await
            .err(),
    );
    assert!(errors.len() >= 3, "{errors:?}");
    for error in &errors {
        shown.push(format!("{error} {error:?}"));
    }
    for (loaded, endpoint) in one_per_shape() {
        let options = CallOptions {
            user_access_token: Some(USER_TOKEN.to_owned()),
            tenant_key: Some("tenant-1".into()),
            ..CallOptions::default()
        };
        shown.push((endpoint.debug_call)(
            &market,
            request_json(&loaded),
            options,
        ));
    }

    let logs = captured.text();
    // The spans carry what an operator looks for.
    for field in [
        "feishu.call",
        "method=\"PATCH\"",
        "path=\"/open-apis/",
        "status=200",
        "status=429",
        "log_id=\"20261121",
        "attempt=2",
        "wait_ms=",
        "feishu.token",
        "retrying",
    ] {
        assert!(logs.contains(field), "the logs lack {field:?}:\n{logs}");
    }

    // The secrets: every credential, and every token the emulator handed out.
    let mut secrets: Vec<String> = [
        APP_SECRET,
        MARKET_SECRET,
        HELPDESK_TOKEN,
        USER_TOKEN,
        "wrong-secret-must-not-leak",
    ]
    .map(str::to_owned)
    .to_vec();
    secrets.push(ticket);
    secrets.push({
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{HELPDESK_ID}:{HELPDESK_TOKEN}"))
    });
    for request in emulator.requests() {
        if let Some(token) = request.header("authorization") {
            secrets.push(token.trim_start_matches("Bearer ").to_owned());
        }
        // Auth requests carry the app token (marketplace tenant tokens) in the body.
        if request.path.contains("/auth/")
            && let Some(token) = request.json()["app_access_token"].as_str()
        {
            secrets.push(token.to_owned());
        }
    }
    assert!(secrets.iter().any(|s| s.starts_with("t-emu-")));
    assert!(
        secrets.iter().any(|s| s.starts_with("a-emu-")),
        "the marketplace app token"
    );
    let outputs = shown.join("\n");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a log line shows {secret:?}"
        );
        assert!(
            !outputs.contains(secret.as_str()),
            "Debug/Display shows {secret:?}:\n{outputs}"
        );
    }
}

// The current-thread runtime runs the client, the long connection and the emulator on this
// thread, where the subscriber is installed.
#[tokio::test]
async fn no_secret_reaches_a_log_at_trace_level_ours_or_a_dependencys() {
    // What an app's `tracing_subscriber::fmt().init()` does: the `log` records of
    // dependencies (tungstenite, reqwest, …) go to the subscriber too.
    let _ = tracing_log::LogTracer::init();
    let (captured, _guard) = capture_everything();

    let emulator = Emulator::builder()
        .app("cli_traced", APP_SECRET)
        .start()
        .await;
    let client = emulator.client_builder().build().unwrap();
    let (loaded, endpoint) = endpoints::emulated()
        .into_iter()
        .find(|(_, e)| e.meta.tokens.contains(&TokenKind::Tenant))
        .unwrap();
    (endpoint.call)(&client, request_json(&loaded), CallOptions::default())
        .await
        .unwrap();

    let dispatcher = feishu::events::Dispatcher::builder("")
        .on_raw("test.ping_v1", |_event, _context| async {
            Ok::<_, std::io::Error>(())
        })
        .build();
    let connection = feishu::events::LongConnection::new(client.clone(), dispatcher);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(connection.run_until(async {
        let _ = stopped.await;
    }));
    let feishu = emulator.long_connections();
    assert!(feishu.wait_connected(1, Duration::from_secs(10)).await);
    let envelope = serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": "e-traced", "event_type": "test.ping_v1",
                   "create_time": "1603977298000", "app_id": "cli_traced"},
        "event": {}
    });
    let id = feishu.push_event(&envelope, 1).unwrap();
    assert_eq!(
        feishu
            .wait_ack(&id, Duration::from_secs(10))
            .await
            .map(|ack| ack.code),
        Some(200)
    );
    let _ = stop.send(());
    running.await.unwrap().unwrap();

    let logs = captured.text();
    // The dependencies' records did reach the subscriber (tokio-tungstenite's stream).
    assert!(logs.contains("poll_next"), "no dependency logs:\n{logs}");
    let mut secrets = vec![
        APP_SECRET.to_owned(),
        "emu-ticket-".to_owned(),
        "emu-access-key-".to_owned(),
    ];
    secrets.extend(
        emulator
            .requests()
            .iter()
            .filter_map(|r| r.header("authorization"))
            .map(|value| value.trim_start_matches("Bearer ").to_owned()),
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "{secret:?} is in the logs");
    }
}

/// A card callback answered after Feishu's 3 seconds: Feishu (the emulator's pusher) shows
/// the user error 200341 and does not deliver it again, and the dispatcher says so in a
/// warning an operator can act on.
#[tokio::test]
async fn a_card_callback_answered_late_is_a_client_error_and_a_warning() {
    use feishu::events::{CardAction, CardResponse, Dispatcher, EventContext, Toast};
    use feishu_emulator::webhook::{CALLBACK_LATE, Pusher};

    let (captured, _guard) = capture_everything();
    let dispatcher = Dispatcher::builder("v-token")
        .on_card_action(|_: CardAction, _: EventContext| async {
            tokio::time::sleep(Duration::from_millis(3_300)).await;
            Ok::<_, std::io::Error>(CardResponse::new().toast(Toast::info("too late")))
        })
        .build();
    let app = axum::Router::new().route_service("/webhook", dispatcher);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Retries that would come at once if callbacks were retried.
    let pusher = Pusher::new(&url, "v-token").retry_after(vec![Duration::from_millis(10)]);
    let callback = pusher.envelope(
        "card.action.trigger",
        serde_json::json!({"action": {"tag": "button", "value": {"k": "v"}}, "token": "c-1"}),
    );
    let pushed = pusher.push(&callback).await;
    assert_eq!(
        pushed.attempts.len(),
        1,
        "a callback is not delivered again"
    );
    assert!(!pushed.delivered());
    assert_eq!(pushed.attempts[0].client_error, Some(CALLBACK_LATE));

    // The handler's task runs on after Feishu hung up; its end is what is logged.
    let warned = async {
        while !captured.text().contains("feishu_error=200341") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), warned)
        .await
        .unwrap_or_else(|_| panic!("no warning: {}", captured.text()));
    let log = captured.text();
    let line = log
        .lines()
        .find(|line| line.contains("feishu_error=200341"))
        .unwrap();
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("card.action.trigger"), "{line}");
    assert!(line.contains("update the card later"), "{line}");
}

/// At debug level each call says how it ended in one line, inside the span that names its
/// endpoint, status, log id and attempts: an operator sees successful calls too.
#[tokio::test]
async fn each_call_ends_in_one_debug_line_with_its_facts() {
    use feishu::im::v1::message::GetMessageRequest;

    let emulator = Emulator::builder()
        .app("cli_traced", APP_SECRET)
        .start()
        .await;
    let client = emulator.client_builder().build().unwrap();
    let (captured, _guard) = capture_everything();
    let messages = client.im().v1().message();
    messages.get(GetMessageRequest::new("om_1")).await.unwrap();
    emulator.inject(
        Target::Api,
        Fault::ApiError {
            status: 400,
            code: 230002,
            msg: "The bot can not be outside the group.".into(),
        },
        1,
    );
    messages
        .get(GetMessageRequest::new("om_2"))
        .await
        .unwrap_err();

    let log = captured.text();
    let answered: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("call answered"))
        .collect();
    let failed: Vec<&str> = log.lines().filter(|l| l.contains("call failed")).collect();
    assert_eq!((answered.len(), failed.len()), (1, 1), "{log}");
    for line in answered.iter().chain(&failed) {
        assert!(line.contains("DEBUG"), "{line}");
        for fact in [
            "endpoint=\"im.v1.message.get\"",
            "attempt=1",
            "log_id=",
            "duration_ms=",
        ] {
            assert!(line.contains(fact), "{fact} in {line}");
        }
        assert!(!line.contains(APP_SECRET), "{line}");
    }
    assert!(answered[0].contains("status=200"), "{}", answered[0]);
    assert!(failed[0].contains("230002"), "{}", failed[0]);
}

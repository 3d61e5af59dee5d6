//! The webhook event dispatcher (`feishu::events::Dispatcher`) over real HTTP on
//! 127.0.0.1, served by axum (and once by plain hyper), with this file playing Feishu: it
//! encrypts (a random IV per body) and signs with the RustCrypto crates itself, never
//! with the dispatcher's code. Each check of the dispatcher has a test that fails without
//! it: the challenge, decryption, the signature and token, the replay window, duplicate
//! deliveries, the body limit, unknown event types, both envelopes, card callbacks, the
//! app_ticket, answering before a slow handler ends, a body that trickles in, event ids
//! too long to remember, and a handler still running when newer events fill the memory.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use feishu::events::{
    BoxError, CardAction, CardResponse, Dispatcher, DispatcherBuilder, Event, EventContext,
    EventSchema, NONCE_HEADER, RawEvent, SIGNATURE_HEADER, TIMESTAMP_HEADER, Toast,
};
use feishu::runtime::codegen::HttpMethod;
use feishu_emulator::Emulator;
use feishu_emulator::webhook::{encrypt, sign};
use serde::Deserialize;
use serde_json::{Value, json};

const TOKEN: &str = "v-token-0123456789";
const KEY: &str = "encrypt-key-0123456789";
const PATH: &str = "/feishu/events";

// ---- The typed events of the tests (the generated ones are not needed to test delivery).

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct MessageReceived {
    message: Message,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Message {
    chat_id: String,
    content: String,
}

impl Event for MessageReceived {
    const EVENT_TYPE: &'static str = "im.message.receive_v1";
}

/// A 1.0 event: its payload is the `event` object, `type` included.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct LeaveApproval {
    instance_code: String,
    user_id: String,
}

impl Event for LeaveApproval {
    const EVENT_TYPE: &'static str = "leave_approval";
}

// ---- Feishu's side: envelopes, encryption, signatures.

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A 2.0 envelope of `event_type`, created now.
fn v2(event_id: &str, event_type: &str, event: Value) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": event_type,
            "create_time": (unix_now() * 1000).to_string(),
            "token": TOKEN,
            "app_id": "cli_test",
            "tenant_key": "tenant-1"
        },
        "event": event
    })
}

fn message(event_id: &str, content: &str) -> Value {
    v2(
        event_id,
        "im.message.receive_v1",
        json!({"message": {"chat_id": "oc_1", "content": content, "message_type": "text"}}),
    )
}

/// What Feishu posts: a body and its headers.
#[derive(Clone)]
struct Push {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Push {
    /// A plaintext body without signature headers (an app without an Encrypt Key).
    fn plain(envelope: &Value) -> Self {
        Push {
            body: envelope.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// `envelope` encrypted and signed with `key`, sent at `timestamp`.
    fn sealed_at(key: &str, envelope: &Value, timestamp: u64) -> Self {
        let body = json!({ "encrypt": encrypt(key, envelope.to_string().as_bytes()) })
            .to_string()
            .into_bytes();
        Push::signed(key, body, timestamp)
    }

    fn sealed(envelope: &Value) -> Self {
        Push::sealed_at(KEY, envelope, unix_now())
    }

    /// `body` as it is, signed with `key`.
    fn signed(key: &str, body: Vec<u8>, timestamp: u64) -> Self {
        let timestamp = timestamp.to_string();
        let nonce = format!("{:016x}", rand::random::<u64>());
        let signature = sign(&timestamp, &nonce, key, &body);
        Push {
            body,
            headers: vec![
                (TIMESTAMP_HEADER, timestamp),
                (NONCE_HEADER, nonce),
                (SIGNATURE_HEADER, signature),
            ],
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_owned()));
        self
    }
}

// ---- The developer's server.

struct Server {
    url: String,
    http: reqwest::Client,
}

/// A reqwest client for plain http. With the `feishu` crate's `rustls` alone, reqwest has no
/// crypto provider of its own and panics when built unless a process-wide one is installed.
fn plain_http() -> reqwest::Client {
    feishu::install_crypto_provider();
    reqwest::Client::new()
}

/// Serves `dispatcher` at [`PATH`] with axum on an ephemeral port.
async fn serve(dispatcher: Dispatcher) -> Server {
    let app = axum::Router::new().route_service(PATH, dispatcher);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url: format!("http://{address}{PATH}"),
        http: plain_http(),
    }
}

impl Server {
    /// Posts `push`; the answer's status and JSON body.
    async fn post(&self, push: &Push) -> (u16, Value) {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json; charset=utf-8")
            .body(push.body.clone());
        for (name, value) in &push.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("a whole body");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("a JSON answer, not {:?}", String::from_utf8_lossy(&body)));
        (status, json)
    }
}

/// What a handler received, in order.
struct Record<T>(Arc<Mutex<Vec<T>>>);

// Derived, these would require `T: Clone + Default`.
impl<T> Clone for Record<T> {
    fn clone(&self) -> Self {
        Record(self.0.clone())
    }
}

impl<T> Default for Record<T> {
    fn default() -> Self {
        Record(Arc::default())
    }
}

impl<T: Clone> Record<T> {
    fn push(&self, value: T) {
        self.0.lock().unwrap().push(value);
    }

    fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// `builder` with a `MessageReceived` handler that records what it gets.
fn recording(builder: DispatcherBuilder) -> (Dispatcher, Record<(MessageReceived, EventContext)>) {
    let record = Record::default();
    let handled = record.clone();
    let dispatcher = builder
        .on(move |event: MessageReceived, context: EventContext| {
            handled.push((event, context));
            async { Ok::<(), BoxError>(()) }
        })
        .build();
    (dispatcher, record)
}

fn encrypted_app() -> DispatcherBuilder {
    Dispatcher::builder(TOKEN).encrypt_key(KEY)
}

// ---- The tests.

#[tokio::test]
async fn the_plain_and_the_encrypted_challenge_are_answered() {
    let challenge = |token: &str| json!({"challenge": "ajls384kdjx98XX", "token": token, "type": "url_verification"});

    let plain = serve(Dispatcher::builder(TOKEN).build()).await;
    let answer = plain.post(&Push::plain(&challenge(TOKEN))).await;
    assert_eq!(answer, (200, json!({"challenge": "ajls384kdjx98XX"})));
    let (status, _) = plain.post(&Push::plain(&challenge("another-token"))).await;
    assert_eq!(status, 401, "a challenge with a wrong token is refused");

    // Encrypted, the challenge comes without signature headers.
    let encrypted = serve(encrypted_app().build()).await;
    let body = json!({ "encrypt": encrypt(KEY, challenge(TOKEN).to_string().as_bytes()) });
    let answer = encrypted.post(&Push::plain(&body)).await;
    assert_eq!(answer, (200, json!({"challenge": "ajls384kdjx98XX"})));
    let body =
        json!({ "encrypt": encrypt(KEY, challenge("another-token").to_string().as_bytes()) });
    assert_eq!(encrypted.post(&Push::plain(&body)).await.0, 401);
}

#[tokio::test]
async fn an_encrypted_event_is_decrypted_and_its_typed_handler_run() {
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    let answer = server.post(&Push::sealed(&message("ev-1", "hello"))).await;
    assert_eq!(answer, (200, json!({})));

    let [(event, context)] = record.all().try_into().expect("one event handled");
    assert_eq!(
        event,
        MessageReceived {
            message: Message {
                chat_id: "oc_1".into(),
                content: "hello".into()
            }
        }
    );
    assert_eq!(context.schema, EventSchema::V2);
    assert_eq!(context.event_id, "ev-1");
    assert_eq!(context.event_type, "im.message.receive_v1");
    assert_eq!(context.app_id.as_deref(), Some("cli_test"));
    assert_eq!(context.tenant_key.as_deref(), Some("tenant-1"));
    let created = context.create_time.expect("create_time is read");
    assert!(created.elapsed().unwrap_or_default() < Duration::from_secs(60));
}

#[tokio::test]
async fn forged_requests_are_refused_with_401_and_run_no_handler() {
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    let genuine = Push::sealed(&message("ev-1", "hello"));

    // The body tampered with after signing: whitespace added, or another ciphertext
    // under the genuine headers, or one byte of the ciphertext changed.
    let mut spaced = genuine.clone();
    spaced.body.push(b' ');
    let mut swapped = Push::sealed(&message("ev-1", "evil"));
    swapped.headers = genuine.headers.clone();
    let mut flipped = genuine.clone();
    let at = flipped.body.len() / 2;
    flipped.body[at] = if flipped.body[at] == b'A' { b'B' } else { b'A' };
    // A wrong signature, none at all, and a body sealed and signed with another key.
    let wrong_signature = genuine.clone().header(SIGNATURE_HEADER, &"0".repeat(64));
    let mut unsigned = genuine.clone();
    unsigned
        .headers
        .retain(|(name, _)| *name != SIGNATURE_HEADER);
    let other_key = Push::sealed_at("another-encrypt-key", &message("ev-1", "hi"), unix_now());

    for (case, push) in [
        ("a body tampered with", spaced),
        ("another ciphertext", swapped),
        ("a ciphertext byte changed", flipped),
        ("a wrong signature", wrong_signature),
        ("no signature", unsigned),
        ("another Encrypt Key", other_key),
    ] {
        let (status, body) = server.post(&push).await;
        assert_eq!(status, 401, "{case}: {body}");
    }
    assert_eq!(record.len(), 0, "no handler ran");
    assert_eq!(
        server.post(&genuine).await.0,
        200,
        "the genuine request passes"
    );
    assert_eq!(record.len(), 1);

    // Without an Encrypt Key the verification token is checked.
    let (dispatcher, record) = recording(Dispatcher::builder(TOKEN));
    let server = serve(dispatcher).await;
    let mut wrong_token = message("ev-2", "hello");
    wrong_token["header"]["token"] = json!("another-token");
    let mut no_token = message("ev-3", "hello");
    no_token["header"].as_object_mut().unwrap().remove("token");
    assert_eq!(server.post(&Push::plain(&wrong_token)).await.0, 401);
    assert_eq!(server.post(&Push::plain(&no_token)).await.0, 401);
    assert_eq!(record.len(), 0, "no handler ran");
    assert_eq!(
        server.post(&Push::plain(&message("ev-4", "hi"))).await.0,
        200
    );
    assert_eq!(record.len(), 1);
}

#[tokio::test]
async fn a_request_outside_the_replay_window_is_refused() {
    let (dispatcher, record) =
        recording(encrypted_app().replay_window(Some(Duration::from_secs(300))));
    let server = serve(dispatcher).await;
    let now = unix_now();
    // Signed, so the timestamp is the sender's, not a forger's.
    let old = Push::sealed_at(KEY, &message("ev-old", "hi"), now - 600);
    let (status, body) = server.post(&old).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("replay window"),
        "{body}"
    );
    let ahead = Push::sealed_at(KEY, &message("ev-ahead", "hi"), now + 600);
    assert_eq!(server.post(&ahead).await.0, 401);
    let recent = Push::sealed_at(KEY, &message("ev-recent", "hi"), now - 60);
    assert_eq!(server.post(&recent).await.0, 200);
    assert_eq!(record.len(), 1);

    // Without the timestamp header, the envelope's create time counts.
    let (dispatcher, record) = recording(Dispatcher::builder(TOKEN));
    let server = serve(dispatcher).await;
    let mut stale = message("ev-stale", "hi");
    stale["header"]["create_time"] = json!(((now - 3600) * 1000).to_string());
    assert_eq!(server.post(&Push::plain(&stale)).await.0, 401);
    assert_eq!(record.len(), 0);
    // With the window off, the same request passes.
    let (dispatcher, record) = recording(Dispatcher::builder(TOKEN).replay_window(None));
    let server = serve(dispatcher).await;
    assert_eq!(server.post(&Push::plain(&stale)).await.0, 200);
    assert_eq!(record.len(), 1);
}

#[tokio::test]
async fn an_event_delivered_twice_runs_its_handler_once() {
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    // Feishu's retry: the same event, sealed and signed anew.
    let first = Push::sealed(&message("ev-1", "hello"));
    let again = Push::sealed(&message("ev-1", "hello"));
    assert_eq!(server.post(&first).await, (200, json!({})));
    assert_eq!(server.post(&again).await, (200, json!({})));
    assert_eq!(server.post(&first).await.0, 200);
    assert_eq!(record.len(), 1, "the handler ran once");
    // Another event id is another event.
    assert_eq!(
        server
            .post(&Push::sealed(&message("ev-2", "hello")))
            .await
            .0,
        200
    );
    assert_eq!(record.len(), 2);

    // The memory is bounded: with room for one id, the first is forgotten.
    let (dispatcher, record) = recording(encrypted_app().dedup_capacity(1));
    let server = serve(dispatcher).await;
    for id in ["ev-1", "ev-2", "ev-1"] {
        assert_eq!(server.post(&Push::sealed(&message(id, "hi"))).await.0, 200);
    }
    assert_eq!(record.len(), 3);
}

#[tokio::test]
async fn unknown_event_types_go_to_the_fallback_or_are_answered_200() {
    let unknown = v2("ev-1", "brand.new.event_v9", json!({"novel": [1, 2, 3]}));

    let raw = Record::<RawEvent>::default();
    let seen = raw.clone();
    let server = serve(
        encrypted_app()
            .fallback(move |event: RawEvent| {
                seen.push(event);
                async { Ok::<(), BoxError>(()) }
            })
            .build(),
    )
    .await;
    assert_eq!(server.post(&Push::sealed(&unknown)).await, (200, json!({})));
    let [event] = raw.all().try_into().expect("the fallback got it");
    assert_eq!(event.context.event_type, "brand.new.event_v9");
    assert_eq!(event.event, json!({"novel": [1, 2, 3]}));
    assert_eq!(event.envelope["header"]["event_id"], "ev-1");
    assert!(
        event.envelope["header"].get("token").is_none(),
        "the token is not handed on"
    );

    // Without a fallback the event is answered 200 all the same, not refused.
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    assert_eq!(server.post(&Push::sealed(&unknown)).await, (200, json!({})));
    assert_eq!(record.len(), 0);
}

#[tokio::test]
async fn a_1_0_event_is_dispatched_by_its_event_type() {
    let approvals = Record::default();
    let handled = approvals.clone();
    let server = serve(
        encrypted_app()
            .on(move |event: LeaveApproval, context: EventContext| {
                handled.push((event, context));
                async { Ok::<(), BoxError>(()) }
            })
            .build(),
    )
    .await;
    let envelope = json!({
        "ts": format!("{}.7171419", unix_now()),
        "uuid": "bc447199585340d1f3728d26b1c0297a",
        "token": TOKEN,
        "type": "event_callback",
        "event": {"app_id": "cli_test", "tenant_key": "tenant-1", "type": "leave_approval",
                  "instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71", "user_id": "b85s39"}
    });
    assert_eq!(
        server.post(&Push::sealed(&envelope)).await,
        (200, json!({}))
    );
    let [(event, context)] = approvals.all().try_into().expect("one approval handled");
    assert_eq!(event.instance_code, "81D31358-93AF-92D6-7425-01A5D67C4E71");
    assert_eq!(event.user_id, "b85s39");
    assert_eq!(context.schema, EventSchema::V1);
    assert_eq!(context.event_id, "bc447199585340d1f3728d26b1c0297a");
    assert_eq!(context.tenant_key.as_deref(), Some("tenant-1"));
}

#[tokio::test]
async fn a_card_action_is_answered_with_the_handlers_toast() {
    let actions = Record::default();
    let seen = actions.clone();
    let server = serve(
        encrypted_app()
            .on_card_action(move |action: CardAction, _context: EventContext| {
                let approved = action.action.value["decision"] == "approve";
                seen.push(action.action.value.clone());
                async move {
                    let toast = if approved {
                        Toast::success("Approved").i18n("zh_cn", "已批准")
                    } else {
                        Toast::error("Rejected")
                    };
                    Ok::<_, BoxError>(CardResponse::new().toast(toast))
                }
            })
            .build(),
    )
    .await;
    // The callback of the card-callback-communication page: a microsecond create_time.
    let mut callback = v2(
        "card-ev-1",
        "card.action.trigger",
        json!({
            "operator": {"open_id": "ou_3c14f3a59eaf2825dbe25359f15*****"},
            "token": "c-295ee57216a5dc9de90fefd0aadb4b1d7d******",
            "action": {"value": {"decision": "approve"}, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"}
        }),
    );
    callback["header"]["create_time"] = json!((unix_now() * 1_000_000).to_string());
    let answer = server.post(&Push::sealed(&callback)).await;
    assert_eq!(
        answer,
        (
            200,
            json!({"toast": {"type": "success", "content": "Approved", "i18n": {"zh_cn": "已批准"}}})
        )
    );
    assert_eq!(actions.all(), vec![json!({"decision": "approve"})]);
}

#[tokio::test]
async fn the_app_ticket_event_feeds_the_marketplace_client() {
    let emulator = Emulator::builder()
        .marketplace_app("cli_market", "market-secret-0123")
        .start()
        .await;
    let client = emulator.marketplace_client_builder().build().unwrap();
    let server = serve(encrypted_app().client(client.clone()).build()).await;

    let ticket = emulator.issue_app_ticket();
    // The example of the app_ticket event page, with this app and ticket.
    let envelope = json!({
        "ts": format!("{}.7171419", unix_now()),
        "uuid": "bc447199585340d1f3728d26b1c0297a",
        "token": TOKEN,
        "type": "event_callback",
        "event": {"app_id": "cli_market", "app_ticket": ticket, "type": "app_ticket"}
    });
    assert_eq!(
        server.post(&Push::sealed(&envelope)).await,
        (200, json!({}))
    );

    // The client now gets its app token with that ticket, without asking for a resend.
    client
        .raw(HttpMethod::Get, "/open-apis/event/v1/outbound_ip")
        .tenant_key("tenant-1")
        .await
        .expect("a call with the ticket the event brought");
    assert_eq!(emulator.app_ticket_resends(), 0);
    let sent_ticket = emulator
        .requests()
        .iter()
        .find(|r| r.path == "/open-apis/auth/v3/app_access_token")
        .map(|r| r.json()["app_ticket"].clone());
    assert_eq!(sent_ticket, Some(json!(ticket)));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let (dispatcher, record) = recording(encrypted_app().max_body_bytes(2048));
    let server = serve(dispatcher.clone()).await;
    let big = Push::sealed(&message("ev-big", &"x".repeat(4096)));
    let (status, body) = server.post(&big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(record.len(), 0);
    assert_eq!(
        server
            .post(&Push::sealed(&message("ev-small", "hi")))
            .await
            .0,
        200
    );

    // A body of unknown length that never ends: refused once the limit is passed, without
    // waiting for the rest (it would wait forever).
    let endless = futures_util::stream::repeat_with(|| {
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(bytes::Bytes::from_static(
            &[b' '; 512],
        )))
    });
    assert_eq!(post_stream(&dispatcher, endless).await, 413);
}

/// Posts a body that arrives as `frames` to the dispatcher's `handle_http`; the answer's
/// status, which must come within 5 s.
async fn post_stream<S>(dispatcher: &Dispatcher, frames: S) -> u16
where
    S: futures_util::Stream<
            Item = Result<hyper::body::Frame<bytes::Bytes>, std::convert::Infallible>,
        > + Send
        + 'static,
{
    let request = axum::http::Request::post(PATH)
        .body(http_body_util::StreamBody::new(frames))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), dispatcher.handle_http(request))
        .await
        .expect("answered without waiting for the whole body");
    response.status().as_u16()
}

#[tokio::test]
async fn in_the_background_mode_the_answer_does_not_wait_for_a_slow_handler() {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let (finished, mut finish) = tokio::sync::mpsc::unbounded_channel::<String>();
    let server = serve(
        encrypted_app()
            .handle_in_background(true)
            .on(move |event: MessageReceived, _context: EventContext| {
                let released = released.lock().unwrap().take();
                let finished = finished.clone();
                async move {
                    // Slower than Feishu's 3 seconds: it waits for the test.
                    if let Some(released) = released {
                        released.await.ok();
                    }
                    finished.send(event.message.content).ok();
                    Ok::<(), BoxError>(())
                }
            })
            .build(),
    )
    .await;
    let answer = tokio::time::timeout(
        Duration::from_secs(2),
        server.post(&Push::sealed(&message("ev-slow", "slow"))),
    )
    .await
    .expect("answered while the handler still runs");
    assert_eq!(answer, (200, json!({})));
    assert!(finish.try_recv().is_err(), "the handler has not finished");
    release.send(()).unwrap();
    let content = tokio::time::timeout(Duration::from_secs(5), finish.recv())
        .await
        .expect("the handler finishes in the background");
    assert_eq!(content.as_deref(), Some("slow"));
}

#[tokio::test]
async fn a_payload_that_does_not_match_its_type_is_a_400() {
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    let wrong = v2(
        "ev-1",
        "im.message.receive_v1",
        json!({"message": {"chat_id": 42, "content": "hi"}}),
    );
    let (status, body) = server.post(&Push::sealed(&wrong)).await;
    assert_eq!(status, 400, "{body}");
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.contains("im.message.receive_v1") && msg.contains("message.chat_id"),
        "{msg}"
    );
    assert_eq!(record.len(), 0);
    // Not JSON at all.
    let garbage = Push::signed(KEY, b"{not json".to_vec(), unix_now());
    assert_eq!(server.post(&garbage).await.0, 400);
}

#[tokio::test]
async fn the_dispatcher_mounts_in_plain_hyper_and_accepts_only_post() {
    let dispatcher = Dispatcher::builder(TOKEN).build();
    let address = feishu_tests::server::serve_dispatcher(dispatcher).await;
    let server = Server {
        url: format!("http://{address}{PATH}"),
        http: plain_http(),
    };
    let challenge = json!({"challenge": "c-1", "token": TOKEN, "type": "url_verification"});
    assert_eq!(
        server.post(&Push::plain(&challenge)).await,
        (200, json!({"challenge": "c-1"}))
    );
    let response = server.http.get(&server.url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_at_the_body_timeout() {
    let (dispatcher, record) =
        recording(encrypted_app().body_timeout(Some(Duration::from_millis(500))));
    // A byte every 200 ms, for ever.
    let trickle = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let frame = hyper::body::Frame::data(bytes::Bytes::from_static(b" "));
        Some((Ok::<_, std::convert::Infallible>(frame), ()))
    });
    assert_eq!(post_stream(&dispatcher, trickle).await, 408);
    assert_eq!(record.len(), 0);
}

#[tokio::test]
async fn an_event_id_too_long_to_remember_is_refused_with_400() {
    let (dispatcher, record) = recording(encrypted_app());
    let server = serve(dispatcher).await;
    let long = "e".repeat(feishu::events::MAX_EVENT_ID_BYTES + 1);
    let (status, body) = server.post(&Push::sealed(&message(&long, "hi"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("event id of 257 bytes"), "{body}");
    assert_eq!(record.len(), 0);
    let longest = "e".repeat(feishu::events::MAX_EVENT_ID_BYTES);
    assert_eq!(
        server.post(&Push::sealed(&message(&longest, "hi"))).await.0,
        200
    );
}

#[tokio::test]
async fn an_event_whose_handler_still_runs_is_not_forgotten_for_newer_ones() {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let runs = Record::<String>::default();
    let ran = runs.clone();
    let server = serve(
        encrypted_app()
            .dedup_capacity(2)
            .handle_in_background(true)
            .on(move |event: MessageReceived, context: EventContext| {
                ran.push(context.event_id);
                let released = (event.message.content == "slow")
                    .then(|| released.lock().unwrap().take())
                    .flatten();
                async move {
                    if let Some(released) = released {
                        released.await.ok();
                    }
                    Ok::<(), BoxError>(())
                }
            })
            .build(),
    )
    .await;
    assert_eq!(
        server
            .post(&Push::sealed(&message("ev-slow", "slow")))
            .await
            .0,
        200
    );
    for n in 0..10 {
        let id = format!("ev-{n}");
        assert_eq!(
            server.post(&Push::sealed(&message(&id, "quick"))).await.0,
            200
        );
    }
    // Feishu delivers the slow one again: it is still running, so it does not run twice.
    let (status, body) = server
        .post(&Push::sealed(&message("ev-slow", "slow")))
        .await;
    assert_eq!(status, 503, "{body}");
    release.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server
            .post(&Push::sealed(&message("ev-slow", "slow")))
            .await
            .0,
        200
    );
    let slow_runs = runs.all().iter().filter(|id| *id == "ev-slow").count();
    assert_eq!(slow_runs, 1);
}

//! The dispatcher: checks a request Feishu pushed and runs the handler of its event.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::Value;
use tokio::task::JoinError;
use tracing::Instrument;

use super::card::{
    CARD_ACTION_LATE_HINT, CARD_ACTION_TRIGGER, CARD_ANSWER_LATE, CARD_ANSWER_WINDOW, CardAction,
    CardResponse,
};
use super::crypto::{self, EncryptKey, same_token};
use super::dedup::{Claim, Claimed, Seen};
use super::envelope::{self, Delivery, EventContext, Incoming, RawEvent};
use super::replay::{self, parse_epoch};
use super::webhook::{Reply, WebhookRequest, WebhookResponse};
use super::{BoxError, Event, WebhookError};
use crate::client::Client;
use crate::secret::Secret;

/// How far a request's time may be from the server's clock, either way, by default.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How many event ids the dispatcher remembers by default, to run each event's handler once.
pub const DEFAULT_DEDUP_CAPACITY: usize = 10_000;
/// How many bytes the remembered event ids may take by default (with 64 bytes counted for
/// each id's bookkeeping): room for the default count of Feishu's 32-character ids.
pub const DEFAULT_DEDUP_MAX_BYTES: usize = 2 * 1024 * 1024;
/// The longest event id (`header.event_id`, or `uuid` in 1.0) accepted; a longer one is
/// refused with 400. Feishu's are 32 characters.
pub const MAX_EVENT_ID_BYTES: usize = 256;
/// The largest body the dispatcher reads by default: 1 MiB. Feishu's events are a few
/// kilobytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long reading a request's body over HTTP may take by default. Feishu sends a few
/// kilobytes at once; a body that trickles in must not hold a task forever.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The header with the time Feishu sent the request, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Lark-Request-Timestamp";
/// The header with the request's random nonce.
pub const NONCE_HEADER: &str = "X-Lark-Request-Nonce";
/// The header with the request's signature: lowercase hex of
/// SHA-256(timestamp ‖ nonce ‖ Encrypt Key ‖ body).
pub const SIGNATURE_HEADER: &str = "X-Lark-Signature";

/// The event type of the marketplace app's ticket, pushed every hour in the 1.0 envelope.
const APP_TICKET: &str = "app_ticket";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler's success makes the dispatcher answer.
enum Answer {
    /// 200 with `{}`.
    Ack,
    /// 200 with the card callback's answer.
    Card(CardResponse),
}

/// A handler as registered: decodes the payload (failing with
/// [`WebhookError::Payload`]) and returns the future that handles it.
type Handler =
    dyn Fn(Delivery) -> Result<BoxFuture<Result<Answer, BoxError>>, WebhookError> + Send + Sync;

#[derive(Clone)]
struct Route {
    handler: Arc<Handler>,
    /// Its answer is the HTTP body (a card callback), so it is awaited even when the
    /// dispatcher handles events in the background.
    answers: bool,
}

/// Receives the events and callbacks Feishu posts to an app's request URL ("将事件发送至开发者
/// 服务器"): answers the URL verification, decrypts, authenticates, refuses replays, runs each
/// event's handler once, and answers card callbacks.
///
/// Each request goes through, in order:
/// 1. the body limit ([`max_body_bytes`](DispatcherBuilder::max_body_bytes)): 413;
/// 2. parsing, and decryption of an `{"encrypt": …}` body with the Encrypt Key: 400 if it
///    is not JSON, not a Feishu envelope, or does not decrypt (401 instead if it does not
///    decrypt and its signature is wrong: what a wrong Encrypt Key or a tampered
///    ciphertext looks like);
/// 3. the URL verification (`"type": "url_verification"`): its token is checked (401) and its
///    `challenge` answered;
/// 4. authentication: with an [Encrypt Key](DispatcherBuilder::encrypt_key), the
///    `X-Lark-Signature` header over the raw body; without one, the envelope's verification
///    token. 401 if it fails;
/// 5. the [replay window](DispatcherBuilder::replay_window), on `X-Lark-Request-Timestamp`
///    (or, without that header, the envelope's create time): 401 outside it;
/// 6. deduplication on `event_id` (2.0) or `uuid` (1.0): an event already handled is
///    answered 200 without running its handler again; one whose handler is still running is
///    answered 503, so that Feishu tries again later;
/// 7. dispatch by event type to the handler registered with [`on`](DispatcherBuilder::on),
///    [`on_raw`](DispatcherBuilder::on_raw) or
///    [`on_card_action`](DispatcherBuilder::on_card_action), else to the
///    [`fallback`](DispatcherBuilder::fallback); an event type nothing handles is answered 200
///    (and logged at debug level), never refused. A payload that does not decode into its
///    handler's type is 400.
///
/// The handler's result decides the answer: 200, or 500 when it fails or panics (Feishu
/// then delivers the event again, and the handler runs again). Feishu waits 3 seconds for
/// the answer; for slower handlers see
/// [`handle_in_background`](DispatcherBuilder::handle_in_background).
///
/// The dispatcher is transport-independent ([`Dispatcher::handle`]) and a
/// `tower_service::Service` for `http::Request`s, so it mounts in axum and hyper. Cloning
/// it is cheap: clones share the handlers and the memory of events handled. Handlers run as
/// tokio tasks of their own, so the dispatcher must be used inside a tokio runtime.
///
/// ```
/// use feishu_runtime::event::{CardResponse, Dispatcher, EventContext, Toast};
///
/// #[derive(serde::Deserialize)]
/// struct ChatDisbanded {
///     chat_id: String,
/// }
///
/// impl feishu_runtime::event::Event for ChatDisbanded {
///     const EVENT_TYPE: &'static str = "im.chat.disbanded_v1";
/// }
///
/// let dispatcher = Dispatcher::builder("verification-token")
///     .encrypt_key("encrypt-key")
///     .on(|event: ChatDisbanded, context: EventContext| async move {
///         println!("{} disbanded ({})", event.chat_id, context.event_id);
///         Ok::<_, std::io::Error>(())
///     })
///     .on_card_action(|_action, _context| async move {
///         Ok::<_, std::io::Error>(CardResponse::new().toast(Toast::success("Done")))
///     })
///     .build();
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    token: Secret,
    key: Option<EncryptKey>,
    replay_window: Option<Duration>,
    max_body_bytes: usize,
    body_timeout: Option<Duration>,
    background: bool,
    seen: Arc<Seen>,
    routes: HashMap<String, Route>,
    fallback: Option<Arc<Handler>>,
    client: Option<Client>,
}

/// Sets up a [`Dispatcher`]: its secrets, limits and handlers.
pub struct DispatcherBuilder {
    token: Secret,
    key: Option<Secret>,
    replay_window: Option<Duration>,
    dedup_capacity: usize,
    dedup_max_bytes: usize,
    max_body_bytes: usize,
    body_timeout: Option<Duration>,
    background: bool,
    routes: HashMap<String, Route>,
    fallback: Option<Arc<Handler>>,
    client: Option<Client>,
}

impl Dispatcher {
    /// A dispatcher for the app whose Verification Token is `verification_token` (in the
    /// developer console, 事件与回调 > 加密策略).
    pub fn builder(verification_token: impl Into<Secret>) -> DispatcherBuilder {
        DispatcherBuilder {
            token: verification_token.into(),
            key: None,
            replay_window: Some(DEFAULT_REPLAY_WINDOW),
            dedup_capacity: DEFAULT_DEDUP_CAPACITY,
            dedup_max_bytes: DEFAULT_DEDUP_MAX_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            background: false,
            routes: HashMap::new(),
            fallback: None,
            client: None,
        }
    }

    /// Handles one request: its headers and its whole body. Never fails: every outcome is
    /// an answer, with the [`WebhookError`] (if any) beside it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, when an event's handler is to run.
    pub async fn handle(&self, request: WebhookRequest) -> WebhookResponse {
        match self.process(request).await {
            Ok(reply) => reply.into_response(),
            Err(err) => {
                log_error(&err);
                WebhookResponse::from_error(err)
            }
        }
    }

    /// The largest body [`Dispatcher::handle`] accepts.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// How long [`Dispatcher::handle_http`] waits for a body; `None`: as long as it takes.
    pub fn body_timeout(&self) -> Option<Duration> {
        self.inner.body_timeout
    }

    async fn process(&self, request: WebhookRequest) -> Result<Reply, WebhookError> {
        let inner = &*self.inner;
        if request.body.len() > inner.max_body_bytes {
            return Err(WebhookError::BodyTooLarge {
                limit: inner.max_body_bytes,
            });
        }
        let parsed = match envelope::parse(&request.body, inner.key.as_ref()) {
            Err(WebhookError::Undecryptable) => {
                return Err(inner.undecryptable(&request.headers, &request.body));
            }
            parsed => parsed?,
        };
        let delivery = match parsed {
            Incoming::Challenge { challenge, token } => {
                inner.check_token(token.as_deref())?;
                tracing::info!("answered Feishu's URL verification");
                return Ok(Reply::Challenge(challenge));
            }
            Incoming::Event(delivery) => delivery,
            Incoming::CardV1(delivery) => return self.card_v1(&request, delivery).await,
        };
        inner.authenticate(&request.headers, &request.body, &delivery)?;
        inner.check_replay(&request.headers, &delivery.context)?;
        self.claim_and_dispatch(delivery).await
    }

    /// A 1.0 card callback of the old card request URL: signed over the Verification Token
    /// (or, encrypted, over the Encrypt Key), named by its signature, answered in its form.
    async fn card_v1(
        &self,
        request: &WebhookRequest,
        mut delivery: Delivery,
    ) -> Result<Reply, WebhookError> {
        let inner = &*self.inner;
        let signature = inner.authenticate_card_v1(&request.headers, &request.body)?;
        inner.check_replay(&request.headers, &delivery.context)?;
        delivery.context.event_id = format!("card-v1:{signature}");
        match self.claim_and_dispatch(delivery).await? {
            Reply::Card(answer) => Ok(Reply::CardV1(answer)),
            reply => Ok(reply),
        }
    }

    /// Handles a payload that came over a channel Feishu itself authenticated (the long
    /// connection): the body limit, parsing, deduplication, routing and the handler's
    /// answer as for [`Dispatcher::handle`], without the signature, token and replay checks,
    /// which such payloads do not carry. A URL verification is refused: none comes that way.
    /// Whether the answer is a card callback's is returned beside it.
    #[cfg(feature = "websocket")]
    pub(crate) async fn handle_authenticated(&self, payload: &[u8]) -> (WebhookResponse, bool) {
        match self.process_authenticated(payload).await {
            Ok(reply) => {
                let card = matches!(reply, Reply::Card(_));
                (reply.into_response(), card)
            }
            Err(err) => {
                log_error(&err);
                (WebhookResponse::from_error(err), false)
            }
        }
    }

    #[cfg(feature = "websocket")]
    async fn process_authenticated(&self, payload: &[u8]) -> Result<Reply, WebhookError> {
        let inner = &*self.inner;
        if payload.len() > inner.max_body_bytes {
            return Err(WebhookError::BodyTooLarge {
                limit: inner.max_body_bytes,
            });
        }
        match envelope::parse(payload, inner.key.as_ref())? {
            Incoming::Event(delivery) => self.claim_and_dispatch(delivery).await,
            Incoming::Challenge { .. } => Err(WebhookError::NotAnEnvelope(
                "a url_verification, which only a request URL receives".to_owned(),
            )),
            Incoming::CardV1(_) => Err(WebhookError::NotAnEnvelope(
                "a 1.0 card callback, which only a card request URL receives".to_owned(),
            )),
        }
    }

    /// Runs an authenticated delivery's handler, once per event id.
    async fn claim_and_dispatch(&self, delivery: Delivery) -> Result<Reply, WebhookError> {
        let inner = &*self.inner;
        let claim = match inner.seen.claim(&delivery.context.event_id) {
            Claimed::New(claim) => claim,
            Claimed::Done => {
                tracing::debug!(
                    event_type = %delivery.context.event_type,
                    event_id = %delivery.context.event_id,
                    "a duplicate delivery; its handler already ran"
                );
                return Ok(Reply::Ack);
            }
            Claimed::InProgress => {
                return Err(WebhookError::InProgress {
                    event_id: delivery.context.event_id,
                });
            }
        };
        self.dispatch(delivery, claim).await
    }

    async fn dispatch(&self, delivery: Delivery, claim: Claim) -> Result<Reply, WebhookError> {
        let inner = &*self.inner;
        let fed = inner.feed_app_ticket(&delivery);
        let Some(route) = inner.route(&delivery.context.event_type, fed) else {
            if !fed {
                tracing::debug!(
                    event_type = %delivery.context.event_type,
                    event_id = %delivery.context.event_id,
                    "no handler for this event type; answered 200"
                );
            }
            claim.succeeded();
            return Ok(Reply::Ack);
        };
        let ids = EventIds::of(&delivery.context);
        // A payload that does not decode fails here, before anything runs; the claim is
        // dropped with it, so a corrected delivery would run.
        let future = (route.handler)(delivery)?;
        let span = tracing::debug_span!(
            "feishu.event",
            event_type = %ids.event_type,
            event_id = %ids.event_id
        );
        // A task of its own: a handler that panics fails its event (500), not the server's
        // connection task, and one that outlives Feishu's 3 seconds is not cancelled halfway
        // when Feishu hangs up.
        // A callback's lateness is judged in the task, which runs to its end even when
        // Feishu has hung up and the request's future is gone.
        let late = route
            .answers
            .then(|| (ids.clone(), tokio::time::Instant::now()));
        let task = tokio::spawn(
            async move {
                let result = run(future, claim).await;
                if let Some((ids, started)) = late {
                    ids.warn_if_late(started.elapsed());
                }
                result
            }
            .instrument(span),
        );
        if inner.background && !route.answers {
            tokio::spawn(async move {
                if let Err(err) = ids.finish(task.await) {
                    log_error(&err);
                }
            });
            return Ok(Reply::Ack);
        }
        ids.finish(task.await)
    }
}

/// Runs a handler, keeping its event remembered only if it succeeds.
async fn run(
    future: BoxFuture<Result<Answer, BoxError>>,
    claim: Claim,
) -> Result<Answer, BoxError> {
    let result = future.await;
    if result.is_ok() {
        claim.succeeded();
    }
    result
}

/// An event's type and id, kept for what is said about its handler's end.
#[derive(Clone)]
struct EventIds {
    event_type: String,
    event_id: String,
}

impl EventIds {
    fn of(context: &EventContext) -> Self {
        EventIds {
            event_type: context.event_type.clone(),
            event_id: context.event_id.clone(),
        }
    }

    /// Says so when a callback's answer came after Feishu stopped waiting: the user saw
    /// an error, and the answer (a toast, a new card) is lost.
    fn warn_if_late(&self, took: Duration) {
        if took > CARD_ANSWER_WINDOW {
            tracing::warn!(
                event_type = %self.event_type,
                event_id = %self.event_id,
                took_ms = took.as_millis() as u64,
                feishu_error = CARD_ANSWER_LATE,
                "{CARD_ACTION_LATE_HINT}"
            );
        }
    }

    fn finish(
        self,
        joined: Result<Result<Answer, BoxError>, JoinError>,
    ) -> Result<Reply, WebhookError> {
        let EventIds {
            event_type,
            event_id,
        } = self;
        match joined {
            Ok(Ok(Answer::Ack)) => Ok(Reply::Ack),
            Ok(Ok(Answer::Card(card))) => Ok(Reply::Card(card)),
            Ok(Err(source)) => Err(WebhookError::Handler {
                event_type,
                event_id,
                source,
            }),
            Err(join) if join.is_panic() => Err(WebhookError::HandlerPanicked {
                event_type,
                event_id,
            }),
            // Cancelled: the runtime is shutting down.
            Err(join) => Err(WebhookError::Handler {
                event_type,
                event_id,
                source: Box::new(join),
            }),
        }
    }
}

/// Logs a refusal or a failure: a handler's failure as an error, a refused request as a
/// warning (a wrong token or key is a misconfiguration someone should see), and an event
/// delivered again while its handler runs at debug level, since it is routine.
pub(super) fn log_error(err: &WebhookError) {
    let status = err.status().as_u16();
    match err {
        WebhookError::InProgress { .. } => tracing::debug!(status, error = %err, "event refused"),
        _ if err.status().is_server_error() => {
            tracing::error!(status, error = %err, "event handler failed")
        }
        _ => tracing::warn!(status, error = %err, "event refused"),
    }
}

impl Inner {
    /// The handler of `event_type`: its own, else the fallback, unless the event was an
    /// app_ticket the client took (`fed`), which needs no other handler.
    fn route(&self, event_type: &str, fed: bool) -> Option<Route> {
        if let Some(route) = self.routes.get(event_type) {
            return Some(route.clone());
        }
        if fed {
            return None;
        }
        let handler = self.fallback.clone()?;
        Some(Route {
            handler,
            answers: false,
        })
    }

    /// Checks a verification token against the configured one.
    fn check_token(&self, received: Option<&str>) -> Result<(), WebhookError> {
        match received {
            Some(received) if same_token(&self.token, received) => Ok(()),
            _ => Err(WebhookError::BadToken),
        }
    }

    /// The signature when there is an Encrypt Key (Feishu then signs every event), the
    /// verification token otherwise.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        delivery: &Delivery,
    ) -> Result<(), WebhookError> {
        match &self.key {
            Some(key) => verify_signature(key, headers, body),
            None => self.check_token(delivery.token.as_deref()),
        }
    }

    /// Authenticates a 1.0 card callback: its `X-Lark-Signature` is SHA-1 over the
    /// Verification Token, as Feishu's SDKs check it; an encrypted one may instead carry the
    /// Encrypt Key's SHA-256 signature, as Feishu's Node SDK checks it. Its signature,
    /// lowercase.
    fn authenticate_card_v1(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, WebhookError> {
        let timestamp = signature_header(headers, TIMESTAMP_HEADER)?;
        let nonce = signature_header(headers, NONCE_HEADER)?;
        let signature = signature_header(headers, SIGNATURE_HEADER)?;
        let by_token = crypto::verify_card_v1(&self.token, timestamp, nonce, body, signature);
        let by_key = || {
            self.key
                .as_ref()
                .is_some_and(|key| key.verify(timestamp, nonce, body, signature))
        };
        match by_token || by_key() {
            // Bounded: a longer header could not have matched a digest.
            true => Ok(signature.trim().to_ascii_lowercase()),
            false => Err(WebhookError::BadSignature),
        }
    }

    /// Why a body that does not decrypt is refused. A signed one whose signature is wrong
    /// was forged, tampered with or made with another Encrypt Key: it fails authentication
    /// (401), like any request with a wrong signature. Otherwise the body is just broken
    /// (400).
    fn undecryptable(&self, headers: &HeaderMap, body: &[u8]) -> WebhookError {
        if let Some(key) = &self.key
            && headers.contains_key(SIGNATURE_HEADER)
            && let Err(err) = verify_signature(key, headers, body)
        {
            return err;
        }
        WebhookError::Undecryptable
    }

    /// Refuses a request sent outside the replay window. The time is the
    /// `X-Lark-Request-Timestamp` header, which the signature covers; without it, the
    /// envelope's create time. A request with neither passes: there is nothing to check.
    fn check_replay(
        &self,
        headers: &HeaderMap,
        context: &EventContext,
    ) -> Result<(), WebhookError> {
        let Some(window) = self.replay_window else {
            return Ok(());
        };
        let sent = match headers.get(TIMESTAMP_HEADER) {
            Some(value) => {
                let text = String::from_utf8_lossy(value.as_bytes());
                let sent = parse_epoch(&text).ok_or_else(|| WebhookError::InvalidTimestamp {
                    value: text.chars().take(32).collect(),
                })?;
                Some(sent)
            }
            None => context.create_time,
        };
        match sent {
            Some(sent) => replay::check(SystemTime::now(), sent, window),
            None => Ok(()),
        }
    }

    /// Hands the ticket of an `app_ticket` event to the marketplace client, if the
    /// dispatcher has one and the ticket is for its app. Whether it did.
    fn feed_app_ticket(&self, delivery: &Delivery) -> bool {
        let Some(client) = &self.client else {
            return false;
        };
        if delivery.context.event_type != APP_TICKET || !client.is_marketplace() {
            return false;
        }
        let app_id = &client.inner.auth.app_id;
        if delivery
            .context
            .app_id
            .as_ref()
            .is_some_and(|id| id != app_id)
        {
            tracing::warn!(
                event_app_id = delivery.context.app_id.as_deref(),
                client_app_id = %app_id,
                "an app_ticket event for another app; not handed to the client"
            );
            return false;
        }
        let Some(ticket) = delivery.event.get("app_ticket").and_then(Value::as_str) else {
            tracing::warn!("an app_ticket event without `event.app_ticket`");
            return false;
        };
        client.set_app_ticket(ticket);
        tracing::debug!(app_id = %app_id, "handed the new app_ticket to the client");
        true
    }
}

/// Checks `X-Lark-Signature` against the timestamp, the nonce and the raw body.
fn verify_signature(
    key: &EncryptKey,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), WebhookError> {
    let timestamp = signature_header(headers, TIMESTAMP_HEADER)?;
    let nonce = signature_header(headers, NONCE_HEADER)?;
    let signature = signature_header(headers, SIGNATURE_HEADER)?;
    if key.verify(timestamp, nonce, body, signature) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

fn signature_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::MissingSignature { header: name })
}

/// Decodes an event's payload into `E`, saying where it does not match.
fn decode<E: Event>(delivery: Delivery) -> Result<(E, EventContext), WebhookError> {
    let Delivery { context, event, .. } = delivery;
    match serde_path_to_error::deserialize::<_, E>(event) {
        Ok(payload) => Ok((payload, context)),
        Err(err) => Err(WebhookError::Payload {
            path: err.path().to_string(),
            message: err.into_inner().to_string(),
            event_type: context.event_type,
        }),
    }
}

impl DispatcherBuilder {
    /// The app's Encrypt Key (事件与回调 > 加密策略). With it, Feishu encrypts every body and
    /// signs every request, and the dispatcher checks the signature instead of the
    /// verification token. Without it, a body that comes encrypted is refused (400).
    pub fn encrypt_key(mut self, key: impl Into<Secret>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// How far a request's time may be from this server's clock, either way, before it is
    /// refused as a replay (default [`DEFAULT_REPLAY_WINDOW`]); `None` turns the check off.
    ///
    /// The time is `X-Lark-Request-Timestamp`, which the signature covers when there is an
    /// Encrypt Key. Without that header it is the event's own create time, which stays that
    /// of the first delivery: Feishu's retries after an hour or six would be refused by a
    /// short window, which is why the header is preferred.
    pub fn replay_window(mut self, window: Option<Duration>) -> Self {
        self.replay_window = window;
        self
    }

    /// How many event ids are remembered to run each event's handler once (default
    /// [`DEFAULT_DEDUP_CAPACITY`]); the oldest is forgotten first. 0 turns deduplication off.
    /// The ids of handlers still running are not counted, and never forgotten while they
    /// run.
    pub fn dedup_capacity(mut self, ids: usize) -> Self {
        self.dedup_capacity = ids;
        self
    }

    /// How many bytes the remembered event ids may take (default
    /// [`DEFAULT_DEDUP_MAX_BYTES`], each id counted with 64 bytes of bookkeeping); the
    /// oldest is forgotten first. 0 turns deduplication off.
    pub fn dedup_max_bytes(mut self, bytes: usize) -> Self {
        self.dedup_max_bytes = bytes;
        self
    }

    /// The largest body accepted, in bytes (default [`DEFAULT_MAX_BODY_BYTES`]); a bigger
    /// one is refused with 413, and over HTTP without reading more of it than the limit.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How long reading a body over HTTP ([`Dispatcher::handle_http`], and the dispatcher
    /// as a `tower_service::Service`) may take (default [`DEFAULT_BODY_TIMEOUT`]); a body
    /// that is not whole by then is answered 408. `None` leaves it to the server.
    pub fn body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Whether events are answered (200) as soon as they are checked, with their handlers
    /// running in the background (default `false`: the handler is awaited, and its failure
    /// answers 500 so that Feishu delivers the event again).
    ///
    /// For handlers that may take longer than Feishu's 3-second limit, after which Feishu
    /// counts the delivery as failed and delivers the event again. The price: a handler's
    /// failure is only logged (with `tracing`), Feishu does not retry it. Checks and payload
    /// decoding still happen before the answer. Card callbacks are always awaited, since
    /// their answer is the handler's result.
    pub fn handle_in_background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// The client of the app: the marketplace app's `app_ticket` events (pushed every hour)
    /// are handed to [`Client::set_app_ticket`]. A handler registered for `app_ticket`
    /// still runs; the fallback does not.
    pub fn client(mut self, client: impl Into<Client>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// Handles the events of type `E::EVENT_TYPE` with `handler`, which receives the decoded
    /// payload and the envelope's [`EventContext`]. Registering a type again replaces its
    /// handler.
    pub fn on<E, H, Fut, Err>(self, handler: H) -> Self
    where
        E: Event,
        H: Fn(E, EventContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Err>> + Send + 'static,
        Err: Into<BoxError> + 'static,
    {
        let handler = move |delivery: Delivery| {
            let (payload, context) = decode::<E>(delivery)?;
            Ok(boxed(acknowledged(handler(payload, context))))
        };
        self.route(E::EVENT_TYPE.to_owned(), Arc::new(handler), false)
    }

    /// Handles the events of type `event_type` with `handler`, which receives the payload
    /// (the envelope's `event` object) undecoded. For event types without a generated
    /// type, or payloads read partially.
    pub fn on_raw<H, Fut, Err>(self, event_type: impl Into<String>, handler: H) -> Self
    where
        H: Fn(Value, EventContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Err>> + Send + 'static,
        Err: Into<BoxError> + 'static,
    {
        let handler = move |delivery: Delivery| {
            let Delivery { context, event, .. } = delivery;
            Ok(boxed(acknowledged(handler(event, context))))
        };
        self.route(event_type.into(), Arc::new(handler), false)
    }

    /// Handles card callbacks (`card.action.trigger`) with `handler`, whose
    /// [`CardResponse`] is the answer: a toast, a new card, both or neither. Always awaited,
    /// also with [`handle_in_background`](Self::handle_in_background): the Feishu client
    /// waits for the answer, at most 3 seconds ([`CARD_ANSWER_WINDOW`]). A handler that
    /// takes longer leaves the user with error 200341 and its answer lost; the dispatcher
    /// logs a warning saying so. Answer at once, and do slow work after, updating the card
    /// with the callback's token.
    pub fn on_card_action<H, Fut, Err>(self, handler: H) -> Self
    where
        H: Fn(CardAction, EventContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CardResponse, Err>> + Send + 'static,
        Err: Into<BoxError> + 'static,
    {
        let handler = move |delivery: Delivery| {
            let (action, context) = decode::<CardAction>(delivery)?;
            let future = handler(action, context);
            Ok(boxed(async move {
                future.await.map(Answer::Card).map_err(Into::into)
            }))
        };
        self.route(CARD_ACTION_TRIGGER.to_owned(), Arc::new(handler), true)
    }

    /// Handles every event of a type no other handler is registered for, with its
    /// envelope. Without a fallback such events are answered 200 and logged at debug level.
    pub fn fallback<H, Fut, Err>(mut self, handler: H) -> Self
    where
        H: Fn(RawEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Err>> + Send + 'static,
        Err: Into<BoxError> + 'static,
    {
        let handler =
            move |delivery: Delivery| Ok(boxed(acknowledged(handler(delivery.into_raw()))));
        self.fallback = Some(Arc::new(handler));
        self
    }

    /// The dispatcher.
    pub fn build(self) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                token: self.token,
                key: self.key.map(EncryptKey::new),
                replay_window: self.replay_window,
                max_body_bytes: self.max_body_bytes,
                body_timeout: self.body_timeout,
                background: self.background,
                seen: Seen::new(self.dedup_capacity, self.dedup_max_bytes),
                routes: self.routes,
                fallback: self.fallback,
                client: self.client,
            }),
        }
    }

    fn route(mut self, event_type: String, handler: Arc<Handler>, answers: bool) -> Self {
        self.routes.insert(event_type, Route { handler, answers });
        self
    }
}

/// A handler's `Result<(), E>` as the dispatcher's.
async fn acknowledged<Err: Into<BoxError>>(
    future: impl Future<Output = Result<(), Err>>,
) -> Result<Answer, BoxError> {
    future.await.map(|()| Answer::Ack).map_err(Into::into)
}

fn boxed<T>(future: impl Future<Output = T> + Send + 'static) -> BoxFuture<T> {
    Box::pin(future)
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut event_types: Vec<&str> = inner.routes.keys().map(String::as_str).collect();
        event_types.sort_unstable();
        f.debug_struct("Dispatcher")
            .field("verification_token", &inner.token)
            .field("encrypt_key", &inner.key.as_ref().map(|_| "***"))
            .field("replay_window", &inner.replay_window)
            .field("max_body_bytes", &inner.max_body_bytes)
            .field("body_timeout", &inner.body_timeout)
            .field("handle_in_background", &inner.background)
            .field("event_types", &event_types)
            .field("fallback", &inner.fallback.is_some())
            .field("client", &inner.client)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut event_types: Vec<&str> = self.routes.keys().map(String::as_str).collect();
        event_types.sort_unstable();
        f.debug_struct("DispatcherBuilder")
            .field("verification_token", &self.token)
            .field("encrypt_key", &self.key)
            .field("replay_window", &self.replay_window)
            .field("dedup_capacity", &self.dedup_capacity)
            .field("dedup_max_bytes", &self.dedup_max_bytes)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("body_timeout", &self.body_timeout)
            .field("handle_in_background", &self.background)
            .field("event_types", &event_types)
            .field("fallback", &self.fallback.is_some())
            .field("client", &self.client)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aes::Aes256;
    use base64::Engine;
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
    use http::StatusCode;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::event::card::{Card, Toast};
    use crate::event::envelope::EventSchema;

    const TOKEN: &str = "v-token-123";
    const KEY: &str = "encrypt-key-456";

    #[derive(Debug, serde::Deserialize)]
    struct Ping {
        count: u32,
    }

    impl Event for Ping {
        const EVENT_TYPE: &'static str = "test.ping_v1";
    }

    fn now() -> String {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string()
    }

    fn event(event_id: &str, event: Value) -> Value {
        json!({
            "schema": "2.0",
            "header": {"event_id": event_id, "event_type": "test.ping_v1",
                       "create_time": format!("{}000", now()), "token": TOKEN,
                       "app_id": "cli_1", "tenant_key": "t-1"},
            "event": event
        })
    }

    fn plain(body: &Value) -> WebhookRequest {
        WebhookRequest::new(HeaderMap::new(), body.to_string())
    }

    /// Encrypts and signs as Feishu does, with the cipher crates directly (not the code
    /// under test), and a fixed IV.
    fn encrypted(body: &Value) -> WebhookRequest {
        encrypted_with(KEY, body)
    }

    fn encrypted_with(encrypt_key: &str, body: &Value) -> WebhookRequest {
        let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
        let iv = [7u8; 16];
        let mut data = iv.to_vec();
        data.extend(
            cbc::Encryptor::<Aes256>::new_from_slices(&key, &iv)
                .unwrap()
                .encrypt_padded_vec::<Pkcs7>(body.to_string().as_bytes()),
        );
        let encrypt = base64::engine::general_purpose::STANDARD.encode(data);
        let raw = json!({ "encrypt": encrypt }).to_string();
        let timestamp = now();
        let signature = Sha256::new()
            .chain_update(format!("{timestamp}nonce-1{encrypt_key}"))
            .chain_update(&raw)
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        headers.insert(NONCE_HEADER, "nonce-1".parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        WebhookRequest::new(headers, raw)
    }

    /// A dispatcher whose `Ping` handler counts its runs and fails for `count == 0`.
    fn counting(builder: DispatcherBuilder) -> (Dispatcher, Arc<AtomicUsize>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let dispatcher = builder
            .on(move |ping: Ping, _context: EventContext| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if ping.count == 0 {
                        return Err("count is zero".into());
                    }
                    Ok::<(), BoxError>(())
                }
            })
            .build();
        (dispatcher, runs)
    }

    /// A 1.0 card callback of the old card request URL, signed with `token` as Feishu's
    /// SDKs check it: SHA-1(timestamp ‖ nonce ‖ token ‖ body), computed here with the
    /// digest crate directly.
    fn card_v1(nonce: &str, token: &str) -> WebhookRequest {
        let body = json!({
            "open_id": "ou_1", "user_id": "u_1", "open_message_id": "om_1",
            "open_chat_id": "oc_1", "tenant_key": "t-1", "token": "c-update-token",
            "action": {"value": {"decision": "approve"}, "tag": "button"}
        })
        .to_string();
        let timestamp = now();
        let signature = sha1::Sha1::new()
            .chain_update(format!("{timestamp}{nonce}{token}"))
            .chain_update(&body)
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        headers.insert(NONCE_HEADER, nonce.parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        WebhookRequest::new(headers, body)
    }

    #[tokio::test]
    async fn a_1_0_card_callback_is_handled_and_answered_with_the_new_card() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let dispatcher = Dispatcher::builder(TOKEN)
            .on_card_action(move |action: CardAction, context: EventContext| {
                record.lock().unwrap().push((action, context));
                let card = Card::raw(json!({"elements": [{"tag": "div"}]}));
                async move { Ok::<_, BoxError>(CardResponse::new().card(card)) }
            })
            .build();

        let response = dispatcher.handle(card_v1("nonce-a", TOKEN)).await;
        assert_eq!(response.status, StatusCode::OK, "{:?}", response.error);
        let answer: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            answer,
            json!({"elements": [{"tag": "div"}]}),
            "the card itself"
        );
        {
            let seen = seen.lock().unwrap();
            let (action, context) = &seen[0];
            assert_eq!(action.action.value, json!({"decision": "approve"}));
            assert_eq!(action.operator.open_id.as_deref(), Some("ou_1"));
            assert_eq!(action.context.open_message_id.as_deref(), Some("om_1"));
            assert_eq!(action.context.open_chat_id.as_deref(), Some("oc_1"));
            assert_eq!(
                action.token.as_ref().map(Secret::expose),
                Some("c-update-token")
            );
            assert_eq!(context.schema, EventSchema::CardV1);
            assert_eq!(context.event_type, CARD_ACTION_TRIGGER);
            assert_eq!(context.tenant_key.as_deref(), Some("t-1"));
            assert!(context.event_id.starts_with("card-v1:"));
        }

        // The same request again is a duplicate; a second click (a new nonce) is not.
        let again = card_v1("nonce-a", TOKEN);
        assert_eq!(dispatcher.handle(again).await.status, StatusCode::OK);
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(
            dispatcher.handle(card_v1("nonce-b", TOKEN)).await.status,
            StatusCode::OK
        );
        assert_eq!(seen.lock().unwrap().len(), 2);

        // Signed with another token, or not signed: refused, the handler not run.
        let forged = dispatcher.handle(card_v1("nonce-c", "another-token")).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        let mut unsigned = card_v1("nonce-d", TOKEN);
        unsigned.headers.remove(SIGNATURE_HEADER);
        assert_eq!(
            dispatcher.handle(unsigned).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_1_0_card_callback_answered_with_a_toast_keeps_the_2_0_form() {
        let dispatcher = Dispatcher::builder(TOKEN)
            .on_card_action(|_: CardAction, _: EventContext| async {
                Ok::<_, BoxError>(CardResponse::new().toast(Toast::info("done")))
            })
            .build();
        let response = dispatcher.handle(card_v1("nonce-a", TOKEN)).await;
        let answer: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            answer,
            json!({"toast": {"type": "info", "content": "done"}})
        );
    }

    #[tokio::test]
    async fn answers_the_challenge_after_checking_its_token() {
        let dispatcher = Dispatcher::builder(TOKEN).build();
        let challenge = |token: &str| {
            plain(&json!({"challenge": "c-1", "token": token, "type": "url_verification"}))
        };
        let response = dispatcher.handle(challenge(TOKEN)).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, r#"{"challenge":"c-1"}"#);
        let response = dispatcher.handle(challenge("wrong")).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(matches!(response.error, Some(WebhookError::BadToken)));
    }

    #[tokio::test]
    async fn decrypts_and_checks_the_signature() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN).encrypt_key(KEY));
        let response = dispatcher
            .handle(encrypted(&event("e-1", json!({"count": 1}))))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{:?}", response.error);
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        // The same body signed for another nonce.
        let mut forged = encrypted(&event("e-2", json!({"count": 1})));
        forged
            .headers
            .insert(NONCE_HEADER, "nonce-2".parse().unwrap());
        let response = dispatcher.handle(forged).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(matches!(response.error, Some(WebhookError::BadSignature)));

        let mut unsigned = encrypted(&event("e-3", json!({"count": 1})));
        unsigned.headers.remove(SIGNATURE_HEADER);
        let response = dispatcher.handle(unsigned).await;
        assert!(matches!(
            response.error,
            Some(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER
            })
        ));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "no handler ran for a refused request"
        );
    }

    #[tokio::test]
    async fn a_body_that_does_not_decrypt_is_401_when_signed_wrongly_else_400() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN).encrypt_key(KEY));
        // Encrypted and signed with another key: authentication fails.
        let other = encrypted_with("another-key", &event("e-1", json!({"count": 1})));
        let response = dispatcher.handle(other.clone()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(matches!(response.error, Some(WebhookError::BadSignature)));
        // Unsigned, it is merely undecryptable.
        let mut unsigned = other;
        unsigned.headers.clear();
        let response = dispatcher.handle(unsigned).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert!(matches!(response.error, Some(WebhookError::Undecryptable)));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn without_an_encrypt_key_checks_the_token_and_refuses_encrypted_bodies() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN));
        let mut body = event("e-1", json!({"count": 1}));
        body["header"]["token"] = json!("wrong");
        let response = dispatcher.handle(plain(&body)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        body["header"].as_object_mut().unwrap().remove("token");
        let response = dispatcher.handle(plain(&body)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        let response = dispatcher
            .handle(encrypted(&event("e-1", json!({"count": 1}))))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert!(matches!(
            response.error,
            Some(WebhookError::EncryptKeyMissing)
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_payload_of_the_wrong_shape_is_a_400_with_its_path() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN));
        let response = dispatcher
            .handle(plain(&event("e-1", json!({"count": "three"}))))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        let Some(WebhookError::Payload {
            event_type, path, ..
        }) = &response.error
        else {
            panic!("{:?}", response.error);
        };
        assert_eq!(
            (event_type.as_str(), path.as_str()),
            ("test.ping_v1", "count")
        );
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_failed_handler_is_a_500_and_runs_again_on_the_retry() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN));
        let failing = plain(&event("e-1", json!({"count": 0})));
        let response = dispatcher.handle(failing.clone()).await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(response.error, Some(WebhookError::Handler { .. })));
        // The handler's own message stays out of the answer.
        assert!(!String::from_utf8_lossy(&response.body).contains("count is zero"));
        let response = dispatcher.handle(failing).await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the retry ran the handler again"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500() {
        let dispatcher = Dispatcher::builder(TOKEN)
            .on(|_: Ping, _| async move {
                if true {
                    panic!("handler bug");
                }
                Ok::<(), BoxError>(())
            })
            .build();
        let response = dispatcher
            .handle(plain(&event("e-1", json!({"count": 1}))))
            .await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(
            response.error,
            Some(WebhookError::HandlerPanicked { .. })
        ));
    }

    #[tokio::test]
    async fn an_event_delivered_while_its_handler_runs_is_a_503() {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let dispatcher = Dispatcher::builder(TOKEN)
            .on(move |_: Ping, _| {
                let released = released.lock().unwrap().take();
                async move {
                    if let Some(released) = released {
                        let _ = released.await;
                    }
                    Ok::<(), BoxError>(())
                }
            })
            .build();
        let request = plain(&event("e-1", json!({"count": 1})));
        let first = tokio::spawn({
            let (dispatcher, request) = (dispatcher.clone(), request.clone());
            async move { dispatcher.handle(request).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let again = dispatcher.handle(request.clone()).await;
        assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().status, StatusCode::OK);
        assert_eq!(dispatcher.handle(request).await.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_request_with_an_unreadable_timestamp_is_refused() {
        let (dispatcher, runs) = counting(Dispatcher::builder(TOKEN));
        let mut request = plain(&event("e-1", json!({"count": 1})));
        request
            .headers
            .insert(TIMESTAMP_HEADER, "yesterday".parse().unwrap());
        let response = dispatcher.handle(request).await;
        assert!(matches!(
            response.error,
            Some(WebhookError::InvalidTimestamp { .. })
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn is_send_sync_and_shows_no_secret() {
        fn send_sync<T: Send + Sync + Clone + 'static>() {}
        send_sync::<Dispatcher>();
        let builder = Dispatcher::builder(TOKEN).encrypt_key(KEY);
        let shown = format!("{builder:?}");
        let shown = format!("{shown} {:?}", builder.build());
        assert!(!shown.contains(TOKEN) && !shown.contains(KEY), "{shown}");
    }
}

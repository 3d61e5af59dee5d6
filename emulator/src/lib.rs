//! A local Feishu Open Platform: a real HTTP server on 127.0.0.1 for testing code that
//! uses the [`feishu`] crate, without network or real credentials.
//!
//! It serves:
//! - the auth endpoints, for internal apps (app_id + app_secret) and marketplace apps
//!   (app_ticket, per-tenant tokens, ticket resends), handing out tokens that expire;
//! - every generated endpoint, checking what Feishu checks: the access token and its kind,
//!   the helpdesk header's exact value, and the body against the endpoint's documented
//!   schema (its `body_schema`: fields, types, required ones, and the lengths and ranges
//!   the client checks), refusing with Feishu's codes (the page's own code where it lists
//!   one) and a field violation per field. The schema is data in the generated crate, so
//!   the emulator needs no extra feature of the service crates an app enables;
//! - paged lists over data a test loads ([`Emulator::load_list`]);
//! - uploads, reading each `multipart/form-data` body as it arrives and checking its
//!   fields and file parts against the endpoint (what arrived is in
//!   [`Recorded::form`](http::Recorded::form));
//! - downloads, answering with a file a test sets ([`Emulator::serve_file`]) or a
//!   default one;
//! - the long connection's endpoint and WebSocket ([`Emulator::long_connections`]): push
//!   events and card callbacks, read their acknowledgements, drop connections;
//! - faults on demand ([`Fault`]): rate limits with reset headers, 5xx, slow answers, HTML
//!   gateway pages, truncated JSON, dropped connections, and tokens that expire mid-run;
//! - and Feishu's side of events: [`webhook::Pusher`] posts events to an app's request URL,
//!   encrypted and signed, and delivers them again when the answer is late or fails.
//!
//! ```no_run
//! # async fn run() -> Result<(), feishu::Error> {
//! use feishu_emulator::{Emulator, Fault, Target};
//!
//! let emulator = Emulator::builder().helpdesk("hd_1", "hd-token").start().await;
//! let client = emulator.client_builder().build()?;
//! // The next call is rate-limited once; the client waits for the reset and retries.
//! emulator.inject(Target::Api, Fault::rate_limited(1), 1);
//! # Ok(())
//! # }
//! ```
//!
//! - the im core as a bot's tests need it: message content checked per `msg_type` (230001,
//!   and 230025 past its size limit), and the messages sent kept ([`Emulator::messages`]):
//!   read back, listed by chat, replied to, updated and deleted through their endpoints;
//!   the chats made kept too ([`Emulator::chats`]): read back, listed, updated and
//!   dissolved (a get, update or delete of a dissolved chat is refused with 232006).
//!
//! Query parameters, and rules the client does not check either (patterns), are not
//! checked. A valid
//! call is answered with its page's response example, ids made unique per call (a paged
//! list's example as its only page), unless [`Emulator::respond`] sets an answer; `{}`
//! where the page shows none.

#![warn(missing_docs)]
// `feishu::__for_each_endpoint!` visits every service, two macro calls deep each.
#![recursion_limit = "512"]

mod answers;
pub mod codes;
pub mod control;
mod fault;
mod files;
pub mod form;
pub mod http;
mod im;
mod lists;
pub mod long_connection;
mod rate_limits;
mod routes;
mod schema;
pub mod webhook;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use feishu::runtime::Secret;
use feishu::runtime::wire::HELPDESK_HEADER;
use feishu::{BaseUrl, ClientBuilder};
use serde_json::{Value, json};

use fault::Scheduled;
pub use fault::{Fault, Target};
pub use files::ServedFile;
use http::{Recorded, Reply, Server};
use long_connection::LongConnections;
use routes::Route;

/// The internal app the emulator knows unless told otherwise: an app id of Feishu's form
/// (`cli_` and 16 hex digits), which Feishu's Node SDK requires of a long connection.
pub const DEFAULT_APP_ID: &str = "cli_e0a1b2c3d4e5f607";
/// The internal app's secret.
pub const DEFAULT_APP_SECRET: &str = "emulator-app-secret";

use feishu::runtime::wire::auth_paths::{
    APP_INTERNAL, APP_MARKETPLACE, APP_TICKET_RESEND, TENANT_INTERNAL, TENANT_MARKETPLACE,
};

/// Sets up an [`Emulator`].
#[derive(Debug)]
pub struct EmulatorBuilder {
    app: (String, String),
    marketplace_app: Option<(String, String)>,
    helpdesk: Option<(String, String)>,
    token_ttl: Duration,
    user_tokens: Vec<String>,
    enforce_rate_limits: bool,
    port: u16,
}

impl EmulatorBuilder {
    /// The port of 127.0.0.1 to serve on (default 0: an ephemeral one, see
    /// [`Emulator::url`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Whether calls past an endpoint's documented rate limit are refused as Feishu
    /// refuses them (default: no): each endpoint's calls are counted per tenant against
    /// the quotas its page states (the rate limit in each operation's docs),
    /// and one past a quota gets HTTP 429 with code 99991400 and `x-ogw-ratelimit-reset`.
    pub fn enforce_rate_limits(mut self, enforce: bool) -> Self {
        self.enforce_rate_limits = enforce;
        self
    }

    /// The internal app's credentials (default [`DEFAULT_APP_ID`], [`DEFAULT_APP_SECRET`]).
    pub fn app(mut self, app_id: &str, app_secret: &str) -> Self {
        self.app = (app_id.to_owned(), app_secret.to_owned());
        self
    }

    /// A marketplace app besides the internal one.
    pub fn marketplace_app(mut self, app_id: &str, app_secret: &str) -> Self {
        self.marketplace_app = Some((app_id.to_owned(), app_secret.to_owned()));
        self
    }

    /// The helpdesk whose credentials helpdesk endpoints require.
    pub fn helpdesk(mut self, helpdesk_id: &str, helpdesk_token: &str) -> Self {
        self.helpdesk = Some((helpdesk_id.to_owned(), helpdesk_token.to_owned()));
        self
    }

    /// How long the tokens handed out live (default 2 hours, as on Feishu). Whole seconds.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// A `user_access_token` the emulator accepts.
    pub fn user_token(mut self, token: &str) -> Self {
        self.user_tokens.push(token.to_owned());
        self
    }

    /// Starts the emulator (on an ephemeral port unless [`port`](Self::port) says), in the
    /// current tokio runtime.
    ///
    /// # Panics
    ///
    /// If its port cannot be bound; [`EmulatorBuilder::try_start`] returns that error.
    pub async fn start(self) -> Emulator {
        let port = self.port;
        self.try_start()
            .await
            .unwrap_or_else(|err| panic!("the emulator cannot listen on port {port}: {err}"))
    }

    /// Starts the emulator, in the current tokio runtime.
    pub async fn try_start(self) -> std::io::Result<Emulator> {
        let helpdesk_header = self.helpdesk.as_ref().map(|(id, token)| {
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{token}"))
        });
        let state = Arc::new(Mutex::new(State {
            tokens: HashMap::new(),
            issued: 0,
            user_tokens: self.user_tokens.iter().cloned().collect(),
            expired_user_tokens: HashSet::new(),
            app_ticket: None,
            ticket_resends: 0,
            faults: Vec::new(),
            stubs: HashMap::new(),
            lists: HashMap::new(),
            files: HashMap::new(),
            arrivals: rate_limits::Arrivals::default(),
            im: im::Im::default(),
            documented_answers: 0,
        }));
        // Stopped when dropped, also when the server's port cannot be bound.
        let long_connections = LongConnectionsGuard(LongConnections::start().await);
        let config = Arc::new(Config {
            long_connections: long_connections.0.clone(),
            app: self.app,
            marketplace_app: self.marketplace_app,
            helpdesk: self.helpdesk,
            helpdesk_header,
            token_ttl: self.token_ttl,
            routes: routes::all(),
            enforce_rate_limits: self.enforce_rate_limits,
        });
        let (handler_state, handler_config) = (state.clone(), config.clone());
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let server = Server::start_on(addr, move |request| {
            handle(&handler_config, &handler_state, request)
        })
        .await?;
        Ok(Emulator {
            server,
            state,
            config,
            long_connections,
        })
    }
}

/// Stops the long connections' listener and connections with the emulator.
struct LongConnectionsGuard(LongConnections);

impl Drop for LongConnectionsGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A running emulator. It stops when dropped.
pub struct Emulator {
    server: Server,
    state: Arc<Mutex<State>>,
    config: Arc<Config>,
    long_connections: LongConnectionsGuard,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

/// What the emulator was set up with.
struct Config {
    long_connections: LongConnections,
    app: (String, String),
    marketplace_app: Option<(String, String)>,
    helpdesk: Option<(String, String)>,
    /// The exact `X-Lark-Helpdesk-Authorization` value: base64 of `id:token`.
    helpdesk_header: Option<String>,
    token_ttl: Duration,
    routes: Vec<Route>,
    enforce_rate_limits: bool,
}

/// What changes as the emulator runs.
struct State {
    tokens: HashMap<String, Issued>,
    issued: u64,
    user_tokens: HashSet<String>,
    /// User tokens that were accepted and have expired: refused with 99991677.
    expired_user_tokens: HashSet<String>,
    /// The newest app_ticket: only it is accepted.
    app_ticket: Option<String>,
    ticket_resends: usize,
    faults: Vec<Scheduled>,
    stubs: HashMap<String, Value>,
    lists: HashMap<String, lists::List>,
    files: HashMap<String, ServedFile>,
    arrivals: rate_limits::Arrivals,
    /// The messages and chats made through the emulator.
    im: im::Im,
    /// How many calls were answered with their documented example.
    documented_answers: u64,
}

/// Who a token is handed out to.
enum Holder {
    InternalApp,
    MarketplaceApp,
    /// A tenant of the marketplace app, by tenant_key.
    Tenant(String),
}

/// A token the emulator handed out.
struct Issued {
    kind: feishu::runtime::TokenKind,
    /// Whose app token: the marketplace app's, or the internal app's.
    marketplace: bool,
    /// The tenant of a marketplace app's tenant token.
    tenant_key: Option<String>,
    expires: Instant,
}

impl Emulator {
    /// An emulator with the default internal app and nothing else.
    pub async fn start() -> Emulator {
        Emulator::builder().start().await
    }

    /// Sets up an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            app: (DEFAULT_APP_ID.to_owned(), DEFAULT_APP_SECRET.to_owned()),
            marketplace_app: None,
            helpdesk: None,
            token_ttl: Duration::from_secs(7200),
            user_tokens: Vec::new(),
            enforce_rate_limits: false,
            port: 0,
        }
    }

    /// The long connection's side of Feishu: push events to connected clients, read their
    /// acknowledgements, drop connections. The endpoint checks the internal app's id and
    /// secret.
    pub fn long_connections(&self) -> &LongConnections {
        &self.long_connections.0
    }

    /// `http://127.0.0.1:PORT`: the base URL to give the client.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client builder for the internal app, pointed at the emulator, with the helpdesk
    /// credentials if the emulator has a helpdesk.
    pub fn client_builder(&self) -> ClientBuilder {
        let (id, secret) = &self.config.app;
        self.configure(feishu::Client::builder(id.as_str(), secret.as_str()))
    }

    /// A client builder for the marketplace app; panics if there is none.
    pub fn marketplace_client_builder(&self) -> ClientBuilder {
        let (id, secret) = self
            .config
            .marketplace_app
            .as_ref()
            .expect("the emulator was built without EmulatorBuilder::marketplace_app");
        self.configure(feishu::Client::marketplace_builder(
            id.as_str(),
            secret.as_str(),
        ))
    }

    fn configure(&self, builder: ClientBuilder) -> ClientBuilder {
        let builder = builder.base_url(BaseUrl::Custom(self.url()));
        match &self.config.helpdesk {
            Some((id, token)) => builder.helpdesk(id.as_str(), Secret::new(token.as_str())),
            None => builder,
        }
    }

    /// The next `times` requests that `target` matches get `fault`. Faults are used up
    /// in the order they were injected.
    pub fn inject(&self, target: Target, fault: Fault, times: usize) {
        self.inject_after(target, 0, fault, times);
    }

    /// Lets the next `skip` requests that `target` matches through, then gives `fault` to
    /// the `times` after them: a fault on the seventh page of a list is
    /// `inject_after(target, 6, fault, 1)`.
    pub fn inject_after(&self, target: Target, skip: usize, fault: Fault, times: usize) {
        self.state().faults.push(Scheduled {
            target,
            fault,
            skip,
            remaining: times,
        });
    }

    /// The next `times` calls to `endpoint` (e.g. `helpdesk.v1.ticket.update`) fail with
    /// the business error `code` as its doc page lists it: the page's HTTP status (400
    /// when it gives none) and message. For a code the page does not list, inject a
    /// [`Fault::ApiError`] with the status and message to send.
    ///
    /// # Panics
    ///
    /// If the generated crate has no endpoint `endpoint`, or its page lists no `code`.
    pub fn inject_documented_error(&self, endpoint: &str, code: i64, times: usize) {
        let fault = self
            .documented_error(endpoint, code)
            .unwrap_or_else(|why| panic!("{why}"));
        self.inject(Target::Endpoint(endpoint.to_owned()), fault, times);
    }

    /// The business error `code` of `endpoint` as its doc page lists it, or why there is
    /// none.
    fn documented_error(&self, endpoint: &str, code: i64) -> Result<Fault, String> {
        let route = self
            .route(endpoint)
            .ok_or_else(|| not_an_endpoint(endpoint))?;
        let documented = route.meta.errors.iter().find(|error| error.code == code);
        let documented =
            documented.ok_or_else(|| format!("the page of {endpoint} lists no error {code}"))?;
        Ok(Fault::ApiError {
            status: documented.http_status.unwrap_or(400),
            code,
            msg: documented.message.to_owned(),
        })
    }

    fn route(&self, endpoint: &str) -> Option<&Route> {
        self.config
            .routes
            .iter()
            .find(|route| route.meta.id == endpoint)
    }

    /// Whether `endpoint` is a paged endpoint of the generated crate.
    fn is_paged(&self, endpoint: &str) -> bool {
        self.route(endpoint)
            .is_some_and(|route| route.meta.paging.is_some())
    }

    /// Whether `endpoint` is a download endpoint of the generated crate.
    fn is_download(&self, endpoint: &str) -> bool {
        self.route(endpoint)
            .is_some_and(|route| route.meta.envelope == feishu::runtime::codegen::Envelope::File)
    }

    /// Drops the faults not yet used up, so what one scenario left over (a call that
    /// ended before it reached them) does not reach the next.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Every token handed out so far expires now, as if the run had outlived them.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for issued in self.state().tokens.values_mut() {
            issued.expires = now;
        }
    }

    /// The user token `token` expires now: calls with it are refused with 99991677
    /// ("token expire") until it is [added](Self::add_user_token) again.
    pub fn expire_user_token(&self, token: &str) {
        let mut state = self.state();
        state.user_tokens.remove(token);
        state.expired_user_tokens.insert(token.to_owned());
    }

    /// Every tenant and app token handed out so far is revoked now, before its expiry, as
    /// Feishu revokes them when an app's secret is reset: calls with one are refused
    /// (99991663 for a tenant token) until the client fetches a new one.
    pub fn revoke_tokens(&self) {
        self.state().tokens.clear();
    }

    /// What a successful call to `endpoint` (e.g. `im.v2.chat_button.update`) returns as
    /// its `data` (default: the page's response example, ids made unique per call).
    pub fn respond(&self, endpoint: &str, data: Value) {
        self.state().stubs.insert(endpoint.to_owned(), data);
    }

    /// Serves `items` as the list of the paged endpoint `endpoint` (e.g. `im.v1.message.list`),
    /// a page at a time: the request's `page_size` items (`page_size` when it sends none,
    /// at most 500), with `has_more` and the next page token under the response's own
    /// field names, merged into what [`respond`](Self::respond) set. A page token the
    /// emulator did not hand out is refused as Feishu refuses an invalid parameter.
    ///
    /// Panics if `endpoint` is not a paged endpoint of the generated crate.
    pub fn load_list(&self, endpoint: &str, items: Vec<Value>, page_size: usize) {
        assert!(
            self.is_paged(endpoint),
            "{endpoint} is not a paged endpoint of the generated crate"
        );
        let list = lists::List { items, page_size };
        self.state().lists.insert(endpoint.to_owned(), list);
    }

    /// Answers the download endpoint `endpoint` (e.g. `im.v1.file.get`) with `file` from
    /// now on; without one, a download answers with [`ServedFile::default_for`] it.
    ///
    /// # Panics
    ///
    /// If the generated crate has no download endpoint of that id.
    pub fn serve_file(&self, endpoint: &str, file: ServedFile) {
        assert!(
            self.is_download(endpoint),
            "{endpoint} is not a download endpoint of the generated crate"
        );
        self.state().files.insert(endpoint.to_owned(), file);
    }

    /// The messages sent through the emulator (`im.v1.message.create` and `.reply`), oldest
    /// first, as `im.v1.message.get` shows them: with their updates, and deleted ones
    /// marked `"deleted": true`.
    pub fn messages(&self) -> Vec<Value> {
        self.state().im.messages.all()
    }

    /// The chats made through the emulator (`im.v1.chat.create`), oldest first, as
    /// `im.v1.chat.get` shows them, with their updates; dissolved ones (`.delete`) are gone,
    /// and a get, update or delete of one is refused with 232006.
    pub fn chats(&self) -> Vec<Value> {
        self.state().im.chats.all()
    }

    /// Accepts `token` as a `user_access_token` from now on.
    pub fn add_user_token(&self, token: &str) {
        let mut state = self.state();
        state.expired_user_tokens.remove(token);
        state.user_tokens.insert(token.to_owned());
    }

    /// A new app_ticket, as the hourly `app_ticket` event delivers it; older ones are no
    /// longer accepted.
    pub fn issue_app_ticket(&self) -> String {
        let mut state = self.state();
        state.issued += 1;
        let ticket = format!("ticket-emu-{}", state.issued);
        state.app_ticket = Some(ticket.clone());
        ticket
    }

    /// The tenant a marketplace tenant token was handed out for.
    pub fn tenant_of(&self, token: &str) -> Option<String> {
        self.state().tokens.get(token)?.tenant_key.clone()
    }

    /// How many times the marketplace app asked for its ticket again.
    pub fn app_ticket_resends(&self) -> usize {
        self.state().ticket_resends
    }

    /// The requests received so far, auth requests included.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The requests received so far, emptying the record.
    pub fn take_requests(&self) -> Vec<Recorded> {
        self.server.take_requests()
    }

    /// How many token requests (tenant or app) have been received.
    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| is_token_path(&r.path))
            .count()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn not_an_endpoint(endpoint: &str) -> String {
    format!("{endpoint} is not an endpoint of the generated crate")
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_token_path(path: &str) -> bool {
    matches!(
        path,
        TENANT_INTERNAL | APP_INTERNAL | TENANT_MARKETPLACE | APP_MARKETPLACE
    )
}

/// Answers one request: a scheduled fault if one matches, else what Feishu would say.
fn handle(config: &Config, state: &Mutex<State>, request: &Recorded) -> Reply {
    if request.path == long_connection::ENDPOINT_PATH && request.method == "POST" {
        return config.long_connections.endpoint(&config.app, request);
    }
    let is_auth = is_token_path(&request.path) || request.path == APP_TICKET_RESEND;
    let route = config
        .routes
        .iter()
        .filter(|route| route.matches(&request.method, &request.path))
        // `/device_records/mine` is that endpoint, not `/device_records/:id`: like
        // Feishu's router, a literal segment wins over a parameter, the earliest first.
        .min_by_key(|route| std::cmp::Reverse(route.literals()));
    let fault = take_fault(state, is_auth, route.map(|r| r.meta.id));
    if let Some(reply) = fault.as_ref().and_then(Fault::replace) {
        return reply;
    }
    let reply = if is_auth {
        auth(config, state, request)
    } else {
        match route {
            Some(route) if config.enforce_rate_limits => match over_limit(state, route, request) {
                Some(refusal) => refusal,
                None => api(config, state, route, request),
            },
            Some(route) => api(config, state, route, request),
            None => Reply::raw(404, "text/plain; charset=utf-8", "404 page not found"),
        }
    };
    match fault {
        Some(fault) => fault.alter(reply),
        None => reply,
    }
}

/// Feishu's refusal of a call past its endpoint's documented rate limit, if it is one;
/// otherwise the call is counted. Calls count per tenant: the tenant of the call's token.
fn over_limit(state: &Mutex<State>, route: &Route, request: &Recorded) -> Option<Reply> {
    let mut state = lock(state);
    let token = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    let tenant = token
        .and_then(|token| state.tokens.get(token))
        .and_then(|issued| issued.tenant_key.clone());
    let quotas = route.meta.rate_limit;
    let now = Instant::now();
    let wait = state
        .arrivals
        .admit(route.meta.id, tenant, quotas, now)
        .err()?;
    // Feishu gives whole seconds; a wait under one is one.
    let reset = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Fault::RateLimited {
        status: 429,
        reset: Some(reset),
    }
    .replace()
}

fn take_fault(state: &Mutex<State>, is_auth: bool, endpoint: Option<&str>) -> Option<Fault> {
    let mut state = lock(state);
    let index = state
        .faults
        .iter()
        .position(|s| s.remaining > 0 && s.hits(is_auth, endpoint))?;
    let scheduled = &mut state.faults[index];
    if scheduled.skip > 0 {
        scheduled.skip -= 1;
        return None;
    }
    scheduled.remaining -= 1;
    let fault = scheduled.fault.clone();
    if scheduled.remaining == 0 {
        state.faults.remove(index);
    }
    Some(fault)
}

/// The auth endpoints.
fn auth(config: &Config, state: &Mutex<State>, request: &Recorded) -> Reply {
    use feishu::runtime::TokenKind;

    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return codes::reply(400, codes::AUTH_INVALID_PARAM, "invalid param", None);
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    let credentials_of = |app: Option<&(String, String)>| {
        app.is_some_and(|(id, secret)| field("app_id") == id && field("app_secret") == secret)
    };
    let refuse_secret =
        || codes::reply(400, codes::AUTH_INVALID_SECRET, "app secret invalid", None);
    let mut state = lock(state);
    match request.path.as_str() {
        TENANT_INTERNAL | APP_INTERNAL => {
            if !credentials_of(Some(&config.app)) {
                return refuse_secret();
            }
            let kind = if request.path == TENANT_INTERNAL {
                TokenKind::Tenant
            } else {
                TokenKind::App
            };
            issue(config, &mut state, kind, Holder::InternalApp)
        }
        APP_MARKETPLACE => {
            if !credentials_of(config.marketplace_app.as_ref()) {
                return refuse_secret();
            }
            let ticket = field("app_ticket");
            if ticket.is_empty() || state.app_ticket.as_deref() != Some(ticket) {
                return codes::reply(
                    400,
                    codes::AUTH_INVALID_APP_TICKET,
                    "app_ticket is invalid",
                    None,
                );
            }
            issue(config, &mut state, TokenKind::App, Holder::MarketplaceApp)
        }
        TENANT_MARKETPLACE => {
            let app_token = field("app_access_token");
            let valid = state.tokens.get(app_token).is_some_and(|t| {
                t.kind == TokenKind::App && t.marketplace && Instant::now() < t.expires
            });
            if !valid {
                return codes::reply(
                    400,
                    codes::INVALID_APP_TOKEN,
                    "app access token invalid",
                    None,
                );
            }
            let tenant_key = field("tenant_key");
            if tenant_key.is_empty() {
                return codes::reply(
                    400,
                    codes::AUTH_INVALID_PARAM,
                    "invalid param: tenant_key",
                    None,
                );
            }
            let holder = Holder::Tenant(tenant_key.to_owned());
            issue(config, &mut state, TokenKind::Tenant, holder)
        }
        APP_TICKET_RESEND => {
            if !credentials_of(config.marketplace_app.as_ref()) {
                return refuse_secret();
            }
            state.ticket_resends += 1;
            Reply::json(200, &json!({"code": 0, "msg": "ok"}))
        }
        _ => unreachable!("only auth paths come here"),
    }
}

/// Hands out a token of `kind` to `holder`.
fn issue(
    config: &Config,
    state: &mut State,
    kind: feishu::runtime::TokenKind,
    holder: Holder,
) -> Reply {
    state.issued += 1;
    let prefix = match kind {
        feishu::runtime::TokenKind::Tenant => "t",
        _ => "a",
    };
    let token = format!("{prefix}-emu-{}", state.issued);
    state.tokens.insert(
        token.clone(),
        Issued {
            kind,
            marketplace: !matches!(holder, Holder::InternalApp),
            tenant_key: match holder {
                Holder::Tenant(key) => Some(key),
                _ => None,
            },
            expires: Instant::now() + config.token_ttl,
        },
    );
    let mut body = json!({"code": 0, "msg": "ok", "expire": config.token_ttl.as_secs()});
    body[kind.name()] = Value::String(token);
    Reply::json(200, &body).header("x-tt-logid", &codes::next_log_id())
}

/// A generated endpoint: token, helpdesk header and body checks, then the stubbed answer.
fn api(config: &Config, state: &Mutex<State>, route: &Route, request: &Recorded) -> Reply {
    let meta = route.meta;
    if !meta.tokens.is_empty() {
        let Some(authorization) = request.header("authorization") else {
            return codes::reply(
                400,
                codes::MISSING_TOKEN,
                "Missing access token for authorization. Please make a request with token attached.",
                None,
            );
        };
        let Some(token) = authorization.strip_prefix("Bearer ") else {
            return codes::reply(
                400,
                codes::MALFORMED_TOKEN,
                "Invalid access token format",
                None,
            );
        };
        if let Some(refusal) = refuse_token(&lock(state), meta.tokens, token) {
            return refusal;
        }
    }
    if meta.helpdesk {
        let given = request.header(HELPDESK_HEADER);
        if given.is_none() || given != config.helpdesk_header.as_deref() {
            let (code, msg) = documented(meta, 401, &["unauthorized", "access"]).unwrap_or((
                codes::HELPDESK_UNAUTHORIZED,
                "Unauthorized, please check you have the correct access",
            ));
            return codes::reply(401, code, msg, None);
        }
    }
    let checked = match route.is_upload() {
        true => route.check_form(request.form.as_ref()).map(|()| None),
        false => route.check_body(&request.body),
    };
    let body = match checked {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(violations) => {
            let (code, msg) = documented(meta, 400, &["param", "request", "body", "invalid"])
                .unwrap_or((codes::FIELD_VALIDATION_FAILED, "field validation failed"));
            return codes::reply(400, code, msg, Some(violations));
        }
    };
    if im::SENDS_CONTENT.contains(&meta.id)
        && let Err(refusal) = im::check_content(&body)
    {
        return refusal;
    }
    let mut state = lock(state);
    if meta.envelope == feishu::runtime::codegen::Envelope::File {
        return match state.files.get(meta.id) {
            Some(file) => file.reply(),
            None => ServedFile::default_for(meta.id).reply(),
        };
    }
    let state = &mut *state;
    let stub = state.stubs.get(meta.id).cloned();
    let mut documented = || {
        state.documented_answers += 1;
        answers::documented(meta, route.reads_as_response, state.documented_answers)
    };
    if stub.is_none() {
        let call = im::Call {
            endpoint: meta.id,
            template: meta.path,
            request,
            body: &body,
            app_id: &config.app.0,
        };
        if let im::Handled::Answer(reply) = im::handle(&mut state.im, &call, &mut documented) {
            return reply;
        }
    }
    let data = stub.unwrap_or_else(documented);
    // What the im core kept for a list (a chat's messages, the chats made), unless a list
    // was loaded or nothing was kept.
    let kept = im::kept_list(&state.im, meta.id, request).map(|items| lists::List {
        items,
        page_size: 20,
    });
    let data = match (meta.paging, state.lists.get(meta.id).or(kept.as_ref())) {
        (Some(paging), Some(list)) => match lists::page(&paging, list, request, data) {
            Ok(data) => data,
            Err(refusal) => return refusal,
        },
        _ => data,
    };
    match meta.envelope {
        feishu::runtime::codegen::Envelope::Flat => codes::success_flat(data),
        _ => codes::success(data),
    }
}

/// Feishu's refusal of `token` by an endpoint that takes `accepted` kinds, if it refuses
/// it: unknown, revoked, expired, or of a kind the endpoint does not take.
fn refuse_token(
    state: &State,
    accepted: &[feishu::runtime::TokenKind],
    token: &str,
) -> Option<Reply> {
    use feishu::runtime::TokenKind;

    let issued = state.tokens.get(token);
    let kind = match issued {
        _ if state.user_tokens.contains(token) => TokenKind::User,
        Some(issued) => issued.kind,
        // An unknown token's kind is read off its prefix, as Feishu reads it.
        None if token.starts_with("u-") => TokenKind::User,
        None if token.starts_with("a-") => TokenKind::App,
        None if token.starts_with("t-") => TokenKind::Tenant,
        None => {
            return Some(codes::reply(
                400,
                codes::MALFORMED_TOKEN,
                "Invalid token: must start with t-/u-",
                None,
            ));
        }
    };
    let live = state.user_tokens.contains(token)
        || issued.is_some_and(|issued| Instant::now() < issued.expires);
    if live && accepted.contains(&kind) {
        return None;
    }
    let code = match kind {
        TokenKind::User if state.expired_user_tokens.contains(token) => codes::EXPIRED_USER_TOKEN,
        TokenKind::User => codes::INVALID_USER_TOKEN,
        TokenKind::App => codes::INVALID_APP_TOKEN,
        TokenKind::Tenant => codes::INVALID_TENANT_TOKEN,
    };
    Some(codes::token_refusal(code))
}

/// The endpoint's own documented code for a refusal with `status`, picked by words its
/// message uses.
fn documented(
    meta: &feishu::runtime::codegen::Endpoint,
    status: u16,
    words: &[&str],
) -> Option<(i64, &'static str)> {
    meta.errors
        .iter()
        .find(|e| {
            e.http_status == Some(status) && {
                let message = e.message.to_ascii_lowercase();
                words.iter().any(|w| message.contains(w))
            }
        })
        .map(|e| (e.code, e.message))
}

//! Fuzzing the runtime's parsers of what a server or a sender hands the client, with
//! mutated real-shaped inputs:
//! - **webhook**: bodies through the [`Dispatcher`] (plain and encrypted envelopes, 1.0
//!   and 2.0, challenges, card callbacks);
//! - **frames**: long-connection messages through a session over an in-memory pipe
//!   (events, split parts, pongs with settings, bytes that are no frame);
//! - **file name**: `Content-Disposition` values through the download's file name reader,
//!   whose result must stay a bare, visible name;
//! - **paging**: page answers through an item walk against a server on 127.0.0.1, which
//!   must end.
//!
//! Each case has a time limit; a case over it, a panic, or a file name that could leave
//! its directory is a finding.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use feishu_emulator::http::{Reply, Server};
use feishu_runtime::codegen::{
    ApiRequest, Endpoint, Envelope, Host, HttpMethod, NextPage, PageTokenIn, PagedItems,
    PagedRequest, Paging, Params, TokenKind,
};
use feishu_runtime::event::{Dispatcher, WebhookRequest};
use feishu_runtime::{BaseUrl, Client, RetryPolicy};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::mutate;

/// The time one case may take before it counts as a hang.
const CASE_LIMIT: Duration = Duration::from_secs(10);
/// The Encrypt Key of the dispatcher that gets encrypted bodies.
const ENCRYPT_KEY: &str = "fuzz-key";
/// The most pages one paging case walks.
const PAGE_LIMIT: u64 = 300;

/// A surface of the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Surface {
    Webhook,
    Frames,
    FileName,
    Paging,
}

impl Surface {
    const ALL: [Surface; 4] = [
        Surface::Webhook,
        Surface::Frames,
        Surface::FileName,
        Surface::Paging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Surface::Webhook => "webhook",
            Surface::Frames => "frames",
            Surface::FileName => "file name",
            Surface::Paging => "paging",
        }
    }
}

/// How the cases of one surface ended.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Handled: answered 200, a name given, a walk ended cleanly.
    pub accepted: u64,
    /// Refused: an error answer, no name, a walk ended with an error.
    pub refused: u64,
    /// The slowest case.
    pub slowest: Duration,
}

/// What a run did: counts by surface, and the findings (a panic, a hang, a bad result).
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub cases: u64,
    pub counts: BTreeMap<&'static str, Counts>,
    pub findings: Vec<String>,
}

/// Runs `cases` cases drawn from `seed`, spread over the four surfaces in turn.
pub fn run(cases: u64, seed: u64) -> Report {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let fixture = runtime.block_on(Fixture::start());
    let mut rng_seed = [0u8; 32];
    rng_seed[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut report = Report::default();
    for n in 0..cases {
        let surface = Surface::ALL[(n % 4) as usize];
        let seeds = &fixture.seeds[&surface];
        let Ok(tree) = mutate::cases(seeds.len()).new_tree(&mut runner) else {
            break;
        };
        let case = tree.current();
        let others = |i: usize| seeds[i % seeds.len()].as_str();
        let input = mutate::apply(&seeds[case.seed], &case, &others);
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async {
                tokio::time::timeout(CASE_LIMIT, fixture.check(surface, &input)).await
            })
        }));
        let took = started.elapsed();
        report.cases += 1;
        let counts = report.counts.entry(surface.name()).or_default();
        counts.slowest = counts.slowest.max(took);
        let short = |text: &str| text.chars().take(300).collect::<String>();
        match outcome {
            Ok(Ok(Ok(true))) => counts.accepted += 1,
            Ok(Ok(Ok(false))) => counts.refused += 1,
            Ok(Ok(Err(bad))) => report.findings.push(format!(
                "{}: {bad}; input {:?}",
                surface.name(),
                short(&input)
            )),
            Ok(Err(_)) => report.findings.push(format!(
                "{}: over {CASE_LIMIT:?} (a hang); input {:?}",
                surface.name(),
                short(&input)
            )),
            Err(_) => report.findings.push(format!(
                "{}: a panic; input {:?}",
                surface.name(),
                short(&input)
            )),
        }
    }
    report
}

/// The seeds of every surface; the encrypted webhook body is the first event sealed with
/// the fixture's Encrypt Key.
fn all_seeds() -> BTreeMap<Surface, Vec<String>> {
    Surface::ALL
        .into_iter()
        .map(|surface| {
            let mut seeds: Vec<String> = seeds(surface).iter().map(|s| s.to_string()).collect();
            if surface == Surface::Webhook {
                let sealed = feishu_emulator::webhook::encrypt(ENCRYPT_KEY, seeds[0].as_bytes());
                seeds.push(serde_json::json!({ "encrypt": sealed }).to_string());
            }
            (surface, seeds)
        })
        .collect()
}

/// The seeds of a surface: what Feishu sends, in each form the runtime reads.
fn seeds(surface: Surface) -> &'static [&'static str] {
    match surface {
        Surface::Webhook | Surface::Frames => &[
            r#"{"schema":"2.0","header":{"event_id":"5e3702a84e847582be8db7fb73283c02","event_type":"im.message.receive_v1","create_time":"1603977298000","token":"v-token","app_id":"cli_a","tenant_key":"t-1"},"event":{"message":{"chat_id":"oc_1","content":"{\"text\":\"hi\"}"}}}"#,
            r#"{"uuid":"41b5f371157e3b36b6c8a2a9f2f7b7a4","token":"v-token","ts":"1502199207.7171419","type":"event_callback","event":{"type":"leave_approval","app_id":"cli_a","tenant_key":"t-1","instance_code":"x"}}"#,
            r#"{"challenge":"ajls384kdjx98XX","token":"v-token","type":"url_verification"}"#,
            r#"{"schema":"2.0","header":{"event_id":"e-card","event_type":"card.action.trigger","create_time":"1603977298000","token":"v-token","app_id":"cli_a"},"event":{"operator":{"open_id":"ou_1"},"action":{"value":{"k":"v"},"tag":"button"},"context":{"open_message_id":"om_1","open_chat_id":"oc_1"}}}"#,
            "{\"schema\":\"2.0\"}",
        ],
        Surface::FileName => &[
            "attachment; filename=\"report.pdf\"",
            "attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt",
            "attachment; filename=\"a.txt\"; filename*=UTF-8''%E2%80%AEgnp.exe",
            "inline; filename=..\\..\\boot.ini",
            "attachment; filename=\"semi;colon \\\"q\\\".txt\"",
            "attachment; filename*=iso-8859-1'en'caf%E9.txt",
        ],
        Surface::Paging => &[
            r#"{"code":0,"msg":"ok","data":{"items":[{"id":1}],"has_more":true,"page_token":"p-{n}"}}"#,
            r#"{"code":0,"msg":"ok","data":{"items":[],"has_more":true,"page_token":"p-{n}"}}"#,
            r#"{"code":0,"msg":"ok","data":{"items":[{"id":1}],"has_more":true,"page_token":"same"}}"#,
            r#"{"code":0,"msg":"ok","data":{"items":[{"id":1}],"has_more":false}}"#,
            r#"{"code":99991400,"msg":"rate limited","data":{}}"#,
        ],
    }
}

/// What the cases share: the dispatcher, and the server the paging cases walk.
struct Fixture {
    dispatcher: Dispatcher,
    encrypted: Dispatcher,
    /// Serves the paging cases for as long as the fixture lives.
    _server: Server,
    /// The page answer the server gives, `{n}` replaced by the request's number.
    answer: Arc<std::sync::Mutex<String>>,
    client: Client,
    seeds: BTreeMap<Surface, Vec<String>>,
}

impl Fixture {
    async fn start() -> Fixture {
        let answer = Arc::new(std::sync::Mutex::new(String::new()));
        let served = answer.clone();
        let pages = AtomicUsize::new(0);
        let server = Server::start(move |request| {
            if request.path.starts_with("/open-apis/auth/") {
                let token = r#"{"code":0,"msg":"ok","tenant_access_token":"t-fuzz","expire":7200}"#;
                return Reply::raw(200, "application/json", token);
            }
            let n = pages.fetch_add(1, Ordering::Relaxed);
            let body = served.lock().unwrap_or_else(|e| e.into_inner()).clone();
            Reply::raw(200, "application/json", body.replace("{n}", &n.to_string()))
        })
        .await;
        let client = Client::builder("cli_fuzz", "secret")
            .base_url(BaseUrl::Custom(server.url()))
            .retry(RetryPolicy::none())
            .build()
            .expect("a client");
        let handled = |builder: feishu_runtime::event::DispatcherBuilder| {
            builder
                .replay_window(None)
                .fallback(|_event| async { Ok::<_, std::io::Error>(()) })
                .build()
        };
        Fixture {
            dispatcher: handled(Dispatcher::builder("v-token")),
            encrypted: handled(Dispatcher::builder("v-token").encrypt_key(ENCRYPT_KEY)),
            seeds: all_seeds(),
            _server: server,
            answer,
            client,
        }
    }

    /// One case: whether it was handled (`Ok(true)`) or refused (`Ok(false)`); an error
    /// is a finding.
    async fn check(&self, surface: Surface, input: &str) -> Result<bool, String> {
        match surface {
            Surface::Webhook => {
                let dispatcher = match input.contains("\"encrypt\"") {
                    true => &self.encrypted,
                    false => &self.dispatcher,
                };
                let request = WebhookRequest::new(Default::default(), input.to_owned());
                Ok(dispatcher.handle(request).await.status.is_success())
            }
            Surface::Frames => Ok(self.frames(input).await),
            Surface::FileName => file_name(input),
            Surface::Paging => Ok(self.walk(input).await),
        }
    }

    /// `input` as the payload of an event frame, split in two parts, and of a pong, then
    /// as bytes that may be no frame at all: the session must go on answering.
    async fn frames(&self, input: &str) -> bool {
        use feishu_runtime::harness::{frame, serve};
        let payload = input.as_bytes();
        let half = payload.len() / 2;
        let messages = vec![
            frame(1, &[("type", "event"), ("message_id", "m-1")], payload),
            frame(
                1,
                &[
                    ("type", "event"),
                    ("message_id", "m-2"),
                    ("sum", "2"),
                    ("seq", "1"),
                ],
                &payload[half..],
            ),
            frame(
                1,
                &[
                    ("type", "event"),
                    ("message_id", "m-2"),
                    ("sum", "2"),
                    ("seq", "0"),
                ],
                &payload[..half],
            ),
            frame(0, &[("type", "pong")], payload),
            payload.to_vec(),
        ];
        let served = serve(&self.dispatcher, messages).await;
        served.lost.is_none() && served.answers > 0
    }

    /// Walks a list whose every page is `input`; whether it ended without an error.
    async fn walk(&self, input: &str) -> bool {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = input.to_owned();
        let mut items = feishu_runtime::Call::new(&self.client, ListThings::default())
            .items()
            .max_empty_pages(50);
        let mut pages = 0;
        while let Some(item) = items.next().await {
            if item.is_err() {
                return false;
            }
            pages += 1;
            if pages >= PAGE_LIMIT {
                break;
            }
        }
        true
    }
}

/// The file name a `Content-Disposition` value gives: a finding if it could name another
/// directory, or holds a character that does not show.
fn file_name(value: &str) -> Result<bool, String> {
    let Some(name) = feishu_runtime::harness::file_name(value) else {
        return Ok(false);
    };
    let hidden = |c: char| c.is_control() || ('\u{200b}'..='\u{200f}').contains(&c);
    let bidi =
        |c: char| ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\'])
        || name
            .chars()
            .any(|c| hidden(c) || bidi(c) || c == '\u{feff}')
    {
        return Err(format!("an unsafe file name {name:?}"));
    }
    Ok(true)
}

/// A paged list of anything: the shape every generated list has.
#[derive(Default)]
struct ListThings {
    page_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct ThingPage {
    #[serde(default)]
    items: Vec<serde_json::Value>,
    has_more: Option<bool>,
    page_token: Option<String>,
}

impl ApiRequest for ListThings {
    type Body = ();
    type Response = ThingPage;
    const ENDPOINT: &'static Endpoint = &Endpoint {
        id: "fuzz.v1.thing.list",
        method: HttpMethod::Get,
        host: Host::Open,
        path: "/open-apis/fuzz/v1/things",
        tokens: &[TokenKind::Tenant],
        helpdesk: false,
        envelope: Envelope::Data,
        files: &[],
        errors: &[],
        doc_url: "https://open.feishu.cn/document/fuzz",
        paging: Some(Paging {
            token_in: PageTokenIn::Query,
            request_token: "page_token",
            response_token: "page_token",
            has_more: Some("has_more"),
            items: Some("items"),
        }),
        rate_limit: &[],
        response_example: None,
        body_schema: None,
    };

    fn path(&self) -> String {
        Self::ENDPOINT.path.to_owned()
    }

    fn query(&self, out: &mut Params) {
        if let Some(token) = &self.page_token {
            out.push("page_token", token);
        }
    }
}

impl PagedRequest for ListThings {
    fn page_token(&self) -> Option<&str> {
        self.page_token.as_deref()
    }

    fn set_page_token(&mut self, token: Option<String>) {
        self.page_token = token;
    }

    fn next_page(response: &ThingPage) -> NextPage<'_> {
        NextPage {
            has_more: response.has_more,
            token: response.page_token.as_deref(),
        }
    }
}

impl PagedItems for ListThings {
    type Item = serde_json::Value;

    fn into_items(response: ThingPage) -> Vec<serde_json::Value> {
        response.items
    }
}

//! Paged lists, for every endpoint that pages, against the emulator over real HTTP: the
//! page stream and the item stream walk every page, carry each page's token to the next
//! request, keep the call's options on every page, and stop on each stop rule, a server
//! that hands out the same token twice included. Endpoints come from spec/ through the
//! generated crate's own list, so no test names one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use feishu::runtime::TokenKind;
use feishu::runtime::codegen::{PageTokenIn, Paging};
use feishu::runtime::{DEFAULT_MAX_EMPTY_PAGES, MAX_PAGE_TOKEN_BYTES};
use feishu::{BaseUrl, Client, Error, RetryPolicy};
use feishu_emulator::http::Recorded;
use feishu_emulator::{Fault, Target};
use feishu_spec::LoadedEndpoint;
use feishu_tests::emulated::{USER_TOKEN, api_requests, emulator};
use feishu_tests::endpoints::{self, CallOptions, Endpoint, Walk, payload_json, request_json};
use feishu_tests::server::{Reply, TENANT_TOKEN_PATH, TestServer, token_reply};
use serde_json::{Value, json};

/// The page size of a loaded list when the request sends none.
const PAGE_SIZE: usize = 2;

/// One paged endpoint with what a test call needs.
struct Paged {
    id: &'static str,
    paging: Paging,
    tokens: &'static [TokenKind],
    /// The documented request, without a page token: a walk starts at the first page.
    request: Value,
    /// An item of the documented response, to fill a list with.
    item: Value,
    endpoint: Endpoint,
}

impl Paged {
    fn options(&self) -> CallOptions {
        let user = self.tokens == [TokenKind::User];
        CallOptions {
            retry: Some(RetryPolicy {
                initial_backoff: Duration::from_millis(20),
                max_jitter: Duration::from_millis(20),
                ..RetryPolicy::default()
            }),
            ..CallOptions::user(user.then(|| USER_TOKEN.to_owned()))
        }
    }

    async fn walk_pages(&self, client: &Client) -> Walk {
        let walk = self
            .endpoint
            .walk_pages
            .expect("a paged endpoint can walk pages");
        walk(client, self.request.clone(), self.options()).await
    }

    /// The page size the emulator serves this request: the request's own `page_size`,
    /// else the list's.
    fn page_size(&self) -> usize {
        let sent = match self.paging.token_in {
            PageTokenIn::Query => self.request.get("page_size"),
            PageTokenIn::Body => self.request.get("body").and_then(|b| b.get("page_size")),
        };
        match sent {
            Some(Value::Number(n)) => n.as_u64().map_or(PAGE_SIZE, |n| n as usize),
            Some(Value::String(s)) => s.parse().unwrap_or(PAGE_SIZE),
            _ => PAGE_SIZE,
        }
        .clamp(1, 500)
    }

    /// The page token each recorded request of this endpoint sent, in order.
    fn tokens_sent(&self, requests: &[Recorded]) -> Vec<Option<String>> {
        let name = self.paging.request_token;
        requests
            .iter()
            .map(|request| match self.paging.token_in {
                PageTokenIn::Query => request
                    .query_pairs()
                    .into_iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value),
                PageTokenIn::Body => request
                    .json()
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
            // An empty token asks for the first page, as no token does.
            .map(|token| token.filter(|t| !t.is_empty()))
            .collect()
    }
}

fn paged_endpoints() -> Vec<Paged> {
    let paged: Vec<Paged> = endpoints::emulated()
        .into_iter()
        .filter_map(|(loaded, endpoint)| {
            let paging = endpoint.meta.paging?;
            assert!(
                endpoint.walk_pages.is_some(),
                "{}: documents paging but its request does not implement PagedRequest",
                endpoint.meta.id
            );
            assert_eq!(
                endpoint.walk_items.is_some(),
                paging.items.is_some(),
                "{}: an item stream exactly where the response has one list",
                endpoint.meta.id
            );
            Some(Paged {
                id: endpoint.meta.id,
                paging,
                tokens: endpoint.meta.tokens,
                request: first_page_request(&loaded, &paging),
                item: documented_item(&loaded, &paging),
                endpoint,
            })
        })
        .collect();
    assert!(
        paged.len() > 100,
        "spec/ has {} paged endpoints",
        paged.len()
    );
    paged
}

fn first_page_request(loaded: &LoadedEndpoint, paging: &Paging) -> Value {
    let spec = &loaded.spec;
    let mut request = request_json(loaded);
    let (params, fields) = match paging.token_in {
        PageTokenIn::Query => (Some(&mut request), Some(&spec.query_params)),
        PageTokenIn::Body => {
            let fields = spec.request_body.as_ref().and_then(|b| b.fields.as_ref());
            (request.get_mut("body"), fields)
        }
    };
    let required = fields
        .into_iter()
        .flatten()
        .any(|f| f.name.value == paging.request_token && f.required);
    if let Some(Value::Object(params)) = params {
        match required {
            // A required token is sent empty for the first page.
            true => params.insert(paging.request_token.to_owned(), json!("")),
            false => params.remove(paging.request_token),
        };
    }
    request
}

/// The first item of the documented response's list, or an empty object.
fn documented_item(loaded: &LoadedEndpoint, paging: &Paging) -> Value {
    paging
        .items
        .and_then(|items| payload_json(loaded).get(items)?.get(0).cloned())
        .unwrap_or_else(|| json!({}))
}

#[tokio::test]
async fn every_paged_endpoint_walks_every_page_and_sends_each_token() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    for paged in paged_endpoints() {
        let id = paged.id;
        let size = paged.page_size();
        // Three pages, the last one short.
        let items = vec![paged.item.clone(); 2 * size + 1];
        emulator.load_list(id, items.clone(), PAGE_SIZE);
        emulator.take_requests();

        let walk = paged.walk_pages(&client).await;
        assert!(walk.error.is_none(), "{id}: {:?}", walk.error);
        assert_eq!(walk.yielded.len(), 3, "{id}: pages");
        if let Some(field) = paged.paging.items {
            let counts: Vec<usize> = walk
                .yielded
                .iter()
                .map(|page| page[field].as_array().map_or(0, Vec::len))
                .collect();
            assert_eq!(counts, [size, size, 1], "{id}: items per page");
        }
        let requests = api_requests(&emulator);
        let expected = vec![
            None,
            Some(format!("emu-page-{size}")),
            Some(format!("emu-page-{}", 2 * size)),
        ];
        assert_eq!(
            paged.tokens_sent(&requests),
            expected,
            "{id}: page tokens sent"
        );
        // The call's options reach every page: the same access token on each.
        let authorizations: Vec<_> = requests.iter().map(|r| r.header("authorization")).collect();
        assert!(authorizations[0].is_some(), "{id}: a token is sent");
        assert!(
            authorizations.iter().all(|a| *a == authorizations[0]),
            "{id}: {authorizations:?}"
        );

        if let Some(walk_items) = paged.endpoint.walk_items {
            let walk = walk_items(&client, paged.request.clone(), paged.options()).await;
            assert!(walk.error.is_none(), "{id}: {:?}", walk.error);
            assert_eq!(walk.yielded.len(), items.len(), "{id}: items");
            assert_eq!(api_requests(&emulator).len(), 3, "{id}: item walk requests");
        }
    }
}

/// The answer every page gets, by the endpoint's own field names: `has_more` (where the
/// endpoint has it) and the next token (none when `None`).
fn stub(paging: &Paging, has_more: bool, token: Option<&str>) -> Value {
    let mut data = json!({});
    if let Some(field) = paging.has_more {
        data[field] = json!(has_more);
    }
    if let Some(token) = token {
        data[paging.response_token] = json!(token);
    }
    data
}

#[tokio::test]
async fn every_paged_endpoint_stops_on_each_stop_rule() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    for paged in paged_endpoints() {
        let id = paged.id;
        let paging = &paged.paging;
        let mut one_page = vec![
            ("an empty next token", stub(paging, true, Some(""))),
            ("no next token", stub(paging, true, None)),
        ];
        if paging.has_more.is_some() {
            one_page.push(("has_more false", stub(paging, false, Some("next"))));
        }
        for (rule, answer) in one_page {
            emulator.respond(id, answer);
            emulator.take_requests();
            let walk = paged.walk_pages(&client).await;
            assert!(walk.error.is_none(), "{id}, {rule}: {:?}", walk.error);
            assert_eq!(walk.yielded.len(), 1, "{id}, {rule}: pages");
            assert_eq!(api_requests(&emulator).len(), 1, "{id}, {rule}: requests");
        }

        // A server that hands out the same token again: the page it answers with is
        // yielded, then the walk ends with an error instead of asking for it forever.
        emulator.respond(id, stub(paging, true, Some("same-token")));
        emulator.take_requests();
        let walk = paged.walk_pages(&client).await;
        assert_eq!(walk.yielded.len(), 2, "{id}: pages before the loop");
        match &walk.error {
            Some(Error::Paging { endpoint, message }) => {
                assert_eq!(*endpoint, id);
                assert!(message.contains("same-token"), "{message}");
            }
            other => panic!("{id}: expected a paging error, got {other:?}"),
        }
        assert_eq!(api_requests(&emulator).len(), 2, "{id}: requests");
        emulator.respond(id, json!({}));
    }
}

/// The first paged endpoint that takes the app's tenant token and lists its items.
fn tenant_list() -> Paged {
    paged_endpoints()
        .into_iter()
        .find(|p| p.tokens.contains(&TokenKind::Tenant) && p.paging.items.is_some())
        .expect("spec/ has a paged tenant-token list")
}

#[tokio::test]
async fn a_rate_limit_on_the_seventh_page_waits_and_the_walk_goes_on() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let paged = tenant_list();
    let size = paged.page_size();
    emulator.load_list(paged.id, vec![paged.item.clone(); 10 * size], PAGE_SIZE);
    let target = Target::Endpoint(paged.id.to_owned());
    emulator.inject_after(target, 6, Fault::rate_limited(1), 1);

    let started = Instant::now();
    let walk = paged.walk_pages(&client).await;
    assert!(walk.error.is_none(), "{:?}", walk.error);
    assert_eq!(walk.yielded.len(), 10);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the reset"
    );
    assert_eq!(
        api_requests(&emulator).len(),
        11,
        "page 7 was asked for twice"
    );
}

#[tokio::test]
async fn a_failed_page_ends_the_walk_with_its_error_after_the_pages_before_it() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let paged = tenant_list();
    let size = paged.page_size();
    emulator.load_list(paged.id, vec![paged.item.clone(); 5 * size], PAGE_SIZE);
    let target = Target::Endpoint(paged.id.to_owned());
    emulator.inject_after(target, 2, Fault::Unauthorized, 10);

    let walk = paged.walk_pages(&client).await;
    assert_eq!(walk.yielded.len(), 2, "the pages before the failed one");
    let error = walk.error.expect("the walk ends with the failure");
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    emulator.clear_faults();
}

#[tokio::test]
async fn an_item_limit_stops_without_asking_for_more_pages() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let paged = tenant_list();
    let size = paged.page_size();
    emulator.load_list(paged.id, vec![paged.item.clone(); 5 * size], PAGE_SIZE);
    emulator.take_requests();

    let limit = size + 1;
    let walk_items = paged.endpoint.walk_items.expect("a list with items");
    let options = CallOptions {
        item_limit: Some(limit as u64),
        ..paged.options()
    };
    let walk = walk_items(&client, paged.request.clone(), options).await;
    assert!(walk.error.is_none(), "{:?}", walk.error);
    assert_eq!(walk.yielded.len(), limit);
    assert_eq!(api_requests(&emulator).len(), 2, "two pages hold the items");
}

#[tokio::test]
async fn a_page_token_the_server_never_handed_out_is_refused() {
    let emulator = emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let paged = tenant_list();
    emulator.load_list(paged.id, vec![paged.item.clone(); 3], PAGE_SIZE);
    let mut request = paged.request.clone();
    let params = match paged.paging.token_in {
        PageTokenIn::Query => &mut request,
        PageTokenIn::Body => &mut request["body"],
    };
    params[paged.paging.request_token] = json!("forged");
    let walk = paged.endpoint.walk_pages.unwrap()(&client, request, paged.options()).await;
    assert!(walk.yielded.is_empty());
    let error = walk.error.expect("refused");
    assert!(!error.is_retryable(), "{error}");
    assert_eq!(error.as_api().map(|e| e.status), Some(400), "{error}");
}

/// A server that answers every page of `paged` with no item, `has_more: true` and the
/// token `token(n)` for the n-th page; the client and the server.
async fn endless_pages(
    paged: &Paged,
    token: impl Fn(usize) -> String + Send + Sync + 'static,
) -> (Client, TestServer) {
    let paging = paged.paging;
    let items = paging.items.expect("a list with items");
    let pages = AtomicUsize::new(0);
    let server = TestServer::start(move |request| {
        token_reply(request).unwrap_or_else(|| {
            let mut data = stub(
                &paging,
                true,
                Some(&token(pages.fetch_add(1, Ordering::SeqCst))),
            );
            data[items] = json!([]);
            Reply::json(200, &json!({"code": 0, "msg": "ok", "data": data}))
        })
    })
    .await;
    let client = Client::builder("cli_a", "secret")
        .base_url(BaseUrl::Custom(server.url()))
        .build()
        .unwrap();
    (client, server)
}

fn page_requests(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path != TENANT_TOKEN_PATH)
        .count()
}

#[tokio::test]
async fn an_item_walk_gives_up_on_a_server_that_hands_out_empty_pages_forever() {
    let paged = tenant_list();
    let (client, server) = endless_pages(&paged, |n| format!("fresh-{n}")).await;
    let walk_items = paged.endpoint.walk_items.expect("a list with items");
    let options = CallOptions {
        item_limit: Some(10),
        ..paged.options()
    };
    let walk = tokio::time::timeout(
        Duration::from_secs(30),
        walk_items(&client, paged.request.clone(), options),
    )
    .await
    .expect("the walk ends");
    assert!(walk.yielded.is_empty());
    match &walk.error {
        Some(Error::Paging { message, .. }) => {
            assert!(
                message.contains(&format!("{DEFAULT_MAX_EMPTY_PAGES} pages in a row")),
                "{message}"
            );
        }
        other => panic!("expected a paging error, got {other:?}"),
    }
    assert_eq!(page_requests(&server), DEFAULT_MAX_EMPTY_PAGES as usize);
}

#[tokio::test]
async fn a_page_token_over_the_limit_ends_the_walk_without_being_sent() {
    let paged = tenant_list();
    let (client, server) = endless_pages(&paged, |_| "t".repeat(MAX_PAGE_TOKEN_BYTES + 1)).await;
    let walk = paged.walk_pages(&client).await;
    assert_eq!(walk.yielded.len(), 1, "the page that handed it out");
    match &walk.error {
        Some(Error::Paging { message, .. }) => {
            assert!(
                message.contains(&format!("{} bytes", MAX_PAGE_TOKEN_BYTES + 1)),
                "{message}"
            );
        }
        other => panic!("expected a paging error, got {other:?}"),
    }
    assert_eq!(page_requests(&server), 1);
}

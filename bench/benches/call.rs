//! Call overhead: one `im.v2.chat_button.update` call (PUT, tenant token, a nested JSON
//! body) through the generated client, against the same request sent with reqwest and
//! serde_json by hand, both to the emulator on 127.0.0.1. The hand-written call fetches
//! its token once up front; the generated client caches its own. Also times building the
//! typed request and serializing its body, the client's own work per call.

use std::sync::LazyLock;

use feishu::im::v2::chat_button::{
    ActionType, OpenAppFeedCardButton, OpenAppFeedCardButtons, OpenAppFeedCardText,
    UpdateChatButtonBody, UpdateChatButtonRequest,
};
use feishu_emulator::{DEFAULT_APP_ID, DEFAULT_APP_SECRET, Emulator};
use serde_json::{Value, json};

const CHAT_ID: &str = "oc_a0553eda9014c201e6969b478895c230";
const USER_ID: &str = "ou_89553eda9014c201e6969b478895c276";

struct Fixture {
    /// The emulator runs on its own threads, so the calls measured share the calling
    /// thread with nothing else.
    server: tokio::runtime::Runtime,
    calls: tokio::runtime::Runtime,
    emulator: Emulator,
    client: feishu::Client,
    http: reqwest::Client,
    authorization: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let calls = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let emulator = server.block_on(Emulator::start());
    let client = emulator.client_builder().build().expect("a client");
    feishu::install_crypto_provider();
    let http = reqwest::Client::new();
    let token_url = format!(
        "{}/open-apis/auth/v3/tenant_access_token/internal",
        emulator.url()
    );
    let authorization = calls.block_on(async {
        let reply: Value = serde_json::from_slice(
            &http
                .post(token_url)
                .header("content-type", "application/json; charset=utf-8")
                .body(
                    serde_json::to_vec(
                        &json!({ "app_id": DEFAULT_APP_ID, "app_secret": DEFAULT_APP_SECRET }),
                    )
                    .expect("json"),
                )
                .send()
                .await
                .expect("the token request is answered")
                .bytes()
                .await
                .expect("a body"),
        )
        .expect("json");
        format!(
            "Bearer {}",
            reply["tenant_access_token"].as_str().expect("a token")
        )
    });
    Fixture {
        server,
        calls,
        emulator,
        client,
        http,
        authorization,
    }
});

fn typed_request() -> UpdateChatButtonRequest {
    let button = OpenAppFeedCardButton::new(ActionType::UrlPage, OpenAppFeedCardText::new("文本"));
    UpdateChatButtonRequest::new(
        UpdateChatButtonBody::new(CHAT_ID)
            .user_ids([USER_ID])
            .buttons(OpenAppFeedCardButtons::new([button])),
    )
}

fn main() {
    // Start the emulator and fill both clients' connection pools and the token cache
    // before anything is timed.
    generated_client();
    hand_written_reqwest();
    divan::main();
    let f = &*FIXTURE;
    // Every call reached the server and was answered.
    assert!(f.emulator.requests().len() > 2);
    let _ = &f.server;
}

/// The whole call through the generated client: build, validate, token from the cache,
/// send, decode the typed response.
#[divan::bench(sample_count = 1000)]
fn generated_client() {
    let f = &*FIXTURE;
    let response = f
        .calls
        .block_on(async {
            f.client
                .im()
                .v2()
                .chat_button()
                .update(typed_request())
                .await
        })
        .expect("the call succeeds");
    divan::black_box(response);
}

/// The same request by hand: a `json!` body, reqwest, and the envelope read as a Value.
#[divan::bench(sample_count = 1000)]
fn hand_written_reqwest() {
    let f = &*FIXTURE;
    let url = format!("{}/open-apis/im/v2/chat_button", f.emulator.url());
    let body = json!({
        "user_ids": [USER_ID],
        "chat_id": CHAT_ID,
        "buttons": { "buttons": [{ "action_type": "url_page", "text": { "text": "文本" } }] },
    });
    let reply: Value = f.calls.block_on(async {
        let bytes = f
            .http
            .put(url)
            .header("authorization", &f.authorization)
            .header("content-type", "application/json; charset=utf-8")
            .body(serde_json::to_vec(&body).expect("json"))
            .send()
            .await
            .expect("the call is answered")
            .bytes()
            .await
            .expect("a body");
        serde_json::from_slice(&bytes).expect("json")
    });
    assert_eq!(reply["code"], 0, "{reply}");
    divan::black_box(reply);
}

/// Building the typed request with its constructors and setters.
#[divan::bench]
fn build_request() -> UpdateChatButtonRequest {
    typed_request()
}

/// Serializing the typed body, as the client does before sending.
#[divan::bench]
fn serialize_body(bencher: divan::Bencher) {
    let request = typed_request();
    bencher.bench(|| serde_json::to_vec(&request.body).expect("json"));
}

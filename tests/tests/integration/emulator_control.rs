//! The emulator's control API, as a test in another language drives it: what it changes
//! shows in the emulator, and a request it cannot read gets a 400 that says why.

use std::sync::Arc;

use feishu::im::v1::message::{CreateMessageBody, CreateMessageRequest, MsgType, ReceiveIdType};
use feishu_emulator::{Emulator, control};
use serde_json::{Value, json};

struct Controlled {
    emulator: Arc<Emulator>,
    url: String,
    http: reqwest::Client,
    _server: control::ControlServer,
}

async fn controlled() -> Controlled {
    let emulator = Arc::new(Emulator::start().await);
    let server = control::serve(emulator.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    feishu::install_crypto_provider();
    Controlled {
        emulator,
        url: server.url(),
        http: reqwest::Client::new(),
        _server: server,
    }
}

impl Controlled {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
        )
    }
}

#[tokio::test]
async fn what_the_control_api_cannot_read_is_a_400_that_says_why() {
    let control = controlled().await;
    let post = reqwest::Method::POST;
    let (status, answer) = control
        .send(post.clone(), "/respond", Some("{not json"))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("the body"),
        "{answer}"
    );

    let fault = r#"{"target": "api", "fault": {"kind": "meteor_strike"}}"#;
    let (status, answer) = control.send(post.clone(), "/faults", Some(fault)).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("meteor_strike"),
        "{answer}"
    );

    let list = r#"{"endpoint": "im.v1.message.create", "items": [], "page_size": 5}"#;
    let (status, answer) = control.send(post.clone(), "/lists", Some(list)).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("not a paged endpoint"),
        "{answer}"
    );

    let error = r#"{"endpoint": "im.v1.message.create", "code": 1}"#;
    let (status, answer) = control
        .send(post.clone(), "/documented_errors", Some(error))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("lists no error 1"),
        "{answer}"
    );

    let (status, _) = control
        .send(reqwest::Method::GET, "/no/such/thing", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = control
        .send(
            reqwest::Method::GET,
            "/long_connection/acks/nothing?timeout_ms=10",
            None,
        )
        .await;
    assert_eq!(status, 404, "no acknowledgement of an unknown message");
}

#[tokio::test]
async fn requests_and_messages_are_read_and_forgotten_through_it() {
    let control = controlled().await;
    let client = control.emulator.client_builder().build().unwrap();
    let content = json!({"text": "hi"}).to_string();
    let body = CreateMessageBody::new("oc_1", MsgType::Text, content);
    client
        .im()
        .v1()
        .message()
        .create(CreateMessageRequest::new(ReceiveIdType::ChatId, body))
        .await
        .unwrap();

    let (_, messages) = control.send(reqwest::Method::GET, "/messages", None).await;
    assert_eq!(messages[0]["chat_id"], "oc_1");
    assert_eq!(messages[0]["body"]["content"], r#"{"text":"hi"}"#);

    let (_, requests) = control
        .send(reqwest::Method::DELETE, "/requests", None)
        .await;
    let paths: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/open-apis/auth/v3/tenant_access_token/internal",
            "/open-apis/im/v1/messages"
        ]
    );
    assert_eq!(
        requests[1]["body"]["receive_id"], "oc_1",
        "a JSON body as JSON"
    );
    let (_, after) = control.send(reqwest::Method::GET, "/requests", None).await;
    assert_eq!(after, json!([]), "forgotten");

    let fail = r#"{"code": 1000040350, "times": 1}"#;
    let (status, _) = control
        .send(
            reqwest::Method::POST,
            "/long_connection/fail_endpoint",
            Some(fail),
        )
        .await;
    assert_eq!(status, 200);
    // The endpoint refuses as Feishu does: HTTP 200, the code, and an empty `data`.
    let credentials = json!({
        "AppID": feishu_emulator::DEFAULT_APP_ID,
        "AppSecret": feishu_emulator::DEFAULT_APP_SECRET,
    });
    let endpoint = format!("{}/callback/ws/endpoint", control.emulator.url());
    let answer = control
        .http
        .post(&endpoint)
        .body(credentials.to_string())
        .send();
    let refused: Value =
        serde_json::from_slice(&answer.await.unwrap().bytes().await.unwrap()).unwrap();
    assert_eq!(
        (refused["code"].clone(), refused["data"].clone()),
        (json!(1000040350), json!({}))
    );
    let (_, state) = control
        .send(reqwest::Method::GET, "/long_connection", None)
        .await;
    assert_eq!(state, json!({"connected": 0, "connects": 0, "pings": 0}));
}

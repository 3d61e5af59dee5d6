//! What an error tells a bot: the questions it asks of any `feishu::Error` (rate limited?
//! token refused? a permission missing?) answered the same whichever variant carries the
//! answer, Feishu's common codes by name, and a transport failure's cause in its text.

use std::time::Duration;

use feishu::im::v1::message::{GetMessageRequest, GetMessageResponse};
use feishu::runtime::codes;
use feishu::{Client, Error, RetryPolicy};
use feishu_emulator::{Emulator, Fault, Target};

const USER_TOKEN: &str = "u-errors-user";

async fn emulator() -> Emulator {
    Emulator::builder().user_token(USER_TOKEN).start().await
}

fn client(emulator: &Emulator, max_attempts: u32) -> Client {
    let retry = RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_jitter: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    emulator.client_builder().retry(retry).build().unwrap()
}

async fn get(client: &Client) -> Result<GetMessageResponse, Error> {
    client
        .im()
        .v1()
        .message()
        .get(GetMessageRequest::new("om_1"))
        .await
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_the_retries_is_rate_limited() {
    let emulator = emulator().await;
    emulator.inject(Target::Api, Fault::rate_limited(0), 5);
    let err = get(&client(&emulator, 2)).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.is_rate_limited(),
        "asked of the error itself, not of an ApiError"
    );
    assert!(err.as_api().is_none());
    assert_eq!(err.code(), Some(codes::RATE_LIMITED));
    assert!(!err.is_invalid_token() && !err.is_permission_denied());

    // Refused once, with no retry left: the answer itself.
    emulator.inject(Target::Api, Fault::rate_limited(0), 1);
    let err = get(&client(&emulator, 1)).await.unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
}

#[tokio::test]
async fn a_user_tokens_refusal_is_an_invalid_token() {
    let emulator = emulator().await;
    emulator.expire_user_token(USER_TOKEN);
    let client = client(&emulator, 1);
    let err = client
        .im()
        .v1()
        .message()
        .get(GetMessageRequest::new("om_1"))
        .user_access_token(USER_TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(codes::USER_TOKEN_EXPIRED), "{err:?}");
    assert!(err.is_invalid_token());
    assert!(err.as_api().is_some_and(|api| api.is_invalid_token()));

    let err = client
        .im()
        .v1()
        .message()
        .get(GetMessageRequest::new("om_1"))
        .user_access_token("u-never-issued")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(codes::USER_TOKEN_INVALID), "{err:?}");
    assert!(err.is_invalid_token());
    assert!(!err.is_rate_limited() && !err.is_permission_denied());
}

#[tokio::test]
async fn a_missing_scope_is_a_permission_denied() {
    let emulator = emulator().await;
    let msg = "Access denied. One of the following scopes is required: [im:message]";
    let denied = Fault::ApiError {
        status: 400,
        code: codes::APP_SCOPE_MISSING,
        msg: msg.into(),
    };
    emulator.inject(Target::Api, denied, 1);
    let err = get(&client(&emulator, 1)).await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(!err.is_invalid_token() && !err.is_rate_limited());
    // A code of the endpoint's own: not a permission error.
    emulator.inject_documented_error("im.v1.message.get", 230002, 1);
    let err = get(&client(&emulator, 1)).await.unwrap_err();
    assert!(!err.is_permission_denied(), "{err:?}");
}

#[tokio::test]
async fn a_transport_failure_names_its_cause() {
    let emulator = emulator().await;
    let client = client(&emulator, 1);
    // A token first, so that the failure is the call's own.
    get(&client).await.unwrap();
    emulator.inject(Target::Api, Fault::Disconnect, 1);
    let err = get(&client).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("im.v1.message.get: error sending request"),
        "{text}"
    );
    // reqwest's own text stops there; the cause is hyper's.
    assert!(
        text.contains("connection closed before message completed"),
        "{text}"
    );
}

//! Starts the local Feishu emulator and calls it through the generated client: a
//! successful call, a rate limit the client waits out, a token that expires mid-run, a
//! server error on a write (not retried), and a request refused before it is sent.
//!
//! Run it with `cargo run -p feishu-emulator --example emulated_calls`.

use std::time::{Duration, Instant};

use feishu::application::v6::application_feedback::{
    FeedbackStatus, PatchApplicationFeedbackRequest,
};
use feishu::im::v2::chat_button::{
    ActionType, OpenAppFeedCardButton, OpenAppFeedCardButtons, OpenAppFeedCardText,
    UpdateChatButtonBody, UpdateChatButtonRequest,
};
use feishu::{Error, RetryPolicy};
use feishu_emulator::{Emulator, Fault, Target};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let emulator = Emulator::builder()
        .helpdesk("7000000000000000001", "helpdesk-token")
        .start()
        .await;
    println!("emulator listening on {}", emulator.url());

    let client = emulator
        .client_builder()
        .timeout(Some(Duration::from_secs(5)))
        .retry(RetryPolicy::default())
        .build()?;
    let feedback = || {
        PatchApplicationFeedbackRequest::new(
            "cli_9b445f5258795107",
            "7057888018203574291",
            FeedbackStatus::Handled,
            "ou_9565b69967831233761cc2f11b4c089f",
        )
    };
    let feedbacks = client.application().v6().application_feedback();

    feedbacks.patch(feedback()).await?;
    println!(
        "1. a call: ok, after {} token request(s)",
        emulator.token_requests()
    );

    emulator.inject(Target::Api, Fault::rate_limited(1), 1);
    let started = Instant::now();
    feedbacks.patch(feedback()).await?;
    println!(
        "2. rate-limited once: waited {:?} for the reset, then ok",
        started.elapsed()
    );

    emulator.expire_tokens();
    feedbacks.patch(feedback()).await?;
    println!(
        "3. the token expired mid-run: refreshed and repeated once, ok ({} token requests)",
        emulator.token_requests()
    );

    emulator.inject(Target::Api, Fault::ServerError { status: 503 }, 1);
    let err = feedbacks.patch(feedback()).await.unwrap_err();
    println!(
        "4. a PATCH got a 503 and was not repeated: {err} (retryable: {})",
        err.is_retryable()
    );

    // The docs allow 1 to 30 characters of button text.
    let too_long = "x".repeat(31);
    let buttons = OpenAppFeedCardButtons::new([OpenAppFeedCardButton::new(
        ActionType::UrlPage,
        OpenAppFeedCardText::new(too_long),
    )]);
    let request = UpdateChatButtonRequest::new(
        UpdateChatButtonBody::new("oc_a0553eda9014c201e6969b478895c230").buttons(buttons),
    );
    match client.im().v2().chat_button().update(request).await {
        Err(Error::InvalidRequest { violations, .. }) => {
            println!("5. refused before sending: {}", violations[0]);
        }
        other => println!("5. unexpected: {other:?}"),
    }
    Ok(())
}

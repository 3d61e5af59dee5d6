//! Events pushed by the emulator (`feishu_emulator::webhook::Pusher`, playing Feishu:
//! encrypted, signed, delivered again when the answer is late) to the dispatcher on
//! 127.0.0.1, reach the generated typed handlers: every event page's example, and a late
//! answer delivered again without running its handler twice.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use feishu::events::{BoxError, Dispatcher, DispatcherBuilder, Event, EventContext};
use feishu_emulator::webhook::Pusher;
use feishu_tests::events;
use serde_json::Value;

const TOKEN: &str = "v-token-push";
const KEY: &str = "encrypt-key-push";

/// Serves `dispatcher` on 127.0.0.1; its URL.
async fn serve(dispatcher: Dispatcher) -> String {
    let address = feishu_tests::server::serve_dispatcher(dispatcher).await;
    format!("http://{address}/feishu/events")
}

type Handled = Arc<Mutex<Vec<&'static str>>>;

/// A typed handler for `E` that records its event type.
fn record<E: Event>(builder: DispatcherBuilder, handled: &Handled) -> DispatcherBuilder {
    let handled = handled.clone();
    builder.on(move |_: E, _: EventContext| {
        handled.lock().unwrap().push(E::EVENT_TYPE);
        async { Ok::<(), BoxError>(()) }
    })
}

/// A function registering a recording handler for each listed event type.
macro_rules! registrar {
    ($($event:ty),* $(,)?) => {
        |mut builder: DispatcherBuilder, handled: &Handled| {
            $(builder = record::<$event>(builder, handled);)*
            builder
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_pages_example_pushed_encrypted_reaches_its_typed_handler() {
    let handled = Handled::default();
    let register = feishu::__for_each_event!(registrar);
    let builder = register(Dispatcher::builder(TOKEN).encrypt_key(KEY), &handled);
    let url = serve(builder.build()).await;
    let pusher = Pusher::new(url, TOKEN)
        .encrypt_key(KEY)
        .retry_after(Vec::new());
    let mut pushed = BTreeSet::new();
    for loaded in events::specs() {
        let Some(example) = &loaded.spec.example else {
            continue;
        };
        let example: Value = serde_json::from_str(example).unwrap();
        let Some(event) = example.get("event") else {
            continue;
        };
        let event_type = loaded.spec.event_type.value.clone();
        let delivery = pusher
            .push(&pusher.envelope(&event_type, event.clone()))
            .await;
        assert!(
            delivery.delivered(),
            "{event_type}: {:?}",
            delivery.attempts
        );
        pushed.insert(event_type);
    }
    let handled: BTreeSet<String> = handled
        .lock()
        .unwrap()
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    assert_eq!(
        handled, pushed,
        "each pushed event ran its own typed handler"
    );
    assert!(pushed.len() > 100, "only {} examples pushed", pushed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_answer_is_delivered_again_and_its_handler_runs_once() {
    let runs = Arc::new(Mutex::new(0));
    let counted = runs.clone();
    let dispatcher = Dispatcher::builder(TOKEN)
        .encrypt_key(KEY)
        .on_raw("im.chat.disbanded_v1", move |_: Value, _: EventContext| {
            *counted.lock().unwrap() += 1;
            async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                Ok::<(), BoxError>(())
            }
        })
        .build();
    let url = serve(dispatcher).await;
    let pusher = Pusher::new(url, TOKEN)
        .encrypt_key(KEY)
        .answer_timeout(Duration::from_millis(150))
        .retry_after(vec![Duration::from_millis(200), Duration::from_millis(800)]);
    let event = pusher.envelope(
        "im.chat.disbanded_v1",
        serde_json::json!({ "chat_id": "oc_1" }),
    );
    let pushed = pusher.push(&event).await;
    // The first answer is late; the retry at 200 ms finds the handler still running; the
    // one at 800 ms is answered 200 without running it again.
    assert_eq!(pushed.attempts.len(), 3, "{:?}", pushed.attempts);
    assert!(pushed.attempts[0].failure.is_some());
    assert_eq!(pushed.attempts[1].status, Some(503));
    assert!(pushed.delivered(), "{:?}", pushed.attempts);
    assert_eq!(*runs.lock().unwrap(), 1);
}

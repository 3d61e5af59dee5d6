//! The long connection against the emulator's Feishu side, over loopback: events reach
//! their handlers and are acknowledged with the handler's result, split messages are
//! joined, a dropped connection comes back without losing or repeating events, pings get
//! pongs whose settings apply, card callbacks are answered in the acknowledgement, and a
//! wrong app secret ends the run. And against a hostile server that closes every
//! connection at once and asks for no pause: the client backs off all the same.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use feishu::BaseUrl;
use feishu::events::{
    BoxError, CardAction, CardResponse, Dispatcher, DispatcherBuilder, Event, EventContext,
    LongConnection, LongConnectionError, Toast,
};
use feishu_emulator::{DEFAULT_APP_ID, Emulator};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

#[derive(serde::Deserialize)]
struct Ping {
    count: u32,
}

impl Event for Ping {
    const EVENT_TYPE: &'static str = "test.ping_v1";
}

/// The 2.0 envelope of a `Ping`. Its create time is years old: the long connection does
/// not apply the webhook's replay window.
fn ping(event_id: &str, count: u32) -> Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": "test.ping_v1",
                   "create_time": "1603977298000", "app_id": DEFAULT_APP_ID, "tenant_key": "t-1"},
        "event": {"count": count}
    })
}

/// The event ids whose handler ran, in order.
#[derive(Clone, Default)]
struct Runs(Arc<Mutex<Vec<String>>>);

impl Runs {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A dispatcher whose `Ping` handler records its runs and fails for `count == 0`.
fn counting(runs: &Runs) -> DispatcherBuilder {
    let runs = runs.clone();
    Dispatcher::builder("unused-on-a-long-connection").on(
        move |ping: Ping, context: EventContext| {
            runs.0.lock().unwrap().push(context.event_id);
            async move {
                if ping.count == 0 {
                    return Err::<(), BoxError>("count is zero".into());
                }
                Ok(())
            }
        },
    )
}

/// A running long connection, stopped on demand.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), LongConnectionError>>,
}

impl Running {
    fn start(connection: LongConnection) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(connection.run_until(async move {
            let _ = stopped.await;
        }));
        Running {
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(WAIT, &mut self.task).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "run_until ends with Ok on shutdown: {ended:?}"
        );
    }
}

/// Quick reconnection, for tests.
fn connection(emulator: &Emulator, dispatcher: Dispatcher) -> LongConnection {
    LongConnection::new(emulator.client_builder().build().unwrap(), dispatcher)
        .reconnect_nonce(Duration::ZERO)
        .reconnect_interval(Duration::from_millis(100))
}

async fn connected(emulator: &Emulator, dispatcher: Dispatcher) -> Running {
    let running = Running::start(connection(emulator, dispatcher));
    assert!(
        emulator.long_connections().wait_connected(1, WAIT).await,
        "the client connected"
    );
    running
}

#[tokio::test]
async fn an_event_reaches_its_typed_handler_and_is_acknowledged_200() {
    let emulator = Emulator::start().await;
    let runs = Runs::default();
    let running = connected(&emulator, counting(&runs).build()).await;
    let feishu = emulator.long_connections();

    let id = feishu.push_event(&ping("e-1", 1), 1).unwrap();
    let ack = feishu.wait_ack(&id, WAIT).await.expect("acknowledged");
    assert_eq!((ack.code, ack.kind.as_str()), (200, "event"));
    assert_eq!(ack.data, None, "an event's acknowledgement carries no data");
    assert!(ack.biz_rt.is_some(), "biz_rt is added");
    assert_eq!(runs.all(), vec!["e-1"]);
    assert_eq!(endpoint_calls(&emulator), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_failing_handler_is_acknowledged_500_and_runs_again_when_redelivered() {
    let emulator = Emulator::start().await;
    let runs = Runs::default();
    let running = connected(&emulator, counting(&runs).build()).await;
    let feishu = emulator.long_connections();

    for _ in 0..2 {
        let id = feishu.push_event(&ping("e-fail", 0), 1).unwrap();
        let ack = feishu.wait_ack(&id, WAIT).await.expect("acknowledged");
        assert_eq!(ack.code, 500);
    }
    assert_eq!(runs.all(), vec!["e-fail", "e-fail"]);
    running.stop().await;
}

#[tokio::test]
async fn a_message_split_into_three_frames_is_joined() {
    let emulator = Emulator::start().await;
    let runs = Runs::default();
    let running = connected(&emulator, counting(&runs).build()).await;
    let feishu = emulator.long_connections();

    let id = feishu.push_event(&ping("e-split", 3), 3).unwrap();
    let ack = feishu.wait_ack(&id, WAIT).await.expect("acknowledged");
    assert_eq!(ack.code, 200);
    assert_eq!(runs.all(), vec!["e-split"]);
    assert_eq!(
        feishu.acks().len(),
        1,
        "one acknowledgement for the message"
    );
    running.stop().await;
}

#[tokio::test]
async fn after_a_drop_it_reconnects_and_no_event_is_lost_or_run_twice() {
    let emulator = Emulator::start().await;
    let runs = Runs::default();
    let running = connected(&emulator, counting(&runs).build()).await;
    let feishu = emulator.long_connections();

    let first = feishu.push_event(&ping("e-1", 1), 1).unwrap();
    assert_eq!(feishu.wait_ack(&first, WAIT).await.unwrap().code, 200);

    feishu.drop_connections();
    let back = async {
        while feishu.connects() < 2 || feishu.connected() < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(WAIT, back)
        .await
        .expect("the client reconnected");

    let second = feishu.push_event(&ping("e-2", 2), 1).unwrap();
    assert_eq!(feishu.wait_ack(&second, WAIT).await.unwrap().code, 200);
    // Feishu delivers e-1 again (its acknowledgement was lost, say): acknowledged, not
    // run again.
    let again = feishu.push_event(&ping("e-1", 1), 1).unwrap();
    assert_eq!(feishu.wait_ack(&again, WAIT).await.unwrap().code, 200);
    assert_eq!(runs.all(), vec!["e-1", "e-2"]);
    running.stop().await;
}

#[tokio::test]
async fn it_pings_and_applies_the_pongs_client_config() {
    let emulator = Emulator::start().await;
    let feishu = emulator.long_connections();
    feishu.set_pong_config(Some(json!({"PingInterval": 1})));
    // An hour between pings, until the pong says otherwise.
    let running = Running::start(
        connection(&emulator, Dispatcher::builder("").build())
            .ping_interval(Duration::from_secs(3600)),
    );
    assert!(feishu.wait_pings(3, WAIT).await, "pinged every second");
    let pings = feishu.pings();
    let gap = pings[2] - pings[1];
    assert!(
        gap >= Duration::from_millis(800) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
    running.stop().await;
}

/// A connection gone half-open (up, but no pong ever comes) is taken for dead once a ping
/// goes a whole ping interval unanswered, and replaced.
#[tokio::test]
async fn a_half_open_connection_is_noticed_within_a_ping_interval_and_replaced() {
    let emulator = Emulator::start().await;
    let feishu = emulator.long_connections();
    feishu.set_endpoint_config(Some(json!({
        "PingInterval": 1, "ReconnectInterval": 1, "ReconnectNonce": 0, "ReconnectCount": -1
    })));
    let running = connected(&emulator, Dispatcher::builder("").build()).await;
    assert!(feishu.wait_pings(1, WAIT).await, "pinged");
    let silenced = Instant::now();
    feishu.silence_connections();
    let deadline = silenced + WAIT;
    while feishu.connects() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let replaced = silenced.elapsed();
    assert_eq!(
        feishu.connects(),
        2,
        "a new connection replaced the half-open one"
    );
    // At most: the ping interval to the unanswered ping, one more for it to go unanswered,
    // and the reconnect interval; three intervals of silence would take 4 s or more.
    assert!(replaced < Duration::from_millis(3600), "{replaced:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_card_callback_is_answered_in_the_acknowledgement() {
    let emulator = Emulator::start().await;
    let dispatcher = Dispatcher::builder("")
        .on_card_action(|action: CardAction, _context: EventContext| async move {
            let approved = action.action.value["decision"] == "approve";
            let toast = if approved {
                Toast::success("Approved")
            } else {
                Toast::error("Rejected")
            };
            Ok::<_, BoxError>(CardResponse::new().toast(toast))
        })
        .build();
    let running = connected(&emulator, dispatcher).await;
    let feishu = emulator.long_connections();

    let callback = json!({
        "schema": "2.0",
        "header": {"event_id": "card-1", "event_type": "card.action.trigger",
                   "create_time": "1603977298000000", "app_id": DEFAULT_APP_ID},
        "event": {
            "operator": {"open_id": "ou_1"},
            "action": {"value": {"decision": "approve"}, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"}
        }
    });
    let id = feishu.push_card(&callback).unwrap();
    let ack = feishu.wait_ack(&id, WAIT).await.expect("acknowledged");
    // Feishu pushes card callbacks in `event` frames, as its own clients expect them.
    assert_eq!((ack.code, ack.kind.as_str()), (200, "event"));
    let answer: Value = serde_json::from_slice(&ack.data.expect("the card's answer")).unwrap();
    assert_eq!(
        answer,
        json!({"toast": {"type": "success", "content": "Approved"}})
    );
    running.stop().await;
}

#[tokio::test]
async fn a_wrong_app_secret_ends_the_run_at_once() {
    let emulator = Emulator::start().await;
    let client = feishu::Client::builder(DEFAULT_APP_ID, "not-the-app-secret")
        .base_url(BaseUrl::Custom(emulator.url()))
        .build()
        .unwrap();
    let connection = LongConnection::new(client, Dispatcher::builder("").build())
        .reconnect_nonce(Duration::ZERO)
        .reconnect_interval(Duration::from_millis(50));
    let ended = tokio::time::timeout(WAIT, connection.run())
        .await
        .expect("run returned");
    let err = ended.expect_err("refused");
    assert!(err.is_fatal());
    assert!(
        matches!(err, LongConnectionError::Refused { code: 514, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-app-secret"), "{shown}");
    assert_eq!(emulator.requests().len(), 1, "asked once, not retried");
    assert_eq!(emulator.long_connections().connects(), 0);
}

fn endpoint_calls(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/callback/ws/endpoint")
        .count()
}

#[tokio::test]
async fn a_busy_endpoint_is_retried_until_it_answers() {
    let emulator = Emulator::start().await;
    emulator.long_connections().fail_endpoint(1, 2);
    let runs = Runs::default();
    let running = connected(&emulator, counting(&runs).build()).await;
    assert_eq!(endpoint_calls(&emulator), 3, "two busy answers, then a URL");
    let feishu = emulator.long_connections();
    let id = feishu.push_event(&ping("e-1", 1), 1).unwrap();
    assert_eq!(feishu.wait_ack(&id, WAIT).await.unwrap().code, 200);
    running.stop().await;
}

#[tokio::test]
async fn it_gives_up_after_its_reconnect_count() {
    let emulator = Emulator::start().await;
    emulator
        .long_connections()
        .fail_endpoint(1_000_040_343, 100);
    let connection = connection(&emulator, Dispatcher::builder("").build())
        .reconnect_interval(Duration::from_millis(20))
        .reconnect_count(Some(2));
    let ended = tokio::time::timeout(WAIT, connection.run())
        .await
        .expect("run returned");
    let err = ended.expect_err("gave up");
    assert!(
        matches!(
            &err,
            LongConnectionError::GaveUp { attempts: 3, last }
                if matches!(**last, LongConnectionError::Server { code: 1_000_040_343, .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        endpoint_calls(&emulator),
        3,
        "the first attempt and two retries"
    );
}

/// A long-connection server that hands out `config` with its URL and closes each
/// WebSocket as soon as it is open; the base URL, and how many endpoint requests and
/// sessions it has seen.
async fn closing_at_once(config: Value) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use feishu_tests::server::{Reply, TestServer};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!(
        "ws://{}/ws?device_id=d-1&service_id=1&ticket=t",
        listener.local_addr().unwrap()
    );
    let sessions = Arc::new(AtomicUsize::new(0));
    let counted = sessions.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = socket.close(None).await;
            }
        }
    });
    let endpoints = Arc::new(AtomicUsize::new(0));
    let asked = endpoints.clone();
    let server = TestServer::start(move |_| {
        asked.fetch_add(1, Ordering::SeqCst);
        Reply::json(
            200,
            &json!({"code": 0, "msg": "ok", "data": {"URL": ws_url, "ClientConfig": config}}),
        )
    })
    .await;
    let url = server.url();
    // The server lives as long as the test's runtime.
    std::mem::forget(server);
    (url, endpoints, sessions)
}

fn hostile_client(url: String) -> feishu::Client {
    feishu::Client::builder(DEFAULT_APP_ID, "app-secret")
        .base_url(BaseUrl::Custom(url))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_server_that_closes_every_connection_at_once_gets_backed_off_not_a_hot_loop() {
    // No pause after a lost connection, and the shortest interval allowed.
    let config = json!({"ReconnectNonce": 0, "ReconnectInterval": 0, "ReconnectCount": -1, "PingInterval": 1});
    let (url, endpoints, sessions) = closing_at_once(config).await;
    let connection = LongConnection::new(hostile_client(url), Dispatcher::builder("").build())
        .reconnect_interval(Duration::from_secs(1));
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_millis(3500), connection.run()).await;
    assert!(ended.is_err(), "still running: {ended:?}");
    // Attempts at 0 s, 1 s and 3 s (the interval doubled after each failure in a row);
    // without the back-off, thousands.
    let asked = endpoints.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&asked),
        "{asked} endpoint requests in {:?}",
        started.elapsed()
    );
    assert_eq!(sessions.load(Ordering::SeqCst), asked);
}

#[tokio::test]
async fn connections_that_end_at_once_count_towards_the_reconnect_count() {
    let config = json!({"ReconnectNonce": 0, "ReconnectInterval": 1, "ReconnectCount": 1});
    let (url, endpoints, _) = closing_at_once(config).await;
    let connection = LongConnection::new(hostile_client(url), Dispatcher::builder("").build());
    let ended = tokio::time::timeout(WAIT, connection.run())
        .await
        .expect("run returned");
    let err = ended.expect_err("gave up");
    assert!(
        matches!(&err, LongConnectionError::GaveUp { attempts: 2, last } if matches!(**last, LongConnectionError::WebSocket(_))),
        "{err:?}"
    );
    assert_eq!(endpoints.load(Ordering::SeqCst), 2);
}

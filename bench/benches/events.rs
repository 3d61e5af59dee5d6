//! Event delivery.
//! - Over a webhook: the emulator's `Pusher` (playing Feishu) posts a 2.0 envelope to the
//!   dispatcher served by hyper on 127.0.0.1, which decodes it (decrypting and checking the
//!   signature when encrypted) and runs a typed handler before it answers. Each sample is
//!   one whole delivery, the handler's run included: the time from Feishu's push to the
//!   handler is below it.
//! - Over the long connection: the emulator pushes the envelope as a WebSocket frame to a
//!   `LongConnection`, which runs it through the dispatcher; each sample is the time from
//!   the push to the handler's start (it signals the bench's thread).

use std::sync::{LazyLock, Mutex, mpsc};
use std::time::Duration;

use feishu::events::{BoxError, Dispatcher, EventContext, LongConnection};
use feishu::im::v1::message::MessageReceiveEvent;
use feishu_emulator::Emulator;
use feishu_emulator::webhook::Pusher;
use serde_json::{Value, json};

const TOKEN: &str = "bench-token";
const KEY: &str = "bench-encrypt-key";

struct Fixture {
    /// The dispatcher runs on its own threads, so the pushes measured share the calling
    /// thread with nothing else.
    _server: tokio::runtime::Runtime,
    pushes: tokio::runtime::Runtime,
    plain: Pusher,
    encrypted: Pusher,
    emulator: Emulator,
    /// A signal per event the long connection's handler starts.
    handled: Mutex<mpsc::Receiver<()>>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let pushes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let plain_url = server.block_on(serve(Dispatcher::builder(TOKEN)));
    let encrypted_url = server.block_on(serve(Dispatcher::builder(TOKEN).encrypt_key(KEY)));
    let emulator = server.block_on(Emulator::start());
    let (signal, handled) = mpsc::channel();
    let client = emulator.client_builder().build().expect("a client");
    let dispatcher = Dispatcher::builder(TOKEN)
        .on(move |event: MessageReceiveEvent, _: EventContext| {
            std::hint::black_box(event);
            // The bench's thread waits for it; it is gone only when the bench ends.
            let _ = signal.send(());
            async { Ok::<(), BoxError>(()) }
        })
        .dedup_capacity(1_000_000)
        .build();
    let connection = LongConnection::new(client, dispatcher);
    server.spawn(async move { connection.run().await });
    let connected = server.block_on(
        emulator
            .long_connections()
            .wait_connected(1, Duration::from_secs(10)),
    );
    assert!(connected, "the long connection opens");
    Fixture {
        _server: server,
        pushes,
        emulator,
        handled: Mutex::new(handled),
        plain: Pusher::new(plain_url, TOKEN).retry_after(Vec::new()),
        encrypted: Pusher::new(encrypted_url, TOKEN)
            .encrypt_key(KEY)
            .retry_after(Vec::new()),
    }
});

/// Serves a dispatcher with a `MessageReceiveEvent` handler; its URL.
async fn serve(builder: feishu::events::DispatcherBuilder) -> String {
    let dispatcher = builder
        .on(|event: MessageReceiveEvent, _: EventContext| {
            std::hint::black_box(event);
            async { Ok::<(), BoxError>(()) }
        })
        // Each sample is a new event id; the bench's tens of thousands stay within it.
        .dedup_capacity(1_000_000)
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(dispatcher.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{address}/feishu/events")
}

/// A message event as the receive page's example has it, with a fresh envelope.
fn message_event(pusher: &Pusher) -> Value {
    pusher.envelope(
        "im.message.receive_v1",
        json!({
            "sender": {
                "sender_id": { "open_id": "ou_84aad35d084aa403a838cf73ee18467" },
                "sender_type": "user",
                "tenant_key": "736588c9260f175e"
            },
            "message": {
                "message_id": "om_5ce6d572455d361153b7cb51da133945",
                "create_time": "1609073151345",
                "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                "chat_type": "group",
                "message_type": "text",
                "content": "{\"text\":\"hello\"}"
            }
        }),
    )
}

fn main() {
    divan::main();
}

fn deliver(pusher: &Pusher) {
    let fixture = &*FIXTURE;
    let event = message_event(pusher);
    let attempt = fixture.pushes.block_on(pusher.deliver(&event));
    assert_eq!(attempt.status, Some(200), "{attempt:?}");
}

/// A plain JSON delivery: token check, dedup, typed decoding, the handler.
#[divan::bench]
fn webhook_plain() {
    deliver(&FIXTURE.plain);
}

/// An encrypted, signed delivery: the pusher's encryption and signing, and the
/// dispatcher's signature check and decryption, on top of the plain one.
#[divan::bench]
fn webhook_encrypted() {
    deliver(&FIXTURE.encrypted);
}

/// An event pushed over the long connection, until its handler starts.
#[divan::bench]
fn long_connection_push_to_handler() {
    let fixture = &*FIXTURE;
    let handled = fixture.handled.lock().expect("one bench at a time");
    let event = message_event(&fixture.plain);
    fixture
        .emulator
        .long_connections()
        .push_event(&event, 1)
        .expect("a connection is open");
    handled
        .recv_timeout(Duration::from_secs(10))
        .expect("the handler runs");
}

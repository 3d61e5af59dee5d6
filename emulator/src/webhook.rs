//! Feishu's side of event delivery to a developer's server: posts an event to a request
//! URL as Feishu does (the 2.0 envelope, encrypted and signed when an Encrypt Key is set),
//! and delivers it again when the answer is late or not a success, on a schedule.
//!
//! ```no_run
//! # async fn run() {
//! use feishu_emulator::webhook::Pusher;
//! use serde_json::json;
//!
//! let pusher = Pusher::new("http://127.0.0.1:3000/feishu/events", "verification-token")
//!     .encrypt_key("encrypt-key");
//! let event = pusher.envelope("im.chat.disbanded_v1", json!({ "chat_id": "oc_1" }));
//! let pushed = pusher.push(&event).await;
//! assert!(pushed.delivered());
//! # }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use feishu::reqwest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::DEFAULT_APP_ID;

/// How long Feishu waits for the developer's server to answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// The error a user's Feishu client shows when a card callback is not answered within
/// the answer timeout.
pub const CALLBACK_LATE: i64 = 200341;

/// The error a user's Feishu client shows when a card callback is answered with a status
/// other than 200.
pub const CALLBACK_FAILED: i64 = 200671;

/// When Feishu delivers an event again after a failed or late answer: 15 seconds, 5
/// minutes, 1 hour and 6 hours after the first delivery.
pub const RETRY_SCHEDULE: [Duration; 4] = [
    Duration::from_secs(15),
    Duration::from_secs(5 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(6 * 60 * 60),
];

/// Posts events to one request URL as Feishu does.
#[derive(Clone)]
pub struct Pusher {
    http: reqwest::Client,
    url: String,
    verification_token: String,
    encrypt_key: Option<String>,
    answer_timeout: Duration,
    retry_after: Vec<Duration>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("url", &self.url)
            .field("encrypted", &self.encrypt_key.is_some())
            .field("answer_timeout", &self.answer_timeout)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

/// One delivery of an event and how it was answered.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The HTTP status, if an answer came in time.
    pub status: Option<u16>,
    /// The answer's body, if an answer came in time.
    pub body: Option<bytes::Bytes>,
    /// Why no answer counts: the connection failed or the answer was late.
    pub failure: Option<String>,
    /// For a card callback that failed, the error the user's Feishu client shows:
    /// [`CALLBACK_LATE`] or [`CALLBACK_FAILED`].
    pub client_error: Option<i64>,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.status == Some(200)
    }
}

/// What pushing one event came to: every delivery, in order.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// The deliveries: the first, then one per retry until one succeeded.
    pub attempts: Vec<Attempt>,
}

impl Pushed {
    /// Whether a delivery was answered 200 in time.
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::succeeded)
    }
}

impl Pusher {
    /// Posts to `url`, with `verification_token` in each envelope, in plain JSON until an
    /// [Encrypt Key](Self::encrypt_key) is set; Feishu's answer timeout and retry schedule.
    pub fn new(url: impl Into<String>, verification_token: impl Into<String>) -> Pusher {
        // With the `feishu` crate's `rustls` alone, reqwest needs a process-wide provider.
        feishu::install_crypto_provider();
        Pusher {
            // Header names as Feishu writes them (`X-Lark-Signature`): some servers read
            // them case-sensitively.
            http: reqwest::Client::builder()
                .http1_title_case_headers()
                .build()
                .unwrap_or_default(),
            url: url.into(),
            verification_token: verification_token.into(),
            encrypt_key: None,
            answer_timeout: ANSWER_TIMEOUT,
            retry_after: RETRY_SCHEDULE.to_vec(),
        }
    }

    /// Encrypts each body with `key` and signs it (`X-Lark-Signature`), as Feishu does
    /// once the app has an Encrypt Key.
    pub fn encrypt_key(mut self, key: impl Into<String>) -> Pusher {
        self.encrypt_key = Some(key.into());
        self
    }

    /// How long to wait for an answer before the delivery counts as failed.
    pub fn answer_timeout(mut self, timeout: Duration) -> Pusher {
        self.answer_timeout = timeout;
        self
    }

    /// When to deliver again after a failed delivery, each counted from the first (tests
    /// use milliseconds where Feishu waits minutes); empty for no retries.
    pub fn retry_after(mut self, schedule: Vec<Duration>) -> Pusher {
        self.retry_after = schedule;
        self
    }

    /// A 2.0 envelope of `event` with this pusher's verification token (see [`envelope`]).
    pub fn envelope(&self, event_type: &str, event: Value) -> Value {
        envelope(event_type, event, &self.verification_token)
    }

    /// Delivers `envelope` (see [`envelope`]) until one delivery is answered 200 in time,
    /// or the retry schedule runs out. A card callback is delivered once: a user waits on
    /// its answer, and Feishu shows them an error rather than trying again.
    pub async fn push(&self, envelope: &Value) -> Pushed {
        let started = tokio::time::Instant::now();
        let mut attempts = vec![self.deliver(envelope).await];
        let schedule = match is_callback(envelope) {
            true => &[][..],
            false => &self.retry_after[..],
        };
        for delay in schedule {
            if attempts.last().is_some_and(Attempt::succeeded) {
                break;
            }
            tokio::time::sleep_until(started + *delay).await;
            attempts.push(self.deliver(envelope).await);
        }
        Pushed { attempts }
    }

    /// One delivery: a fresh timestamp, nonce and IV each time, as Feishu's retries have.
    pub async fn deliver(&self, envelope: &Value) -> Attempt {
        let plain = envelope.to_string();
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json; charset=utf-8")
            .timeout(self.answer_timeout);
        let body = match &self.encrypt_key {
            Some(key) => {
                let body = json!({ "encrypt": encrypt(key, plain.as_bytes()) }).to_string();
                let timestamp = unix_seconds().to_string();
                let nonce = format!("{:016x}", rand::random::<u64>());
                let signature = sign(&timestamp, &nonce, key, body.as_bytes());
                request = request
                    .header("X-Lark-Request-Timestamp", timestamp)
                    .header("X-Lark-Request-Nonce", nonce)
                    .header("X-Lark-Signature", signature);
                body
            }
            None => plain,
        };
        let answered = async {
            let response = request.body(body).send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        };
        let callback = is_callback(envelope);
        match answered.await {
            Ok((status, body)) => Attempt {
                status: Some(status),
                body: Some(body),
                failure: None,
                client_error: (callback && status != 200).then_some(CALLBACK_FAILED),
            },
            Err(err) => Attempt {
                status: None,
                body: None,
                failure: Some(if err.is_timeout() {
                    format!("no answer within {:?}", self.answer_timeout)
                } else {
                    format!("the delivery failed: {err}")
                }),
                client_error: callback.then_some(match err.is_timeout() {
                    true => CALLBACK_LATE,
                    false => CALLBACK_FAILED,
                }),
            },
        }
    }
}

/// Whether `envelope` is a card callback, whose answer a user waits for: a 2.0
/// `card.action.trigger`, or a 1.0 card callback (an `action` without an envelope).
fn is_callback(envelope: &Value) -> bool {
    envelope["header"]["event_type"] == "card.action.trigger"
        || (envelope.get("header").is_none() && envelope.get("action").is_some())
}

/// A 2.0 envelope as Feishu pushes it: a fresh `event_id`, the current time, the emulator's
/// app and a tenant, and `verification_token` as the header's token.
pub fn envelope(event_type: &str, event: Value, verification_token: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": format!("{:032x}", rand::random::<u128>()),
            "event_type": event_type,
            "create_time": (unix_seconds() * 1000).to_string(),
            "token": verification_token,
            "app_id": DEFAULT_APP_ID,
            "tenant_key": "emulated_tenant",
        },
        "event": event,
    })
}

fn unix_seconds() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.map_or(0, |since| since.as_secs())
}

/// `{"encrypt": …}`'s value: base64 of a random IV followed by AES-256-CBC (PKCS#7) of the
/// plaintext, keyed by the SHA-256 of the Encrypt Key, as Feishu encrypts an event.
pub fn encrypt(key: &str, plaintext: &[u8]) -> String {
    let aes_key: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let iv: [u8; 16] = rand::random();
    let ciphertext = cbc::Encryptor::<Aes256>::new(&aes_key.into(), &iv.into())
        .encrypt_padded_vec::<Pkcs7>(plaintext);
    STANDARD.encode([iv.as_slice(), &ciphertext].concat())
}

/// The `X-Lark-Signature` of a delivery: lowercase hex of
/// SHA-256(timestamp ‖ nonce ‖ key ‖ body).
pub fn sign(timestamp: &str, nonce: &str, key: &str, body: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(timestamp)
        .chain_update(nonce)
        .chain_update(key)
        .chain_update(body)
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

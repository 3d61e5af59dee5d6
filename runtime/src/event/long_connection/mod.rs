//! Feishu's long connection ("使用长连接接收事件"): the app opens a WebSocket to Feishu and
//! receives its events and card callbacks over it, with no public request URL, no
//! encryption and no signature (the connection itself is authenticated with the app's
//! credentials). The same [`Dispatcher`] that serves a request URL handles them.

mod endpoint;
mod error;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod reassembly;
mod session;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use error::LongConnectionError;

use super::Dispatcher;
use crate::client::Client;
use frame::ClientConfig;
use reassembly::{Limits, MAX_PARTS, MAX_PENDING, PART_TIMEOUT};
use session::{Ended, Session};

/// How long to wait between reconnection attempts by default, as Feishu's own SDKs do.
pub const DEFAULT_RECONNECT_INTERVAL: Duration = Duration::from_secs(120);
/// The most the first reconnection attempt after a drop waits by default: a random time
/// up to it, so that many clients dropped at once do not come back at once.
pub const DEFAULT_RECONNECT_NONCE: Duration = Duration::from_secs(30);
/// How often the client pings by default.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(120);
/// How many messages are handled at once by default; reading waits beyond it.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// The least ping and reconnect interval Feishu's `ClientConfig` may set; shorter ones are
/// raised to it.
pub const MIN_SERVER_INTERVAL: Duration = Duration::from_secs(1);
/// The most any interval or nonce Feishu's `ClientConfig` may set; longer ones are lowered
/// to it, so that no answer stops the client reconnecting. Also the longest wait between
/// attempts that the back-off reaches, unless the app sets a longer interval.
pub const MAX_SERVER_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// A connection that ends sooner than this after it opened counts as a failed attempt: it
/// backs off, and counts towards the reconnect count, as a refused one does.
pub const MIN_HEALTHY_SESSION: Duration = Duration::from_secs(30);

/// Receives an internal app's events and card callbacks over Feishu's long connection
/// (事件与回调 > 订阅方式 > 使用长连接接收事件) and runs them through a [`Dispatcher`].
///
/// It asks Feishu for a connection URL with the app's id and secret (those of the
/// [`Client`]), opens the WebSocket, pings it, applies the settings Feishu sends, joins
/// messages Feishu split over several frames, hands each event to the dispatcher (the
/// dispatcher's deduplication, routing and card answers apply; its signature, token and
/// replay checks do not, since the connection is authenticated), and acknowledges each
/// with its handler's result: 200, or 500 so that Feishu delivers it again. When the
/// connection drops it reconnects: after a random wait up to the
/// [nonce](Self::reconnect_nonce) first, then every [interval](Self::reconnect_interval).
///
/// Feishu delivers each event to one of an app's connections, picked at random, and waits
/// 3 seconds for its acknowledgement; marketplace apps cannot use long connections.
///
/// ```no_run
/// use feishu_runtime::Client;
/// use feishu_runtime::event::{Dispatcher, LongConnection};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("cli_app_id", "app_secret").build()?;
/// // The verification token is not checked on a long connection.
/// let dispatcher = Dispatcher::builder("")
///     .on_raw("im.message.receive_v1", |event, _context| async move {
///         println!("{event}");
///         Ok::<_, std::io::Error>(())
///     })
///     .build();
/// // Completing `stop` (or dropping it) ends the run, e.g. on Ctrl-C.
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let shutdown = async {
///     let _ = stopped.await;
/// };
/// LongConnection::new(client, dispatcher)
///     .run_until(shutdown)
///     .await?;
/// # drop(stop);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LongConnection {
    client: Client,
    dispatcher: Dispatcher,
    settings: Settings,
    max_in_flight: usize,
}

/// The settings Feishu may change with a `ClientConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `None`: forever.
    pub(crate) reconnect_count: Option<u32>,
    pub(crate) reconnect_interval: Duration,
    pub(crate) reconnect_nonce: Duration,
    pub(crate) ping_interval: Duration,
}

impl Settings {
    /// Takes what Feishu sent, within [`MIN_SERVER_INTERVAL`] and [`MAX_SERVER_INTERVAL`];
    /// absent and non-positive values are ignored (a negative `ReconnectCount` is
    /// "forever", a zero `ReconnectNonce` no random wait).
    pub(crate) fn apply(&mut self, config: &ClientConfig) {
        let seconds = |value: Option<i64>| {
            value
                .and_then(|s| u64::try_from(s).ok())
                .map(|s| Duration::from_secs(s).min(MAX_SERVER_INTERVAL))
        };
        let interval = |value: Option<i64>| {
            seconds(value)
                .filter(|s| !s.is_zero())
                .map(|s| s.max(MIN_SERVER_INTERVAL))
        };
        if let Some(count) = config.reconnect_count {
            self.reconnect_count = u32::try_from(count).ok();
        }
        if let Some(interval) = interval(config.reconnect_interval) {
            self.reconnect_interval = interval;
        }
        if let Some(nonce) = seconds(config.reconnect_nonce) {
            self.reconnect_nonce = nonce;
        }
        if let Some(ping) = interval(config.ping_interval) {
            self.ping_interval = ping;
        }
    }

    /// The wait before the next attempt after `failures` failures in a row: the interval,
    /// doubled for each failure after the first, up to the larger of the interval and
    /// [`MAX_SERVER_INTERVAL`].
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        let cap = self.reconnect_interval.max(MAX_SERVER_INTERVAL);
        self.reconnect_interval
            .saturating_mul(1 << doublings)
            .min(cap)
    }
}

impl LongConnection {
    /// A long connection for `client`'s app (an internal app), whose events `dispatcher`
    /// handles.
    pub fn new(client: impl Into<Client>, dispatcher: Dispatcher) -> Self {
        LongConnection {
            client: client.into(),
            dispatcher,
            settings: Settings {
                reconnect_count: None,
                reconnect_interval: DEFAULT_RECONNECT_INTERVAL,
                reconnect_nonce: DEFAULT_RECONNECT_NONCE,
                ping_interval: DEFAULT_PING_INTERVAL,
            },
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// How long to wait between reconnection attempts (default
    /// [`DEFAULT_RECONNECT_INTERVAL`]). Feishu's `ClientConfig` overrides it.
    pub fn reconnect_interval(mut self, interval: Duration) -> Self {
        self.settings.reconnect_interval = interval;
        self
    }

    /// The most the first reconnection attempt after a drop waits, at random (default
    /// [`DEFAULT_RECONNECT_NONCE`]; zero: at once). Feishu's `ClientConfig` overrides it.
    pub fn reconnect_nonce(mut self, nonce: Duration) -> Self {
        self.settings.reconnect_nonce = nonce;
        self
    }

    /// How many attempts in a row may fail before [`run`](Self::run) gives up with
    /// [`LongConnectionError::GaveUp`] (default `None`: never). Feishu's `ClientConfig`
    /// overrides it.
    pub fn reconnect_count(mut self, attempts: Option<u32>) -> Self {
        self.settings.reconnect_count = attempts;
        self
    }

    /// How often to ping (default [`DEFAULT_PING_INTERVAL`]). Feishu's `ClientConfig`
    /// overrides it.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.settings.ping_interval = interval;
        self
    }

    /// How many messages are handled at once (default [`DEFAULT_MAX_IN_FLIGHT`]); the
    /// connection is not read while that many handlers run.
    pub fn max_in_flight(mut self, messages: usize) -> Self {
        self.max_in_flight = messages;
        self
    }

    /// Runs until Feishu refuses the app or reconnection gives up: see
    /// [`run_until`](Self::run_until).
    pub async fn run(self) -> Result<(), LongConnectionError> {
        self.run_until(std::future::pending()).await
    }

    /// Connects, serves the connection and reconnects whenever it drops, until `shutdown`
    /// completes (then `Ok`, after closing the connection) or a fatal error (a
    /// configuration error, Feishu refusing the app, or every allowed reconnection
    /// failing). Other failures are logged with `tracing` and retried.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), LongConnectionError> {
        self.check()?;
        let mut shutdown: Pin<Box<dyn Future<Output = ()> + Send + '_>> = Box::pin(shutdown);
        let mut settings = self.settings.clone();
        let mut failures: u32 = 0;
        loop {
            let wait = match self.attempt(&mut settings, shutdown.as_mut()).await? {
                Attempt::Shutdown => return Ok(()),
                Attempt::Lasted => {
                    failures = 0;
                    jitter(settings.reconnect_nonce)
                }
                Attempt::Failed(err) => {
                    failures = failures.saturating_add(1);
                    if settings.reconnect_count.is_some_and(|max| failures > max) {
                        return Err(LongConnectionError::GaveUp {
                            attempts: failures,
                            last: Box::new(err),
                        });
                    }
                    tracing::warn!(error = %err, failures, "long connection failed; retrying");
                    settings.backoff(failures)
                }
            };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One attempt: connects and serves the connection until it ends. A fatal error is
    /// the `Err`.
    async fn attempt(
        &self,
        settings: &mut Settings,
        mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send + '_)>,
    ) -> Result<Attempt, LongConnectionError> {
        let connected = tokio::select! {
            () = shutdown.as_mut() => return Ok(Attempt::Shutdown),
            connected = self.connect(settings) => connected,
        };
        let (socket, endpoint) = match connected {
            Ok(connected) => connected,
            Err(err) if err.is_fatal() => return Err(err),
            Err(err) => return Ok(Attempt::Failed(err)),
        };
        tracing::info!(device_id = %endpoint.device_id, "long connection up");
        let opened = tokio::time::Instant::now();
        let session = Session {
            socket,
            dispatcher: &self.dispatcher,
            settings,
            device_id: &endpoint.device_id,
            service_id: endpoint.service_id,
            limits: self.limits(),
            max_in_flight: self.max_in_flight.max(1),
        };
        let err = match session.serve(shutdown).await {
            Ended::Shutdown => return Ok(Attempt::Shutdown),
            Ended::Lost(err) => err,
        };
        tracing::warn!(device_id = %endpoint.device_id, error = %err, "long connection lost; reconnecting");
        // A connection the server ends at once is no better than a refused one: it must
        // not let the client reconnect in a loop.
        Ok(match opened.elapsed() < MIN_HEALTHY_SESSION {
            true => Attempt::Failed(err),
            false => Attempt::Lasted,
        })
    }

    /// Refuses settings that cannot work.
    fn check(&self) -> Result<(), LongConnectionError> {
        if self.client.is_marketplace() {
            return Err(LongConnectionError::Config(
                "only internal apps can use the long connection".to_owned(),
            ));
        }
        let settings = &self.settings;
        if settings.ping_interval.is_zero() || settings.reconnect_interval.is_zero() {
            return Err(LongConnectionError::Config(
                "ping_interval and reconnect_interval must be longer than zero".to_owned(),
            ));
        }
        Ok(())
    }

    /// Gets a URL, takes its settings, and opens the socket.
    async fn connect(
        &self,
        settings: &mut Settings,
    ) -> Result<(endpoint::Socket, endpoint::Endpoint), LongConnectionError> {
        let endpoint = endpoint::fetch(&self.client).await?;
        if let Some(config) = &endpoint.config {
            settings.apply(config);
        }
        let socket = endpoint::dial(&self.client, &endpoint, self.max_message_bytes()).await?;
        Ok((socket, endpoint))
    }

    /// A message, whole or joined, is at most what the dispatcher accepts.
    fn max_message_bytes(&self) -> usize {
        // The frame around the payload: headers and ids, well under 64 KiB.
        self.dispatcher.max_body_bytes().saturating_add(64 * 1024)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_parts: MAX_PARTS,
            max_bytes: self.dispatcher.max_body_bytes(),
            max_pending: MAX_PENDING,
            timeout: PART_TIMEOUT,
        }
    }
}

/// How one attempt at a connection ended, short of a fatal error.
enum Attempt {
    /// The shutdown future completed.
    Shutdown,
    /// The connection was up for [`MIN_HEALTHY_SESSION`] or more before it was lost.
    Lasted,
    /// The attempt failed, or the connection ended sooner.
    Failed(LongConnectionError),
}

/// A random time from zero up to `max`; randomness from the standard library's hasher
/// keys, which is all a jitter needs.
fn jitter(max: Duration) -> Duration {
    use std::hash::BuildHasher;

    let nanos = max.as_nanos();
    if nanos == 0 {
        return Duration::ZERO;
    }
    let random = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    let picked = u128::from(random) % nanos;
    Duration::from_nanos(u64::try_from(picked).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_what_feishu_sends_and_ignores_nonsense() {
        let mut settings = LongConnection::new(
            Client::builder("cli_a", "s")
                .base_url(crate::BaseUrl::Custom("http://127.0.0.1:9".into()))
                .build()
                .unwrap(),
            Dispatcher::builder("").build(),
        )
        .reconnect_count(Some(3))
        .settings;
        settings.apply(&ClientConfig {
            reconnect_count: Some(-1),
            reconnect_interval: Some(0),
            reconnect_nonce: Some(0),
            ping_interval: Some(7),
        });
        assert_eq!(settings.reconnect_count, None);
        assert_eq!(settings.reconnect_interval, DEFAULT_RECONNECT_INTERVAL);
        assert_eq!(settings.reconnect_nonce, Duration::ZERO);
        assert_eq!(settings.ping_interval, Duration::from_secs(7));
        settings.apply(&ClientConfig {
            reconnect_count: Some(2),
            ..ClientConfig::default()
        });
        assert_eq!(settings.reconnect_count, Some(2));
    }

    #[test]
    fn settings_from_feishu_stay_within_bounds() {
        let mut settings = Settings {
            reconnect_count: None,
            reconnect_interval: DEFAULT_RECONNECT_INTERVAL,
            reconnect_nonce: DEFAULT_RECONNECT_NONCE,
            ping_interval: DEFAULT_PING_INTERVAL,
        };
        settings.apply(&ClientConfig {
            reconnect_count: None,
            reconnect_interval: Some(i64::MAX),
            reconnect_nonce: Some(i64::MAX),
            ping_interval: Some(i64::MAX),
        });
        assert_eq!(settings.reconnect_interval, MAX_SERVER_INTERVAL);
        assert_eq!(settings.reconnect_nonce, MAX_SERVER_INTERVAL);
        assert_eq!(settings.ping_interval, MAX_SERVER_INTERVAL);
        // Under a second is a second (zero is ignored: "no change").
        settings.reconnect_interval = Duration::from_millis(1);
        settings.apply(&ClientConfig {
            reconnect_interval: Some(1),
            ping_interval: Some(1),
            ..ClientConfig::default()
        });
        assert_eq!(settings.reconnect_interval, MIN_SERVER_INTERVAL);
        assert_eq!(settings.ping_interval, MIN_SERVER_INTERVAL);
    }

    #[test]
    fn the_back_off_doubles_up_to_its_cap() {
        let mut settings = Settings {
            reconnect_count: None,
            reconnect_interval: Duration::from_secs(1),
            reconnect_nonce: Duration::ZERO,
            ping_interval: DEFAULT_PING_INTERVAL,
        };
        let waits: Vec<u64> = (1..=5).map(|n| settings.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
        assert_eq!(settings.backoff(u32::MAX), MAX_SERVER_INTERVAL);
        // An app's own longer interval is kept.
        settings.reconnect_interval = Duration::from_secs(3600);
        assert_eq!(settings.backoff(3), Duration::from_secs(3600));
    }

    #[test]
    fn the_jitter_stays_below_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(10)) < Duration::from_millis(10));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn shows_no_secret() {
        let client = Client::builder("cli_a", "the-app-secret")
            .base_url(crate::BaseUrl::Custom("http://127.0.0.1:9".into()))
            .build()
            .unwrap();
        let shown = format!(
            "{:?}",
            LongConnection::new(client, Dispatcher::builder("").build())
        );
        assert!(!shown.contains("the-app-secret"), "{shown}");
    }
}

//! The HTTP layer: a real HTTP/1.1 server on 127.0.0.1 that records every request and
//! answers with whatever its handler says. The emulator is one such handler; tests that
//! need replies Feishu would never send can install their own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::{BodyExt, BodyStream};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::form::{self, Form};

/// What a handler returns to have the connection dropped without an answer.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for ConnectionDropped {}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The query string, still encoded.
    pub query: Option<String>,
    /// Header names are lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, as received; empty for a `multipart/form-data` request, whose parts
    /// are in `form`.
    pub body: Vec<u8>,
    /// A `multipart/form-data` body as read, or why it could not be read.
    pub form: Option<Result<Form, String>>,
}

impl Recorded {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The query, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(query) = &self.query else {
            return Vec::new();
        };
        query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_form(k), decode_form(v))
            })
            .collect()
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "request body is not JSON ({err}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn decode_form(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A request's body: whole, or for a `multipart/form-data` request, read as a form as it
/// streams (the body itself then stays empty).
async fn read_body(
    headers: &hyper::HeaderMap,
    body: hyper::body::Incoming,
) -> (Vec<u8>, Option<Result<Form, String>>) {
    let boundary = headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(form::boundary);
    let Some(boundary) = boundary else {
        let whole = body.collect().await.map(|b| b.to_bytes().to_vec());
        return (whole.unwrap_or_default(), None);
    };
    let chunks = BodyStream::new(body).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(err) => Some(Err(std::io::Error::other(err))),
        }
    });
    (Vec::new(), Some(form::read(chunks, boundary).await))
}

/// What the server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Instead of `body`, a body of this many bytes of [`pattern`], made as it is sent.
    pub pattern: Option<u64>,
    /// How long to wait before answering.
    pub delay: Option<Duration>,
    /// Drop the connection instead of answering (after the delay).
    pub close: bool,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::raw(status, "application/json; charset=utf-8", body.to_string())
    }

    /// An answer with any body.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            pattern: None,
            delay: None,
            close: false,
        }
    }

    /// An answer whose body is `length` bytes of [`pattern`], made as it is sent, so a
    /// body of any size costs no memory.
    pub fn pattern(status: u16, content_type: &str, length: u64) -> Reply {
        Reply {
            pattern: Some(length),
            ..Reply::raw(status, content_type, Vec::new())
        }
    }

    /// No answer: the connection is dropped.
    pub fn close() -> Reply {
        Reply {
            close: true,
            ..Reply::raw(500, "text/plain", "")
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// The byte at `offset` of a [`Reply::pattern`] body: not periodic in any power of two,
/// so a chunk sent twice or out of place shows.
pub fn pattern_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(31).wrapping_add(offset / 251) % 251) as u8
}

/// `len` bytes of the pattern from `offset`.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64).map(pattern_byte).collect()
}

/// A reply's body: whole, or made as it is sent.
enum ReplyBody {
    Whole(Option<Bytes>),
    Pattern { sent: u64, length: u64 },
}

impl http_body::Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        const CHUNK: u64 = 64 * 1024;
        Poll::Ready(match &mut *self {
            ReplyBody::Whole(body) => body.take().map(|b| Ok(Frame::data(b))),
            ReplyBody::Pattern { sent, length } if *sent < *length => {
                let len = CHUNK.min(*length - *sent);
                let chunk = pattern(*sent, len as usize);
                *sent += len;
                Some(Ok(Frame::data(Bytes::from(chunk))))
            }
            ReplyBody::Pattern { .. } => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReplyBody::Whole(body) => body.is_none(),
            ReplyBody::Pattern { sent, length } => sent >= length,
        }
    }

    /// Exact, so the answer carries a `Content-Length`, as Feishu's do.
    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ReplyBody::Whole(body) => {
                http_body::SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            ReplyBody::Pattern { sent, length } => http_body::SizeHint::with_exact(length - sent),
        }
    }
}

/// The server; it stops when dropped.
pub struct Server {
    addr: SocketAddr,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Mutex<Handler>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a server on an ephemeral port of 127.0.0.1, in the current tokio runtime.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Server::start_on(any_port, handler)
            .await
            .expect("bind an ephemeral port of 127.0.0.1")
    }

    /// Starts a server on `addr`, in the current tokio runtime.
    pub async fn start_on(
        addr: SocketAddr,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Mutex<Handler>> = Arc::new(Mutex::new(Arc::new(handler)));
        let (rec, hand) = (recorded.clone(), handler.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (rec, hand) = (rec.clone(), hand.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let (rec, hand) = (rec.clone(), hand.clone());
                            async move {
                                let (parts, body) = request.into_parts();
                                let (body, form) = read_body(&parts.headers, body).await;
                                let recorded = Recorded {
                                    method: parts.method.to_string(),
                                    path: parts.uri.path().to_owned(),
                                    query: parts.uri.query().map(str::to_owned),
                                    headers: parts
                                        .headers
                                        .iter()
                                        .map(|(k, v)| {
                                            (k.as_str().to_owned(), v.as_bytes().to_vec())
                                        })
                                        .collect(),
                                    body,
                                    form,
                                };
                                let handler = hand.lock().expect("handler lock").clone();
                                let reply = handler(&recorded);
                                rec.lock().expect("record lock").push(recorded);
                                if let Some(delay) = reply.delay {
                                    tokio::time::sleep(delay).await;
                                }
                                if reply.close {
                                    return Err(ConnectionDropped);
                                }
                                let mut response = hyper::Response::builder().status(reply.status);
                                for (name, value) in &reply.headers {
                                    response = response.header(name, value);
                                }
                                let body = match reply.pattern {
                                    Some(length) => ReplyBody::Pattern { sent: 0, length },
                                    None => ReplyBody::Whole(Some(Bytes::from(reply.body))),
                                };
                                Ok::<_, ConnectionDropped>(
                                    response.body(body).expect("valid response"),
                                )
                            }
                        });
                    // Feishu writes header names in title case (`X-Tt-Logid`), and
                    // Feishu's Python SDK looks them up exactly so.
                    let _ = http1::Builder::new()
                        .title_case_headers(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Server {
            addr,
            recorded,
            handler,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the handler.
    pub fn set_handler(&self, handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.handler.lock().expect("handler lock") = Arc::new(handler);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("record lock").clone()
    }

    /// The requests received so far, emptying the record.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.recorded.lock().expect("record lock"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! The hand-written runtime the generated Feishu service crates (`feishu-im`, …) are
//! built on: the [`Client`], per-call options ([`Call`]), authentication, and the
//! [`Error`] type. Users reach it through the `feishu` crate, as `feishu::runtime`.
//!
//! Generated request types implement [`ApiRequest`]; the client sends any such request, so
//! the generated code never touches HTTP itself.

#![warn(missing_docs)]
// docs.rs documents every feature on nightly with `--cfg docsrs`: feature-gated items then
// say which feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod body;
mod call;
mod client;
mod download;
mod error;
pub mod event;
mod idle;
mod paging;
mod rate_limit;
mod raw;
mod request;
mod response;
mod retry;
mod secret;
mod tls;
mod upload;
pub mod validate;
mod wire_enum;

pub use auth::{INVALID_TOKEN_CODES, TokenKind, paths as auth_paths};
pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use call::{Call, HELPDESK_HEADER, Metadata, REQUEST_ID_HEADER};
pub use client::{BaseUrl, Client, ClientBuilder, DEFAULT_REFRESH_MARGIN, USER_AGENT};
pub use download::Download;
pub use error::{ApiError, Error, FieldViolation, PermissionViolation, Result, SNIPPET_LEN};
pub use paging::{Items, NextPage, PageTokenIn, PagedItems, PagedRequest, Pages, Paging};
pub use rate_limit::Quota;
pub use raw::RawRequest;
pub use request::{
    ApiRequest, DocumentedError, Empty, Endpoint, Envelope, Host, HttpMethod, ParamValue, Params,
    push_path_param,
};
pub use response::Payload;
pub use retry::{RATE_LIMIT_CODE, RATE_LIMIT_RESET_HEADER, RetryPolicy};
pub use secret::Secret;
pub use tls::install_crypto_provider;
pub use upload::{FilePart, UploadFile};
pub use validate::Validate;

/// The HTTP client crate the client is built on, at the version it uses: for
/// [`ClientBuilder::http_client`] and the transport errors in [`Error::Transport`].
pub use reqwest;

/// The stream trait [`Pages`] and [`Items`] implement: with `futures::StreamExt` (from the
/// `futures` crate) they take every stream combinator.
pub use futures_core::Stream;

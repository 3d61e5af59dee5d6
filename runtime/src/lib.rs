//! The hand-written runtime the generated Feishu service crates (`feishu-im`, …) are
//! built on: the [`Client`], per-call options ([`Call`]), authentication, and the
//! [`Error`] type. Users reach it through the `feishu` crate, as `feishu::runtime`.
//!
//! Its public names are split by audience: what apps use is at the root (and [`event`]
//! for the events Feishu pushes); Feishu's protocol constants are in [`wire`]; and what
//! generated code needs (the `ApiRequest` trait its request types implement, endpoint
//! descriptions, validation helpers) is in the hidden module `codegen`, so that the
//! generated code never touches HTTP itself and apps never see its plumbing.

#![warn(missing_docs)]
// docs.rs documents every feature on nightly with `--cfg docsrs`: feature-gated items then
// say which feature they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod call;
mod client;
pub mod codes;
mod error;
pub mod event;
mod retry;
mod secret;
mod tls;
mod transfer;
mod types;
pub mod wire;

// What apps use, at the root.
pub use auth::token::TokenKind;
pub use call::endpoint::HttpMethod;
pub use call::paging::{DEFAULT_MAX_EMPTY_PAGES, Items, MAX_PAGE_TOKEN_BYTES, Pages};
pub use call::raw::RawRequest;
pub use call::request::Empty;
pub use call::{Call, Metadata};
pub use client::{BaseUrl, Client, ClientBuilder, DEFAULT_REFRESH_MARGIN};
pub use error::{
    ApiError, DocumentedError, Error, FieldViolation, PermissionViolation, Result, SNIPPET_LEN,
};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use tls::install_crypto_provider;
pub use transfer::body::DEFAULT_MAX_RESPONSE_BYTES;
pub use transfer::download::Download;
pub use transfer::upload::UploadFile;

/// The contract between the runtime and the service crates `cargo xtask codegen` writes:
/// every runtime item generated code names, and only through this module. Not for apps:
/// it changes with the generator, in any release.
#[doc(hidden)]
pub mod codegen {
    pub use crate::auth::token::TokenKind;
    pub use crate::call::Call;
    pub use crate::call::endpoint::{Endpoint, Envelope, Host, HttpMethod, PageTokenIn, Paging};
    pub use crate::call::paging::{NextPage, PagedItems, PagedRequest};
    pub use crate::call::request::{ApiRequest, Empty, ParamValue, Params, push_path_param};
    pub use crate::call::response::Payload;
    pub use crate::client::Client;
    pub use crate::error::{DocumentedError, FieldViolation};
    pub use crate::event::Event;
    pub use crate::retry::rate_limit::Quota;
    pub use crate::transfer::download::Download;
    pub use crate::transfer::upload::{FilePart, UploadFile};
    pub use crate::types::validate::{Validate, check_length, check_range, field_path};
    pub use crate::{integer_enum, string_enum};
}

/// What the project's benchmarks and fuzzer reach that apps do not: the rate-limit pacer
/// on its own, the `Content-Disposition` reader, and the long connection's session over
/// an in-memory pipe. Not for apps: it changes in any release.
#[doc(hidden)]
pub mod harness {
    #[cfg(feature = "websocket")]
    pub use crate::event::long_connection::fuzzing::{Served, frame, serve};
    pub use crate::retry::rate_limit::Pacer;
    pub use crate::transfer::download::disposition_file_name as file_name;
}

/// The HTTP client crate the client is built on, at the version it uses: for
/// [`ClientBuilder::http_client`] and the transport errors in [`Error::Transport`].
pub use reqwest;

/// The stream trait [`Pages`] and [`Items`] implement: with `futures::StreamExt` (from the
/// `futures` crate) they take every stream combinator.
pub use futures_core::Stream;

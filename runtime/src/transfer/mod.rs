//! Bytes in and out: reading an answer's body within the client's limit ([`body`]),
//! uploads sent as multipart parts ([`upload`]), downloads streamed from the response
//! ([`download`]), and the idle timer they use so that a stalled transfer fails instead
//! of hanging ([`idle`]).

pub(crate) mod body;
pub(crate) mod download;
pub(crate) mod idle;
pub(crate) mod upload;

//! What the generated types are built with: checking a request against its page's rules
//! before it is sent ([`validate`]), and the enums that keep values Feishu adds later
//! ([`wire_enum`]'s macros).

pub(crate) mod validate;
mod wire_enum;

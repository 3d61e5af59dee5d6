//! The [`Secret`] type: credentials and tokens that never show in logs or errors.

use std::fmt;

/// A credential or token. Its `Debug` and `Display` never show the value, so secrets do
/// not end up in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// What a redacted secret is replaced with.
const REDACTED: &str = "***";
/// Shorter values are not redacted: they would blank out ordinary words, and no real
/// credential is that short.
const MIN_REDACTED_LEN: usize = 6;

/// The secrets a request sent, to keep them out of what is kept of its answer: a server
/// (or a proxy, or a wrong base URL) that echoes the request must not put a token into an
/// error message or a log line.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() >= MIN_REDACTED_LEN {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` with every secret in it replaced by `***`.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Every string in `value`, keys included, redacted.
    pub(crate) fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, v)| (self.text(&key), self.json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_secret_wherever_it_stands() {
        let mut redactor = Redactor::default();
        redactor.add("t-g1044abcdef");
        redactor.add("s3cr3t-app");
        redactor.add("abc"); // too short to be a credential
        let text = "bad token t-g1044abcdef (app s3cr3t-app), again t-g1044abcdef; abc";
        assert_eq!(
            redactor.text(text),
            "bad token *** (app ***), again ***; abc"
        );
        let json = serde_json::json!({"echo": ["s3cr3t-app", {"t-g1044abcdef": 1}]});
        assert_eq!(
            redactor.json(json),
            serde_json::json!({"echo": ["***", {"***": 1}]})
        );
    }
}

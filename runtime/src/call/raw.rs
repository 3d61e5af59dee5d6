//! Calls by method and path, for endpoints the crate does not generate (a page Feishu
//! published this morning): the same authentication, retries, rate-limit waits and typed
//! errors as a generated call, with JSON in and the response's `data` out.

use std::fmt;

use crate::auth::token::TokenKind;
use crate::call::Call;
use crate::call::endpoint::{Endpoint, Envelope, Host, HttpMethod};
use crate::call::request::{ApiRequest, ParamValue, Params};
use crate::client::Client;
use crate::error::FieldViolation;

/// A request to an Open Platform endpoint named by its method and path. Made by
/// [`Client::raw`]; set its query, body and token on the [`Call`].
#[derive(Clone)]
pub struct RawRequest {
    method: HttpMethod,
    path: String,
    query: Params,
    body: Option<serde_json::Value>,
    token: Option<TokenKind>,
}

impl fmt::Debug for RawRequest {
    /// The body and query values are the caller's and may hold secrets (a raw call to an
    /// auth endpoint sends the app secret): only the names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<&str> = self.query.iter().map(|(name, _)| name).collect();
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("body", &self.body.as_ref().map(|_| ".."))
            .field("token", &self.token)
            .finish()
    }
}

impl Client {
    /// A call to any endpoint on the Open Platform host: `path` is the whole path, e.g.
    /// `/open-apis/im/v1/chats/oc_123`, with its parameters already in it (percent-encode
    /// them). The call sends the `tenant_access_token` unless
    /// [`Call::user_access_token`] or [`Call::token`] says otherwise, and returns the
    /// response's `data` as JSON (`{}` when there is none).
    ///
    /// ```no_run
    /// # async fn run(client: &feishu_runtime::Client) -> feishu_runtime::Result<()> {
    /// use feishu_runtime::HttpMethod;
    /// let chat = client
    ///     .raw(HttpMethod::Get, "/open-apis/im/v1/chats/oc_123")
    ///     .query("user_id_type", "open_id")
    ///     .await?;
    /// println!("{}", chat["name"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn raw(&self, method: HttpMethod, path: impl Into<String>) -> Call<'_, RawRequest> {
        Call::new(
            self,
            RawRequest {
                method,
                path: path.into(),
                query: Params::default(),
                body: None,
                token: Some(TokenKind::Tenant),
            },
        )
    }
}

impl Call<'_, RawRequest> {
    /// Appends a query parameter; a name given twice is sent twice.
    pub fn query(mut self, name: impl Into<String>, value: &(impl ParamValue + ?Sized)) -> Self {
        self.request_mut().query.push(name.into(), value);
        self
    }

    /// The JSON body to send.
    pub fn body(mut self, body: serde_json::Value) -> Self {
        self.request_mut().body = Some(body);
        self
    }

    /// The app token the call sends when no [`user_access_token`](Call::user_access_token)
    /// is given: [`TokenKind::Tenant`] (the default) or [`TokenKind::App`];
    /// [`TokenKind::User`] requires a user token; `None` sends no token at all.
    pub fn token(mut self, token: Option<TokenKind>) -> Self {
        self.request_mut().token = token;
        self
    }
}

impl ApiRequest for RawRequest {
    type Body = serde_json::Value;
    type Response = serde_json::Value;
    // Only a stand-in: `endpoint()` picks the real one from the method and the token.
    const ENDPOINT: &'static Endpoint = &RAW_ENDPOINTS[0][0];

    fn endpoint(&self) -> &'static Endpoint {
        let method = match self.method {
            HttpMethod::Get => 0,
            HttpMethod::Post => 1,
            HttpMethod::Put => 2,
            HttpMethod::Patch => 3,
            HttpMethod::Delete => 4,
        };
        let token = match self.token {
            Some(TokenKind::Tenant) => 0,
            Some(TokenKind::App) => 1,
            Some(TokenKind::User) => 2,
            None => 3,
        };
        &RAW_ENDPOINTS[method][token]
    }

    fn path(&self) -> String {
        self.path.clone()
    }

    fn query(&self, out: &mut Params) {
        out.0.extend(self.query.0.iter().cloned());
    }

    fn body(&self) -> Option<&serde_json::Value> {
        self.body.as_ref()
    }

    /// The path is the caller's, whole: it must be a path and nothing more, so that it can
    /// neither leave the host nor smuggle in a query.
    fn validate(&self, out: &mut Vec<FieldViolation>) {
        let path = &self.path;
        let problem = if !path.starts_with('/') {
            Some("must start with `/`")
        } else if path.contains(['?', '#']) {
            Some("must not hold a query or fragment: add parameters with Call::query")
        } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("must not hold whitespace: percent-encode parameters")
        } else if path.split('/').any(|segment| segment == "..") {
            Some("must not hold a `..` segment")
        } else {
            None
        };
        if let Some(problem) = problem {
            let mut violation = FieldViolation::new("path", problem);
            violation.value = Some(path.clone());
            out.push(violation);
        }
    }
}

/// The tokens a raw call accepts, by what [`Call::token`] chose; a user token is always
/// accepted in place of an app token.
const RAW_TOKENS: [&[TokenKind]; 4] = [
    &[TokenKind::Tenant, TokenKind::User],
    &[TokenKind::App, TokenKind::User],
    &[TokenKind::User],
    &[],
];

const fn raw_endpoints(id: &'static str, method: HttpMethod) -> [Endpoint; 4] {
    const fn one(id: &'static str, method: HttpMethod, tokens: &'static [TokenKind]) -> Endpoint {
        Endpoint {
            id,
            method,
            host: Host::Open,
            // Empty: no documented path; the request carries its own.
            path: "",
            tokens,
            helpdesk: false,
            envelope: Envelope::Data,
            files: &[],
            errors: &[],
            doc_url: "",
            paging: None,
            // Not paced: the quota of an endpoint the crate does not know is not known.
            rate_limit: &[],
            response_example: None,
            // Not checked: the body of an endpoint the crate does not know is not known.
            body_schema: None,
        }
    }
    [
        one(id, method, RAW_TOKENS[0]),
        one(id, method, RAW_TOKENS[1]),
        one(id, method, RAW_TOKENS[2]),
        one(id, method, RAW_TOKENS[3]),
    ]
}

/// A raw call's endpoint, by method (in [`HttpMethod`]'s order) and token choice.
static RAW_ENDPOINTS: [[Endpoint; 4]; 5] = [
    raw_endpoints("raw GET", HttpMethod::Get),
    raw_endpoints("raw POST", HttpMethod::Post),
    raw_endpoints("raw PUT", HttpMethod::Put),
    raw_endpoints("raw PATCH", HttpMethod::Patch),
    raw_endpoints("raw DELETE", HttpMethod::Delete),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        // http, so the tests need no TLS feature.
        Client::builder("cli_a", "secret")
            .base_url(crate::BaseUrl::Custom("http://127.0.0.1:9".into()))
            .build()
            .expect("a valid client")
    }

    fn violations(path: &str) -> Vec<FieldViolation> {
        let client = client();
        let call = client.raw(HttpMethod::Get, path);
        let mut out = Vec::new();
        call.request().validate(&mut out);
        out
    }

    #[test]
    fn a_raw_path_is_a_path_and_nothing_more() {
        assert!(violations("/open-apis/im/v1/chats/oc_1").is_empty());
        assert!(violations("/open-apis/hire/v1/talent_pools/").is_empty());
        for bad in [
            "open-apis/x",
            "https://evil.example/x",
            "/open-apis/x?y=1",
            "/open-apis/x#y",
            "/open-apis/a b",
            "/open-apis/../x",
        ] {
            let found = violations(bad);
            assert_eq!(found.len(), 1, "{bad}");
            assert_eq!(found[0].field, "path");
        }
    }

    #[test]
    fn debug_shows_no_body_or_query_value() {
        let client = client();
        let call = client
            .raw(HttpMethod::Post, "/open-apis/auth/v3/app_access_token")
            .query("ticket", "t-very-secret")
            .body(serde_json::json!({"app_secret": "s-very-secret"}));
        let text = format!("{call:?}");
        assert!(
            text.contains("app_access_token") && text.contains("ticket"),
            "{text}"
        );
        assert!(!text.contains("very-secret"), "{text}");
    }

    #[test]
    fn the_endpoint_follows_the_method_and_the_token() {
        let client = client();
        let post = client.raw(HttpMethod::Post, "/open-apis/x");
        assert_eq!(post.request().endpoint().method, HttpMethod::Post);
        assert_eq!(
            post.request().endpoint().tokens,
            &[TokenKind::Tenant, TokenKind::User]
        );
        let tokenless = client.raw(HttpMethod::Delete, "/open-apis/x").token(None);
        assert_eq!(tokenless.request().endpoint().method, HttpMethod::Delete);
        assert!(tokenless.request().endpoint().tokens.is_empty());
        let app = client
            .raw(HttpMethod::Get, "/open-apis/x")
            .token(Some(TokenKind::App));
        assert_eq!(app.request().endpoint().tokens[0], TokenKind::App);
    }
}

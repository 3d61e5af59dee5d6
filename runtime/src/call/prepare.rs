//! Everything about a call that can be refused is checked before anything is sent: the
//! request's own parts (validated, serialized), the token it needs, the URL, the headers
//! and an upload's files. What comes out ([`Prepared`]) is sent as it is by each attempt.

use std::fmt;

use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};

use crate::auth::AppKind;
use crate::auth::token::{TokenKey, TokenKind};
use crate::call::endpoint::{Endpoint, Host};
use crate::call::options::Options;
use crate::call::request::Params;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::transfer::upload::{Upload, UploadFile};
use crate::wire::REQUEST_ID_HEADER;

const HELPDESK_HEADER_LOWER: &str = "x-lark-helpdesk-authorization";

/// What only the request's own type knows, computed before anything generic-free runs.
pub(crate) struct Parts<'a> {
    pub(crate) path: String,
    pub(crate) query: Params,
    pub(crate) body: std::result::Result<Body<'a>, String>,
    pub(crate) headers: Params,
}

/// A request's body: none, JSON, or the form fields and files of an upload.
pub(crate) enum Body<'a> {
    None,
    Json(Vec<u8>),
    Form {
        fields: Vec<(String, String)>,
        files: Vec<(&'static str, &'a UploadFile)>,
    },
}

/// The body as each attempt sends it, after the checks made before the first.
pub(crate) enum ReadyBody<'a> {
    None,
    Json(Vec<u8>),
    Form(Upload<'a>),
}

impl ReadyBody<'_> {
    /// Whether another attempt can send the body again.
    pub(crate) fn replayable(&self) -> bool {
        match self {
            ReadyBody::Form(upload) => upload.replayable(),
            _ => true,
        }
    }
}

/// The text fields of an upload's form: the body's fields, strings as they are and other
/// values as JSON.
pub(crate) fn form_fields(
    body: &impl serde::Serialize,
) -> std::result::Result<Vec<(String, String)>, String> {
    let fail = |err: &dyn fmt::Display| format!("cannot serialize the form fields: {err}");
    match serde_json::to_value(body).map_err(|err| fail(&err))? {
        serde_json::Value::Object(fields) => Ok(fields
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => (name, text),
                other => (name, other.to_string()),
            })
            .collect()),
        other => Err(fail(&format!("not an object: {other}"))),
    }
}

/// Everything that can be refused is checked here, before anything is sent: the auth,
/// the URL, the headers, and an upload's files.
pub(crate) async fn prepare<'a>(
    client: &Client,
    endpoint: &'static Endpoint,
    options: &Options,
    parts: Parts<'a>,
) -> Result<Prepared<'a>> {
    let invalid = |message: String| Error::InvalidRequest {
        endpoint: endpoint.id,
        message,
        violations: Vec::new(),
    };
    if let Some(policy) = &options.retry {
        policy.check().map_err(|err| invalid(err.to_string()))?;
    }
    let auth = choose_auth(client, endpoint, options).map_err(invalid)?;
    let helpdesk = helpdesk(client, endpoint).map_err(invalid)?;
    let Parts {
        path,
        query,
        body,
        headers: params,
    } = parts;
    let url = url(client, endpoint, &path, &query).map_err(invalid)?;
    let body = body.map_err(invalid)?;
    let headers = headers(options, &params, &body, helpdesk, &auth).map_err(invalid)?;
    let body = match body {
        Body::None => ReadyBody::None,
        Body::Json(json) => ReadyBody::Json(json),
        Body::Form { fields, files } => {
            ReadyBody::Form(Upload::check(endpoint.id, endpoint.files, fields, files).await?)
        }
    };
    Ok(Prepared {
        url,
        headers,
        body,
        auth,
    })
}

/// The token the call sends: the caller's user token, the app's own (for the tenant a
/// marketplace app names), or none; refused when the endpoint does not take it.
fn choose_auth(
    client: &Client,
    endpoint: &'static Endpoint,
    options: &Options,
) -> std::result::Result<Auth, String> {
    let auth = match (&options.user_access_token, endpoint.tokens) {
        (Some(token), tokens) if tokens.contains(&TokenKind::User) => Auth::User(token.clone()),
        (Some(_), _) => return Err("the endpoint does not accept a user_access_token".into()),
        (None, []) => Auth::None,
        (None, tokens) => {
            let kind = *tokens.iter().find(|t| **t != TokenKind::User).ok_or(
                "the endpoint only accepts a user_access_token: set one with Call::user_access_token",
            )?;
            let tenant_key = match (&client.inner.auth.kind, kind, &options.tenant_key) {
                (AppKind::Marketplace { .. }, TokenKind::Tenant, None) => {
                    return Err(
                        "a marketplace app acts for a tenant: name it with Call::tenant_key".into(),
                    );
                }
                (AppKind::Marketplace { .. }, TokenKind::Tenant, Some(key)) => Some(key.clone()),
                _ => None,
            };
            Auth::App(TokenKey { kind, tenant_key })
        }
    };
    let for_a_tenant = matches!(
        &auth,
        Auth::App(TokenKey {
            tenant_key: Some(_),
            ..
        })
    );
    if options.tenant_key.is_some() && !for_a_tenant {
        return Err(
            "a tenant_key only applies to a marketplace app's tenant_access_token calls".into(),
        );
    }
    Ok(auth)
}

/// The URL: the endpoint's host, the request's path and its query parameters.
fn url(
    client: &Client,
    endpoint: &'static Endpoint,
    path: &str,
    query: &Params,
) -> std::result::Result<reqwest::Url, String> {
    // Documented paths have no empty segments (but a trailing slash, for a few), so an
    // empty one is an empty parameter, which would address another endpoint. A raw call
    // (no documented path) has checked its own path.
    let segments = match endpoint.path.ends_with('/') {
        true => path.strip_suffix('/').unwrap_or(path),
        false => path,
    };
    if !endpoint.path.is_empty() && segments.split('/').skip(1).any(str::is_empty) {
        return Err("a path parameter is empty".into());
    }
    let base_url = match endpoint.host {
        Host::Open => &client.inner.base_url,
        Host::Www => &client.inner.www_url,
    };
    let mut url = reqwest::Url::parse(&format!("{base_url}{path}"))
        .map_err(|err| format!("bad URL: {err}"))?;
    if !query.0.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    Ok(url)
}

/// The `X-Lark-Helpdesk-Authorization` value, for an endpoint that needs it.
fn helpdesk<'c>(
    client: &'c Client,
    endpoint: &'static Endpoint,
) -> std::result::Result<Option<&'c Secret>, String> {
    match (endpoint.helpdesk, &client.inner.helpdesk) {
        (false, _) => Ok(None),
        (true, Some(value)) => Ok(Some(value)),
        (true, None) => Err(
            "the endpoint needs helpdesk credentials: set them with ClientBuilder::helpdesk".into(),
        ),
    }
}

/// The headers every attempt sends (the app token aside, which each attempt sets). Later
/// entries win: documented parameters, then the request id, then the caller's own headers.
fn headers(
    options: &Options,
    params: &Params,
    body: &Body<'_>,
    helpdesk: Option<&Secret>,
    auth: &Auth,
) -> std::result::Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(crate::wire::USER_AGENT),
    );
    if matches!(body, Body::Json(_)) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    let request_id = options
        .request_id
        .as_deref()
        .map(|id| (REQUEST_ID_HEADER, id));
    let custom = options
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    for (name, value) in params.iter().chain(request_id).chain(custom) {
        let name =
            HeaderName::try_from(name).map_err(|err| format!("header name {name:?}: {err}"))?;
        let value = HeaderValue::try_from(value).map_err(|err| format!("header {name}: {err}"))?;
        headers.insert(name, value);
    }
    if let Some(helpdesk) = helpdesk {
        let mut value = HeaderValue::try_from(helpdesk.expose())
            .map_err(|_| "the helpdesk credentials are not a valid header value")?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static(HELPDESK_HEADER_LOWER), value);
    }
    if let Auth::User(token) = auth {
        let value = bearer(token).ok_or("the user_access_token is not a valid header value")?;
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

/// A request ready to send, but for the app's access token, which each attempt fetches
/// from the cache.
pub(crate) struct Prepared<'a> {
    pub(crate) url: reqwest::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: ReadyBody<'a>,
    pub(crate) auth: Auth,
}

/// The token a call sends.
pub(crate) enum Auth {
    None,
    User(Secret),
    App(TokenKey),
}

pub(crate) fn bearer(token: &Secret) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

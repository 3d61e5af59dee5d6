//! TLS for https:// base URLs and the long connection's wss://: one set-up, chosen by the
//! crate's features, built here and handed to reqwest, which also sends the long
//! connection's WebSocket upgrade: both speak the same TLS with the same certificate checks.
//!
//! - `rustls`: rustls with the `ring` crypto provider and the platform's verifier.
//! - `rustls-aws-lc`: rustls with the aws-lc-rs provider and the platform's verifier.
//! - `native-tls`: the platform's TLS (OpenSSL on Linux) with its own root store.
//!
//! Features add up, so more than one may be on; the choice is then fixed: `native-tls` wins
//! over both rustls flavours, and `rustls-aws-lc` over `rustls`. `rustls` is the default of
//! the `feishu` crate, so an app that names another one asked for that one.
//!
//! The provider goes into the config itself. With `rustls` alone, reqwest has no provider
//! of its own either, and any other `reqwest::Client` in the process would panic when built;
//! [`install_crypto_provider`] (called when a client is built) makes ring the process-wide
//! default then, unless the app installed one.

/// Whether the crate was built with any TLS: without, only http:// and ws:// work.
pub(crate) const ENABLED: bool = cfg!(any(
    feature = "rustls",
    feature = "rustls-aws-lc",
    feature = "native-tls"
));

/// What to do about a URL that needs TLS when the crate has none.
pub(crate) const MISSING: &str = "the crate was built without TLS: enable one of the features `rustls` (on by default in `feishu`), `rustls-aws-lc` or `native-tls`";

/// Installs ring as rustls' process-wide default crypto provider, unless one is installed
/// already, whenever the `rustls` feature is on without `rustls-aws-lc` (beside
/// `native-tls` too: reqwest then still holds rustls without a provider).
///
/// reqwest, built with the `rustls` feature of this crate and no TLS feature of its own,
/// has no crypto provider of its own: a `reqwest::Client` built then panics unless a
/// process-wide one is installed. Building a [`Client`](crate::Client) calls this, so clients
/// built after it work; an app that builds its own reqwest clients earlier calls it first.
/// With `rustls-aws-lc` (reqwest's own provider is aws-lc-rs then), `native-tls` alone or
/// no TLS it does nothing. An app that wants another default installs it before calling this or
/// building a client.
pub fn install_crypto_provider() {
    #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer leaves that one's provider: just as good.
        let _ = ring_provider().install_default();
    }
}

/// rustls' ring provider. rustls 0.23.48 deprecated it for want of post-quantum key
/// exchange; it stays the light default on purpose (no long C build), and `rustls-aws-lc`
/// is the choice with post-quantum key exchange (X25519MLKEM768). Without the `allow`,
/// every app built against a newer rustls would see the warning.
#[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc")))]
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The ALPN protocol both users ask for: reqwest is built without HTTP/2, and the
/// WebSocket handshake is an HTTP/1.1 request.
#[cfg(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls"))]
const HTTP_1_1: &str = "http/1.1";

/// The TLS set-up the features chose, built afresh for each client or connection.
pub(crate) enum Tls {
    /// rustls with the provider of [`rustls_config::provider`].
    #[cfg(all(
        any(feature = "rustls", feature = "rustls-aws-lc"),
        not(feature = "native-tls")
    ))]
    Rustls(rustls::ClientConfig),
    /// native-tls.
    #[cfg(feature = "native-tls")]
    Native(native_tls::TlsConnector),
}

impl Tls {
    /// The chosen set-up, or `None` when the crate has no TLS. Fails only when the platform
    /// cannot give what TLS needs (its verifier, its TLS library).
    pub(crate) fn chosen() -> Result<Option<Tls>, String> {
        #[cfg(feature = "native-tls")]
        let tls = Some(native::connector().map(Tls::Native));
        #[cfg(all(
            any(feature = "rustls", feature = "rustls-aws-lc"),
            not(feature = "native-tls")
        ))]
        let tls = Some(rustls_config::client_config().map(Tls::Rustls));
        #[cfg(not(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls")))]
        let tls = None;
        tls.transpose()
    }

    /// Gives reqwest this set-up in place of its own. reqwest recognises a rustls
    /// `ClientConfig` or a native-tls `TlsConnector` of the versions it uses, which are the
    /// ones this crate depends on.
    // Without TLS there is no `Tls` to call this on, and no arm uses `builder`.
    #[cfg_attr(
        not(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls")),
        allow(unused_variables)
    )]
    pub(crate) fn into_reqwest(self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        match self {
            #[cfg(all(
                any(feature = "rustls", feature = "rustls-aws-lc"),
                not(feature = "native-tls")
            ))]
            Tls::Rustls(config) => builder.tls_backend_preconfigured(config),
            #[cfg(feature = "native-tls")]
            Tls::Native(connector) => builder.tls_backend_preconfigured(connector),
        }
    }
}

/// rustls, with the provider the features name and the platform's certificate verifier
/// (the system's roots and revocation checks, as reqwest's own rustls set-up uses).
#[cfg(all(
    any(feature = "rustls", feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
mod rustls_config {
    use std::sync::Arc;

    use rustls::crypto::CryptoProvider;
    use rustls_platform_verifier::BuilderVerifierExt;

    /// aws-lc-rs when `rustls-aws-lc` is on, even beside `rustls`.
    #[cfg(feature = "rustls-aws-lc")]
    pub(super) fn provider() -> CryptoProvider {
        rustls::crypto::aws_lc_rs::default_provider()
    }

    /// ring: `rustls` alone.
    #[cfg(not(feature = "rustls-aws-lc"))]
    pub(super) fn provider() -> CryptoProvider {
        super::ring_provider()
    }

    /// TLS 1.2 and 1.3, the platform's verifier, no client certificate, HTTP/1.1 by ALPN.
    pub(super) fn client_config() -> Result<rustls::ClientConfig, String> {
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_platform_verifier())
            .map_err(|err| format!("TLS set-up: {err}"))?
            .with_no_client_auth();
        config.alpn_protocols = vec![super::HTTP_1_1.as_bytes().to_vec()];
        Ok(config)
    }
}

/// native-tls, with the platform's roots, asking for HTTP/1.1 by ALPN as reqwest's own
/// native-tls set-up does.
#[cfg(feature = "native-tls")]
mod native {
    pub(super) fn connector() -> Result<native_tls::TlsConnector, String> {
        native_tls::TlsConnector::builder()
            .request_alpns(&[super::HTTP_1_1])
            .build()
            .map_err(|err| format!("TLS set-up: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_there_exactly_when_a_feature_asks_for_it() {
        let tls = Tls::chosen().expect("the platform's TLS set-up");
        assert_eq!(tls.is_some(), ENABLED);
    }

    #[test]
    fn reqwest_takes_the_set_up() {
        let builder = reqwest::Client::builder();
        let builder = match Tls::chosen().expect("the platform's TLS set-up") {
            Some(tls) => tls.into_reqwest(builder),
            None => builder,
        };
        // An unrecognised preconfigured backend would fail here, not at the first call.
        builder.build().expect("reqwest accepts the TLS set-up");
    }

    /// With `rustls` alone reqwest has no provider of its own: without the install, building
    /// a plain client panics.
    #[test]
    fn an_apps_own_reqwest_client_builds_after_the_install() {
        install_crypto_provider();
        reqwest::Client::builder()
            .build()
            .expect("reqwest finds a provider");
        #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc")))]
        {
            let installed = rustls::crypto::CryptoProvider::get_default().expect("installed");
            assert!(format!("{installed:?}").contains("secure_random: Ring"));
        }
    }

    #[test]
    fn the_missing_tls_message_names_every_choice() {
        for feature in ["`rustls`", "`rustls-aws-lc`", "`native-tls`"] {
            assert!(MISSING.contains(feature), "{feature}");
        }
    }

    /// The provider is the one the features name. Providers have no `PartialEq`; their
    /// `Debug` shows the provider's own types (`secure_random: Ring` or `AwsLcRs`).
    #[cfg(all(
        any(feature = "rustls", feature = "rustls-aws-lc"),
        not(feature = "native-tls")
    ))]
    #[test]
    fn rustls_uses_the_provider_the_features_name() {
        let Some(Tls::Rustls(config)) = Tls::chosen().expect("the platform's verifier") else {
            panic!("rustls is the chosen TLS");
        };
        let used = format!("{:?}", config.crypto_provider());
        let (wanted, other) = if cfg!(feature = "rustls-aws-lc") {
            ("secure_random: AwsLcRs", "secure_random: Ring")
        } else {
            ("secure_random: Ring", "secure_random: AwsLcRs")
        };
        assert!(used.contains(wanted) && !used.contains(other), "{used}");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[cfg(feature = "native-tls")]
    #[test]
    fn native_tls_is_chosen_even_beside_rustls() {
        assert!(matches!(Tls::chosen(), Ok(Some(Tls::Native(_)))));
    }
}

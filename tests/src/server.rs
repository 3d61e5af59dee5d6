//! The loopback HTTP server the wire tests drive by hand: the emulator's HTTP layer,
//! with a handler that answers the token endpoints like Feishu; and the event dispatcher
//! served by plain hyper, as a developer's server would.

pub use feishu_emulator::http::{Recorded, Reply, Server as TestServer};
use serde_json::json;

/// The tenant token the server hands out.
pub const TENANT_TOKEN: &str = "t-test-tenant-token";
/// The app token the server hands out.
pub const APP_TOKEN: &str = "a-test-app-token";
pub use feishu::runtime::wire::auth_paths::{
    APP_INTERNAL as APP_TOKEN_PATH, TENANT_INTERNAL as TENANT_TOKEN_PATH,
};

/// Answers Feishu's token endpoints like Feishu does; None for any other path.
pub fn token_reply(request: &Recorded) -> Option<Reply> {
    let body = match request.path.as_str() {
        TENANT_TOKEN_PATH => {
            json!({"code": 0, "msg": "ok", "tenant_access_token": TENANT_TOKEN, "expire": 7200})
        }
        APP_TOKEN_PATH => {
            json!({"code": 0, "msg": "ok", "app_access_token": APP_TOKEN, "expire": 7200})
        }
        _ => return None,
    };
    Some(Reply::json(200, &body))
}

/// Serves `dispatcher` with plain hyper on an ephemeral port of 127.0.0.1, for as long as
/// the runtime runs; its address.
pub async fn serve_dispatcher(dispatcher: feishu::events::Dispatcher) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(dispatcher.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    address
}

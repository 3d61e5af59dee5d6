//! The emulator as the suites that call every endpoint of a kind set it up: with helpdesk
//! credentials and a user token, so that any endpoint can be called.

use feishu_emulator::Emulator;
use feishu_emulator::http::Recorded;

/// The `user_access_token` the emulator accepts.
pub const USER_TOKEN: &str = "u-emulator-user-token";
/// The helpdesk id and token the emulator checks on helpdesk endpoints.
pub const HELPDESK_ID: &str = "7000000000000000001";
pub const HELPDESK_TOKEN: &str = "ht-helpdesk-secret";

/// An emulator with helpdesk credentials and [`USER_TOKEN`].
pub async fn emulator() -> Emulator {
    Emulator::builder()
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .user_token(USER_TOKEN)
        .start()
        .await
}

/// The requests the emulator took for the endpoints themselves, without token fetches;
/// the record is emptied.
pub fn api_requests(emulator: &Emulator) -> Vec<Recorded> {
    let tokens = [
        feishu::runtime::wire::auth_paths::TENANT_INTERNAL,
        feishu::runtime::wire::auth_paths::APP_INTERNAL,
    ];
    emulator
        .take_requests()
        .into_iter()
        .filter(|r| !tokens.contains(&r.path.as_str()))
        .collect()
}

//! Documented rate limits: every quota a page states reaches its endpoint, the emulator
//! refuses calls past it as Feishu does when asked to, and a client that paces itself
//! never meets that refusal.

use feishu::runtime::TokenKind;
use feishu::runtime::codegen::Quota;
use feishu::{Client, Error, RetryPolicy};
use feishu_emulator::Emulator;
use feishu_tests::emulated::{HELPDESK_ID, HELPDESK_TOKEN, USER_TOKEN};
use feishu_tests::endpoints::{self, CallOptions, Endpoint, request_json};
use futures_util::future::join_all;
use serde_json::Value;

#[test]
fn every_quota_a_page_states_reaches_its_endpoint() {
    let (mut paced, mut unpaced) = (0, 0);
    for (loaded, entry) in endpoints::entries_with_specs() {
        let meta = match &entry {
            endpoints::Entry::Json(endpoint) => endpoint.meta,
            endpoints::Entry::Download(endpoint) => endpoint.meta,
        };
        let stated = loaded.spec.rate_limit.as_deref();
        let expected: Vec<Quota> = stated
            .and_then(feishu_codegen::ir::rate_limit::parse)
            .unwrap_or_default()
            .iter()
            .map(|q| Quota::new(q.requests, q.window_secs.into()))
            .collect();
        assert_eq!(
            meta.rate_limit,
            expected.as_slice(),
            "{}: {stated:?}",
            meta.id
        );
        if stated.is_some_and(|text| text.trim() == "特殊频控") {
            assert!(
                meta.rate_limit.is_empty(),
                "{}: no quota to pace by",
                meta.id
            );
        }
        match meta.rate_limit.is_empty() {
            true => unpaced += 1,
            false => paced += 1,
        }
    }
    assert!(paced > 0, "some pages state a quota");
    println!("{paced} endpoints have quotas, {unpaced} do not");
}

/// The first endpoint the emulator serves with a tenant token whose only quota is a few
/// calls a second: small enough to go past at once.
fn small_quota_endpoint() -> (Endpoint, Value, u32) {
    endpoints::emulated()
        .into_iter()
        .find_map(|(loaded, endpoint)| {
            let meta = endpoint.meta;
            let takes_tenant = meta.tokens.contains(&TokenKind::Tenant);
            match meta.rate_limit {
                [quota] if takes_tenant && quota.window.as_secs() == 1 && quota.requests <= 10 => {
                    let requests = quota.requests;
                    Some((endpoint, request_json(&loaded), requests))
                }
                _ => None,
            }
        })
        .expect("spec/ has an endpoint with a quota of at most 10 calls a second")
}

async fn enforcing_emulator() -> Emulator {
    Emulator::builder()
        .helpdesk(HELPDESK_ID, HELPDESK_TOKEN)
        .user_token(USER_TOKEN)
        .enforce_rate_limits(true)
        .start()
        .await
}

/// `calls` calls at once, each with one attempt, so a refusal comes back as it is.
async fn burst(client: &Client, endpoint: &Endpoint, request: &Value, calls: u32) -> Vec<Error> {
    let once = CallOptions {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }),
        ..CallOptions::default()
    };
    let results =
        join_all((0..calls).map(|_| (endpoint.call)(client, request.clone(), once.clone())));
    results.await.into_iter().filter_map(Result::err).collect()
}

#[tokio::test]
async fn the_emulator_refuses_calls_past_a_quota_as_feishu_does() {
    let (endpoint, request, requests) = small_quota_endpoint();
    let emulator = enforcing_emulator().await;
    let client = emulator.client_builder().build().unwrap();
    let errors = burst(&client, &endpoint, &request, 2 * requests + 1).await;
    assert!(
        !errors.is_empty(),
        "{}: past {requests} a second",
        endpoint.meta.id
    );
    for error in &errors {
        match error {
            Error::RateLimited { retry_after, .. } => {
                assert!(
                    retry_after.is_some(),
                    "with the seconds until there is room"
                )
            }
            other => panic!("{}: {other:?}", endpoint.meta.id),
        }
    }
    assert!(
        errors.len() as u32 <= requests + 1,
        "{}: at least a quota's worth got through, {} refused",
        endpoint.meta.id,
        errors.len()
    );
}

#[tokio::test]
async fn a_client_that_paces_itself_never_meets_the_limit() {
    let (endpoint, request, requests) = small_quota_endpoint();
    let emulator = enforcing_emulator().await;
    let client = emulator
        .client_builder()
        .pace_rate_limits(true)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let calls = 2 * requests + 1;
    let errors = burst(&client, &endpoint, &request, calls).await;
    assert!(errors.is_empty(), "{}: {errors:?}", endpoint.meta.id);
    // Three windows' worth of calls take at least two windows.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let api_calls = emulator.requests().len() - emulator.token_requests();
    assert_eq!(api_calls, calls as usize, "each call sent once");
}

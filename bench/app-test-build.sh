#!/usr/bin/env bash
# What a two-service app pays to build and then test against the emulator: a tiny app
# depending on `feishu` with `default-features = false, features = ["im", "contact",
# "rustls"]`, and on `feishu-emulator` as a dev-dependency, is built from scratch in a
# temporary project and target directory: `cargo build`, then `cargo test` (which builds
# the test and runs it against the emulator). For each step the script prints the wall
# time, the CPU-seconds (user + system of cargo and every rustc it ran) and how many
# times each service crate was compiled: a service crate compiled again for the tests is
# the cost this measures.
#
#   bench/app-test-build.sh                        # the repository beside this script
#   FEISHU_ROOT=/path/to/other/checkout bench/app-test-build.sh
#
# KEEP=1 keeps the temporary directory (its build logs) for a look afterwards.
# Run it on a quiet machine: wall times are only worth what the machine lends them;
# CPU-seconds vary less.
set -euo pipefail

root="${FEISHU_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"

# As `.ci/run` and the README's set-up: no incremental state, no debug info beyond it.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=0

write_app() {
    local dir=$1
    mkdir -p "$dir/src" "$dir/tests"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "two-service-app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
feishu = { path = "$root/generated", default-features = false, features = ["im", "contact", "rustls"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[dev-dependencies]
feishu-emulator = { path = "$root/emulator" }

# A project of its own, not a member of any workspace above the temporary directory.
[workspace]
EOF
    cat >"$dir/src/lib.rs" <<'EOF'
use feishu::contact::v3::user::GetUserRequest;
use feishu::im::v1::message::{CreateMessageBody, CreateMessageRequest, MsgType, ReceiveIdType};

/// Says hello to a user by name: reads the user, then sends a text message.
pub async fn greet(client: &feishu::Client, open_id: &str) -> Result<String, feishu::Error> {
    let user = client.contact().v3().user().get(GetUserRequest::new(open_id)).await?;
    let name = user.user.and_then(|user| user.name).unwrap_or_default();
    let content = serde_json::json!({ "text": format!("hello {name}") }).to_string();
    let body = CreateMessageBody::new(open_id, MsgType::Text, content);
    let request = CreateMessageRequest::new(ReceiveIdType::OpenId, body);
    let sent = client.im().v1().message().create(request).await?;
    Ok(sent.message_id.unwrap_or_default())
}
EOF
    cat >"$dir/tests/greet.rs" <<'EOF'
#[tokio::test]
async fn greets_through_the_emulator() {
    let emulator = feishu_emulator::Emulator::start().await;
    let client = emulator.client_builder().build().expect("a client for the emulator");
    let id = two_service_app::greet(&client, "ou_a").await.expect("the emulator answers");
    assert!(!id.is_empty());
}
EOF
    # The workspace's lock: the versions the repository tests with, not whatever is newest.
    if [ -f "$root/Cargo.lock" ]; then cp "$root/Cargo.lock" "$dir/Cargo.lock"; fi
}

# Runs one cargo step under /usr/bin/time (which counts the children: every rustc) and
# prints its figures.
step() {
    local name=$1 app=$2 target=$3 log=$4
    shift 4
    local times="$log.time"
    if ! (cd "$app" && CARGO_TARGET_DIR="$target" /usr/bin/time -f '%e %U %S' -o "$times" \
        cargo "$@" >"$log" 2>&1); then
        echo "$name: failed, see $log" >&2
        tail -n 30 "$log" >&2
        return 1
    fi
    local wall user sys
    read -r wall user sys <"$times"
    echo "== cargo $*"
    echo "   wall ${wall} s, CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }') s (user ${user} s, system ${sys} s)"
    echo "   crates compiled: $(grep -c '^ *Compiling ' "$log" || true); service crates: $(grep -oE '^ *Compiling feishu-(im|contact) ' "$log" | sed -E 's/^ *Compiling //' | sort | uniq -c | awk '{ printf "%s×%s ", $2, $1 }')"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/feishu-app-test.XXXXXX")"
app="$work/app"
write_app "$app"
echo "feishu: $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "$(rustc --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
# Downloads are not part of the build: fetch first, then build offline.
(cd "$app" && cargo fetch --quiet)
step build "$app" "$work/target" "$work/build.log" build --offline
step test "$app" "$work/target" "$work/test.log" test --offline
grep -E '^test result' "$work/test.log" | sed 's/^/   /'
if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: $work"
else
    rm -rf "$work"
fi

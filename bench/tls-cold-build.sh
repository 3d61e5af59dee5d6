#!/usr/bin/env bash
# The cold build of a one-service app per TLS choice: for each of `rustls` (ring),
# `rustls-aws-lc` and `native-tls`, a tiny app depending on `feishu` with
# `default-features = false, features = ["im", <tls>]` is built in a fresh temporary
# project and target directory, and the script prints the wall time of `cargo build` and
# whether a C compiler was needed (and by which crates).
#
#   bench/tls-cold-build.sh                      # the three choices
#   bench/tls-cold-build.sh rustls native-tls    # only these
#
# FEISHU_PATH points at another `generated/` (default: the one beside this script).
# KEEP=1 keeps the temporary directories (their build logs) for a look afterwards.
# RELEASE=1 builds with `--release`, as an app is built to be deployed.
# Run it on a quiet machine: the figures are only worth what the machine lends them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
feishu="${FEISHU_PATH:-$root/generated}"
choices=("$@")
[ ${#choices[@]} -gt 0 ] || choices=(rustls rustls-aws-lc native-tls)

# As `.ci/run` and the README's set-up: no incremental state, no debug info beyond it.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=0

# The app: one service and one TLS choice, building a client for an https base URL so the
# TLS set-up is linked and, when the binary runs, built; then a reqwest client of its own.
write_app() {
    local dir=$1 tls=$2
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "tls-cold-build-app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
feishu = { path = "$feishu", default-features = false, features = ["im", "$tls"] }

# A project of its own, not a member of any workspace above the temporary directory.
[workspace]
EOF
    cat >"$dir/src/main.rs" <<'EOF'
fn main() {
    let client = feishu::Client::builder("cli_a", "secret")
        .build()
        .expect("an https base URL with a TLS feature on");
    let _im = client.im();
    // The app's own reqwest client: with `rustls` alone it needs the provider the feishu
    // client installed.
    let _plain = feishu::reqwest::Client::new();
    println!("client built");
}
EOF
    # The workspace's lock: the versions the repository tests with, not whatever is newest.
    if [ -f "$root/Cargo.lock" ]; then cp "$root/Cargo.lock" "$dir/Cargo.lock"; fi
}

# A stand-in for the C compiler that logs which crate's build script called it, then runs
# the real one. The `cc` crate (ring, aws-lc-sys, openssl-sys) honours CC and CXX.
write_cc_logger() {
    local dir=$1 real=$2 log=$3
    cat >"$dir" <<EOF
#!/usr/bin/env bash
echo "\${CARGO_PKG_NAME:-?}" >>"$log"
exec $real "\$@"
EOF
    chmod +x "$dir"
}

measure() {
    local tls=$1 work app log calls start end
    work="$(mktemp -d "${TMPDIR:-/tmp}/feishu-tls-$tls.XXXXXX")"
    app="$work/app"
    log="$work/build.log"
    calls="$work/cc-calls.log"
    : >"$calls"
    write_app "$app" "$tls"
    write_cc_logger "$work/cc" "${CC:-cc}" "$calls"
    write_cc_logger "$work/c++" "${CXX:-c++}" "$calls"

    # Downloads are not part of the build: fetch first, then build offline.
    (cd "$app" && cargo fetch --quiet)
    start=$(date +%s.%N)
    if ! (cd "$app" && CC="$work/cc" CXX="$work/c++" CARGO_TARGET_DIR="$work/target" \
        cargo build --offline "${profile_args[@]}" >"$log" 2>&1); then
        echo "$tls: build failed, see $log" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    end=$(date +%s.%N)

    local wall crates native ran
    wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
    crates=$(grep -c '^ *Compiling ' "$log" || true)
    # Crates that build native code or link a system library.
    native=$(grep -oE '^ *Compiling [^ ]*(-sys|ring|aws-lc)[^ ]* v[^ ]*' "$log" |
        sed -E 's/^ *Compiling //' | paste -sd ',' - | sed 's/,/, /g' || true)
    ran=$("$work/target/$profile/tls-cold-build-app" 2>&1 || true)

    echo "== $tls"
    echo "   cold build wall: ${wall} s ($crates crates compiled)"
    if [ -s "$calls" ]; then
        echo "   C compiler needed: yes, $(wc -l <"$calls") calls by $(sort -u "$calls" | paste -sd ',' - | sed 's/,/, /g')"
    else
        echo "   C compiler needed: no"
    fi
    echo "   native crates built: ${native:-none}"
    echo "   the app: $ran"
    if [ "${KEEP:-0}" = 1 ]; then
        echo "   kept: $work"
    else
        rm -rf "$work"
    fi
}

profile=debug
profile_args=()
if [ "${RELEASE:-0}" = 1 ]; then
    profile=release
    profile_args=(--release)
fi

echo "feishu: $feishu, profile: $profile"
echo "$(rustc --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for tls in "${choices[@]}"; do
    measure "$tls"
done

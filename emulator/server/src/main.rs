//! `feishu-emulator`: the emulator as a standalone server, for tests in any language.
//!
//! It serves Feishu's API (every endpoint, auth, the long connection's endpoint) on
//! `--port`, and the control API (see `feishu_emulator::control`) on `--control-port`.
//! Once listening it prints one JSON line to stdout, `{"url", "control_url", "app_id",
//! "app_secret", …}`, and serves until interrupted.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use feishu_emulator::{DEFAULT_APP_ID, DEFAULT_APP_SECRET, Emulator};
use serde_json::json;

const USAGE: &str = "\
feishu-emulator: a local Feishu Open Platform on 127.0.0.1

Usage: feishu-emulator [OPTIONS]

Options:
  --port N                     Feishu's API on this port (default 0: any free port)
  --control-port N             the control API on this port (default 0: any free port)
  --app ID:SECRET              the internal app (default: the emulator's own)
  --marketplace-app ID:SECRET  a marketplace app besides it
  --helpdesk ID:TOKEN          the helpdesk whose credentials helpdesk endpoints require
  --user-token TOKEN           a user_access_token accepted (repeatable)
  --enforce-rate-limits        refuse calls past each endpoint's documented rate limit
  -h, --help                   this text

Once listening it prints one JSON line: {\"url\", \"control_url\", \"app_id\", \"app_secret\"}.";

/// What the command line asks for.
struct Options {
    port: u16,
    control_port: u16,
    app: (String, String),
    marketplace_app: Option<(String, String)>,
    helpdesk: Option<(String, String)>,
    user_tokens: Vec<String>,
    enforce_rate_limits: bool,
}

fn main() -> ExitCode {
    let options = match parse(lexopt::Parser::from_env()) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("feishu-emulator: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("feishu-emulator: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("feishu-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: Options) -> std::io::Result<()> {
    let mut builder = Emulator::builder()
        .port(options.port)
        .app(&options.app.0, &options.app.1)
        .enforce_rate_limits(options.enforce_rate_limits);
    if let Some((id, secret)) = &options.marketplace_app {
        builder = builder.marketplace_app(id, secret);
    }
    if let Some((id, token)) = &options.helpdesk {
        builder = builder.helpdesk(id, token);
    }
    for token in &options.user_tokens {
        builder = builder.user_token(token);
    }
    let emulator = Arc::new(builder.try_start().await?);
    let control_addr = SocketAddr::from(([127, 0, 0, 1], options.control_port));
    let control = feishu_emulator::control::serve(emulator.clone(), control_addr).await?;
    let ready = json!({
        "url": emulator.url(),
        "control_url": control.url(),
        "app_id": options.app.0,
        "app_secret": options.app.1,
        "marketplace_app_id": options.marketplace_app.as_ref().map(|(id, _)| id),
    });
    println!("{ready}");
    tokio::signal::ctrl_c().await
}

/// The options, or `None` when help was asked for.
fn parse(mut parser: lexopt::Parser) -> Result<Option<Options>, lexopt::Error> {
    use lexopt::prelude::*;

    let mut options = Options {
        port: 0,
        control_port: 0,
        app: (DEFAULT_APP_ID.to_owned(), DEFAULT_APP_SECRET.to_owned()),
        marketplace_app: None,
        helpdesk: None,
        user_tokens: Vec::new(),
        enforce_rate_limits: false,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("port") => options.port = parser.value()?.parse()?,
            Long("control-port") => options.control_port = parser.value()?.parse()?,
            Long("app") => options.app = pair(parser.value()?.string()?)?,
            Long("marketplace-app") => {
                options.marketplace_app = Some(pair(parser.value()?.string()?)?)
            }
            Long("helpdesk") => options.helpdesk = Some(pair(parser.value()?.string()?)?),
            Long("user-token") => options.user_tokens.push(parser.value()?.string()?),
            Long("enforce-rate-limits") => options.enforce_rate_limits = true,
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(options))
}

/// `ID:SECRET` split at its first colon.
fn pair(text: String) -> Result<(String, String), lexopt::Error> {
    match text.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), secret.to_owned()))
        }
        _ => Err(format!("`{text}` is not of the form ID:SECRET").into()),
    }
}

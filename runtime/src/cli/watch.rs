//! `arcade watch CHANNEL...`: print live events from a running server,
//! readable and coloured, for local development.
//!
//! It is a realtime client like any frontend (protocol A: channels in the
//! URL), authenticated with an API key (sees everything) or a session token
//! (sees what that user may read). When the connection drops it reconnects
//! with `?since=<last seq>`, so nothing is missed across restarts of the server.

use std::io::Write;

use super::Style;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Debug, Clone)]
pub struct WatchArgs {
    pub url: String,
    pub project: String,
    pub channels: Vec<String>,
    pub key: Option<String>,
    pub session: Option<String>,
    pub since: Option<u64>,
    /// Print the full payload of each event (otherwise a one-line summary).
    pub full: bool,
}

fn realtime_url(args: &WatchArgs, since: Option<u64>) -> String {
    let base = args.url.trim_end_matches('/').trim_end_matches("/v1");
    let base = base.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    let mut url = format!("{base}/v1/realtime?project={}", urlencode(&args.project));
    for c in &args.channels {
        url.push_str("&channels%5B%5D=");
        url.push_str(&urlencode(c));
    }
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    url
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Run until Ctrl-C.
pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let style = Style::stdout();
    let mut since = args.since;
    let mut backoff = Duration::from_millis(250);
    loop {
        let url = realtime_url(&args, since);
        let mut request = url.as_str().into_client_request().context("building the request")?;
        if let Some(k) = &args.key {
            request.headers_mut().insert("x-appwrite-key", k.parse().context("the key is not a valid header value")?);
        }
        if let Some(s) = &args.session {
            request
                .headers_mut()
                .insert("x-appwrite-session", s.parse().context("the session is not a valid header value")?);
        }
        let conn = tokio::select! {
            c = tokio_tungstenite::connect_async(request) => c,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let (mut ws, _) = match conn {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{} cannot connect to {url}: {e} (retrying)", style.paint("31", "!"));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        loop {
            let msg = tokio::select! {
                m = ws.next() => m,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t.to_string(),
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                    eprintln!("{} connection closed {why}; resuming", style.paint("33", "~"));
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    eprintln!("{} connection lost: {e}; resuming", style.paint("33", "~"));
                    break;
                }
                None => break,
            };
            let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
            if let Some(seq) = print_frame(&style, &frame, args.full) {
                since = Some(seq);
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

/// Print one frame; returns the event's seq.
fn print_frame(style: &Style, frame: &Value, full: bool) -> Option<u64> {
    let data = &frame["data"];
    let mut out = std::io::stdout().lock();
    match frame["type"].as_str() {
        Some("connected") => {
            let who = data["user"]["$id"]
                .as_str()
                .map(|u| format!("as user {u}"))
                .unwrap_or_else(|| "(key: all events; session: that user's)".into());
            let _ = writeln!(
                out,
                "{} connected {who} at seq {} to {}",
                style.paint("36", "●"),
                data["seq"],
                data["channels"]
            );
            None
        }
        Some("event") => {
            let seq = data["seq"].as_u64();
            let name = data["events"][0].as_str().unwrap_or("?");
            let action = name.rsplit('.').next().unwrap_or("");
            let color = match action {
                "create" => "32",
                "update" | "upsert" => "33",
                "delete" => "31",
                _ => "35",
            };
            let time = data["timestamp"].as_str().map(|t| t.get(11..23).unwrap_or(t)).unwrap_or("");
            let payload = if full {
                serde_json::to_string_pretty(&data["payload"]).unwrap_or_default()
            } else {
                // The row's id and columns; the other system fields are noise here.
                let compact: serde_json::Map<String, Value> = data["payload"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| !k.starts_with('$') || *k == "$id")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut s = Value::Object(compact).to_string();
                if s.len() > 160 {
                    let cut = (0..=157).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                    s.truncate(cut);
                    s.push_str("...");
                }
                s
            };
            let _ = writeln!(
                out,
                "{} {} {} {}",
                style.paint("2", time),
                style.paint("2", &format!("#{}", seq.unwrap_or(0))),
                style.paint(color, name),
                payload
            );
            seq
        }
        Some("error") => {
            let _ = writeln!(
                out,
                "{} error {}: {}",
                style.paint("31", "!"),
                data["code"],
                data["message"].as_str().unwrap_or("")
            );
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_protocol_a_urls() {
        let args = WatchArgs {
            url: "http://127.0.0.1:7700/v1".into(),
            project: "local".into(),
            channels: vec!["rows".into(), "databases.main.tables.t.rows".into()],
            key: None,
            session: None,
            since: None,
            full: false,
        };
        assert_eq!(
            realtime_url(&args, Some(7)),
            "ws://127.0.0.1:7700/v1/realtime?project=local&channels%5B%5D=rows&channels%5B%5D=databases.main.tables.t.rows&since=7"
        );
    }
}

//! The WebSocket under a realtime connection: the HTTP/1.1 upgrade
//! handshake, then the upgraded socket split in two.
//!
//! Client frames are read by tungstenite (unmasking, fragments, control
//! frames, size limits, UTF-8). What the server sends is written by `wire`,
//! from frames built once for all their recipients, which tungstenite's
//! writer cannot do without a copy per recipient. The control frames
//! tungstenite answers by itself while it reads (a pong, the close reply)
//! go to the connection's outbox ahead of everything queued, so one writer
//! puts every byte on the socket, whole frames in order.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::outbox::Outbox;
use super::wire::{self, Wire};
use crate::http::error::ApiError;
use crate::model::exception::{ErrorType, Exception};

type Io = TokioIo<Upgraded>;

/// Why a request could not be upgraded: a 400 in Appwrite's error shape.
fn not_websocket(why: &str) -> ApiError {
    Exception::msg(ErrorType::GeneralArgumentInvalid, format!("Not a WebSocket request: {why}.")).into()
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Check an upgrade request (RFC 6455 §4.2.1) and answer it: the 101
/// response to send, and the socket it will become.
pub fn accept(parts: &mut Parts) -> Result<(Response, OnUpgrade), ApiError> {
    if parts.method != Method::GET {
        return Err(not_websocket("the method must be GET"));
    }
    if !has_token(&parts.headers, header::CONNECTION, "upgrade") {
        return Err(not_websocket("the Connection header does not include \"upgrade\""));
    }
    if !has_token(&parts.headers, header::UPGRADE, "websocket") {
        return Err(not_websocket("the Upgrade header is not \"websocket\""));
    }
    if parts.headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err(not_websocket("Sec-WebSocket-Version must be 13"));
    }
    let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(not_websocket("Sec-WebSocket-Key is missing"));
    };
    let accept = derive_accept_key(key.as_bytes());
    let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return Err(not_websocket("this connection cannot be upgraded (HTTP/1.1 only)"));
    };
    let response = (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "upgrade"), (header::UPGRADE, "websocket")],
        [(header::SEC_WEBSOCKET_ACCEPT, accept)],
    )
        .into_response();
    Ok((response, on_upgrade))
}

/// The reading half as tungstenite sees it: reads come from the socket;
/// what tungstenite writes (control replies) goes to the outbox.
pub struct Inbound {
    read: ReadHalf<Io>,
    outbox: Arc<Outbox>,
}

impl AsyncRead for Inbound {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Inbound {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.outbox.push_control(buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(std::io::Error::other("the connection is over its limits")))
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An upgraded connection: client messages in, frames out.
pub struct Socket {
    inbound: WebSocketStream<Inbound>,
    write: WriteHalf<Io>,
}

/// Limits on what a client may send.
pub struct ReadLimits {
    /// Bytes read from the socket at a time.
    pub read_buffer: usize,
    /// Largest message (and frame) a client may send.
    pub max_message: usize,
}

impl Socket {
    pub async fn new(upgraded: Upgraded, outbox: Arc<Outbox>, limits: ReadLimits) -> Socket {
        let (read, write) = tokio::io::split(TokioIo::new(upgraded));
        let config = WebSocketConfig::default()
            .read_buffer_size(limits.read_buffer)
            .write_buffer_size(0)
            .max_message_size(Some(limits.max_message))
            .max_frame_size(Some(limits.max_message));
        let inbound = WebSocketStream::from_raw_socket(Inbound { read, outbox }, Role::Server, Some(config)).await;
        Socket { inbound, write }
    }

    /// The next client message (`None` once the stream has ended).
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        self.inbound.next().await
    }

    /// Have tungstenite hand over any reply it still holds (the answer to a
    /// close) to the outbox.
    pub async fn settle(&mut self) {
        let _ = self.inbound.flush().await;
    }

    /// Write frames in order; returns the number of socket writes.
    pub async fn send(&mut self, frames: &[Wire]) -> std::io::Result<u64> {
        wire::write_frames(&mut self.write, frames).await
    }

    /// Write raw bytes of whole frames (the control replies from the outbox).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.write.write_all(&bytes).await?;
        self.write.flush().await
    }

    pub async fn send_text(&mut self, text: &str) -> bool {
        self.send(&[Wire::text(text)]).await.is_ok()
    }

    /// Send a close frame, then close our side of the socket.
    pub async fn close(&mut self, code: u16, reason: &str) {
        use tokio::io::AsyncWriteExt;
        if self.send(&[Wire::close(code, reason)]).await.is_ok() {
            let _ = self.write.shutdown().await;
        }
    }
}

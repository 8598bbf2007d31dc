//! What the server writes on a WebSocket: frames built once, as the exact
//! bytes that go on the wire, and written many at a time.
//!
//! Why: an event frame goes to up to thousands of connections. Built as
//! header and payload in one shared buffer, each recipient's copy is a
//! reference count, and a connection's queued frames leave in one vectored
//! write straight from those buffers, so the kernel's copy into the socket
//! is the only copy per recipient. (Written through tungstenite, each frame
//! was first copied into a per-connection buffer: 6% of the server's CPU at
//! 230,000 deliveries/s, by `perf`.) Server frames are never masked, so
//! their bytes are the same for every recipient. Reading client frames stays
//! tungstenite's (see `socket`).

use std::io::IoSlice;
use std::pin::Pin;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

/// Room kept in front of a payload for its header: the longest header of an
/// unmasked frame (2 bytes, then a 64-bit length).
const HEADER_ROOM: usize = 10;

/// Slices handed to one vectored write (the kernel takes up to 1024).
const SLICES_PER_WRITE: usize = 64;

/// A server frame, ready for the wire. Cloning it shares the bytes.
#[derive(Clone, Debug)]
pub struct Wire(Bytes);

impl Wire {
    /// A text frame carrying `text` (one copy, into the frame).
    pub fn text(text: &str) -> Wire {
        let mut b = TextBuilder::with_capacity(text.len());
        b.push_str(text);
        b.finish()
    }

    /// A close frame with its code and reason (cut to the 123 bytes a control frame leaves for it).
    pub fn close(code: u16, reason: &str) -> Wire {
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let frame = Frame::close(Some(CloseFrame { code: CloseCode::from(code), reason: reason[..cut].into() }));
        let mut out = Vec::with_capacity(frame.len());
        // Writing into a Vec cannot fail.
        let _ = frame.format(&mut out);
        Wire(Bytes::from(out))
    }

    /// Bytes on the wire, header included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The frame's bytes (shared).
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The text a text frame carries ("" for any other frame).
    pub fn as_str(&self) -> &str {
        let b = &self.0[..];
        if b.len() < 2 || b[0] & 0x0f != 0x1 {
            return "";
        }
        let header = match b[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        b.get(header..).and_then(|p| std::str::from_utf8(p).ok()).unwrap_or("")
    }
}

impl From<String> for Wire {
    fn from(text: String) -> Wire {
        Wire::text(&text)
    }
}

/// Builds a text frame's payload behind room for its header, so that the
/// finished frame needs no copy of the payload.
pub struct TextBuilder {
    buf: Vec<u8>,
}

impl TextBuilder {
    pub fn with_capacity(payload: usize) -> TextBuilder {
        let mut buf = Vec::with_capacity(HEADER_ROOM + payload);
        buf.resize(HEADER_ROOM, 0);
        TextBuilder { buf }
    }

    /// Append text (only text goes in, so the payload is valid UTF-8).
    pub fn push_str(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn finish(mut self) -> Wire {
        let len = (self.buf.len() - HEADER_ROOM) as u64;
        let header = FrameHeader { opcode: OpCode::Data(Data::Text), ..FrameHeader::default() };
        let mut h = Vec::with_capacity(HEADER_ROOM);
        // Writing into a Vec cannot fail.
        let _ = header.format(len, &mut h);
        let start = HEADER_ROOM - h.len();
        self.buf[start..HEADER_ROOM].copy_from_slice(&h);
        Wire(Bytes::from(self.buf).slice(start..))
    }
}

/// Write `frames` in order, with as few vectored writes as the socket
/// accepts, and flush. Returns the number of writes.
pub async fn write_frames<W: AsyncWrite + Unpin>(w: &mut W, frames: &[Wire]) -> std::io::Result<u64> {
    let (mut i, mut offset, mut writes) = (0usize, 0usize, 0u64);
    while i < frames.len() {
        // The slices are made inside the poll, so the array is no part of
        // the connection task's state between polls (1 KiB per connection).
        let mut wrote = std::future::poll_fn(|cx| {
            let batch = &frames[i..frames.len().min(i + SLICES_PER_WRITE)];
            let mut slices = [IoSlice::new(&[]); SLICES_PER_WRITE];
            for (k, f) in batch.iter().enumerate() {
                slices[k] = IoSlice::new(if k == 0 { &f.0[offset..] } else { &f.0[..] });
            }
            Pin::new(&mut *w).poll_write_vectored(cx, &slices[..batch.len()])
        })
        .await?;
        writes += 1;
        if wrote == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while wrote > 0 && i < frames.len() {
            let left = frames[i].0.len() - offset;
            if wrote >= left {
                wrote -= left;
                i += 1;
                offset = 0;
            } else {
                offset += wrote;
                wrote = 0;
            }
        }
    }
    w.flush().await?;
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll};

    /// Parses what a client would: (opcode, payload) of each frame.
    fn frames_of(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            assert_eq!(b[0] & 0x80, 0x80, "final frame");
            assert_eq!(b[1] & 0x80, 0, "server frames are not masked");
            let (len, h) = match b[1] & 0x7f {
                126 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
                127 => (u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize, 10),
                n => (n as usize, 2),
            };
            out.push((b[0] & 0x0f, b[h..h + len].to_vec()));
            b = &b[h + len..];
        }
        out
    }

    #[test]
    fn frames_carry_their_text_with_the_shortest_header() {
        for n in [0, 1, 125, 126, 65_535, 65_536, 200_000] {
            let text = "é".repeat(n / 2) + &"x".repeat(n % 2);
            let w = Wire::text(&text);
            let parsed = frames_of(w.bytes());
            assert_eq!(parsed, vec![(0x1, text.as_bytes().to_vec())], "length {n}");
            assert_eq!(w.as_str(), text);
            let header = if text.len() < 126 {
                2
            } else if text.len() < 65_536 {
                4
            } else {
                10
            };
            assert_eq!(w.len(), header + text.len());
        }
        let mut b = TextBuilder::with_capacity(4);
        b.push_str("ab");
        b.push_str("cd");
        assert_eq!(b.finish().as_str(), "abcd");
    }

    #[test]
    fn close_frames_carry_code_and_a_cut_reason() {
        let long = "ü".repeat(100);
        let w = Wire::close(1013, &long);
        let parsed = frames_of(w.bytes());
        assert_eq!(parsed[0].0, 0x8);
        assert_eq!(u16::from_be_bytes([parsed[0].1[0], parsed[0].1[1]]), 1013);
        let reason = std::str::from_utf8(&parsed[0].1[2..]).expect("cut on a character boundary");
        assert!(reason.len() <= 123 && long.starts_with(reason));
        assert_eq!(w.as_str(), "");
    }

    /// A socket that takes at most `step` bytes per write.
    struct Trickle {
        got: Vec<u8>,
        step: usize,
        writes: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.got.extend_from_slice(&buf[..n]);
            self.writes += 1;
            Poll::Ready(Ok(n))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut left = self.step;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(left);
                self.got.extend_from_slice(&b[..take]);
                left -= take;
                n += take;
                if left == 0 {
                    break;
                }
            }
            self.writes += 1;
            Poll::Ready(Ok(n))
        }
        fn is_write_vectored(&self) -> bool {
            true
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_and_vectored_writes_keep_every_byte_in_order() {
        let frames: Vec<Wire> = (0..150).map(|i| Wire::text(&format!("frame {i} {}", "y".repeat(i * 7)))).collect();
        let expected: Vec<u8> = frames.iter().flat_map(|f| f.bytes().to_vec()).collect();
        for step in [1, 7, 300, 4096, usize::MAX] {
            let mut sock = Trickle { got: Vec::new(), step, writes: 0 };
            let writes = write_frames(&mut sock, &frames).await.unwrap();
            assert_eq!(sock.got, expected, "step {step}");
            assert_eq!(writes as usize, sock.writes);
        }
        let mut sock = Trickle { got: Vec::new(), step: usize::MAX, writes: 0 };
        assert_eq!(write_frames(&mut sock, &frames).await.unwrap(), 3, "64 frames per write");
    }
}

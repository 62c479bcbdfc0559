//! The listener: HTTP/1 connections served with deadlines, so that a slow
//! client holds neither memory nor a socket for long.
//!
//! `axum::serve` sets no timer, so hyper would wait for request headers
//! forever. Here every connection gets
//! - a header deadline: the request head (and, on a kept-alive connection, the
//!   next request) must arrive within [`HEADER_TIMEOUT`];
//! - a body deadline, after Apache's `mod_reqtimeout`: no pause longer than
//!   [`BODY_IDLE`] between two pieces of the body, and on average at least
//!   [`BODY_MIN_RATE`] bytes a second after the first [`BODY_GRACE`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
pub const BODY_IDLE: Duration = Duration::from_secs(30);
pub const BODY_GRACE: Duration = Duration::from_secs(20);
pub const BODY_MIN_RATE: u64 = 500;

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(|body| Body::new(DeadlineBody::new(Body::new(body))));
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(true);
    // Every connection task holds a receiver; they are gone when all have finished.
    stop.closed().await;
    Ok(())
}

/// A request body that fails when the client stalls or trickles.
struct DeadlineBody {
    inner: Body,
    /// Set at the first poll: time spent before a handler reads is not the client's.
    started: Option<Instant>,
    received: u64,
    /// Fires at the earlier of the idle and the rate deadline.
    timer: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body) -> DeadlineBody {
        DeadlineBody { inner, started: None, received: 0, timer: Box::pin(tokio::time::sleep(BODY_IDLE)) }
    }

    fn deadline(&self, started: Instant, now: Instant) -> Instant {
        let rate = started + BODY_GRACE + Duration::from_secs(self.received / BODY_MIN_RATE);
        rate.min(now + BODY_IDLE)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the client sent the request body too slowly")]
struct TooSlow;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.started.is_none() {
            let now = Instant::now();
            self.started = Some(now);
            let deadline = self.deadline(now, now);
            self.timer.as_mut().reset(deadline);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                    self.received += data.map_or(0, |d| d.len() as u64);
                }
                let (started, now) = (self.started.expect("set above"), Instant::now());
                let deadline = self.deadline(started, now);
                self.timer.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(TooSlow)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

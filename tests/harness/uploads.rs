//! Uploads over a raw HTTP/1.1 connection, for what a client library hides:
//! when the server answers while the body is still being sent, and what an
//! upload costs the server when the client never holds the file in memory.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::browser::{hidden_field, post_form};

const BOUNDARY: &str = "ordo-raw-upload-boundary";
static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// A logged-in browser's cookies and CSRF token, for hand-made requests.
#[derive(Debug, Clone)]
pub struct RawBrowser {
    addr: SocketAddr,
    host: String,
    cookies: String,
    pub csrf: String,
}

/// Every `name=value` a response set, joined as a `Cookie` header would carry them.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect()
}

impl RawBrowser {
    /// Logs in on `origin` (`http://<slug>.localhost:<port>`) through the login form.
    pub async fn login(client: &Client, origin: &str, email: &str, password: &str) -> RawBrowser {
        let page = client.get(format!("{origin}/anmelden")).send().await.expect("login page");
        let mut cookies = set_cookies(&page);
        let html = page.text().await.expect("login page");
        let login =
            post_form(client, &format!("{origin}/anmelden"), &html, &[("email", email), ("password", password)]).await;
        assert_eq!(login.status(), reqwest::StatusCode::SEE_OTHER, "raw login");
        cookies.extend(set_cookies(&login));
        let url = url::Url::parse(origin).expect("origin");
        let host = format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"));
        RawBrowser {
            addr: SocketAddr::from(([127, 0, 0, 1], url.port().expect("port"))),
            host,
            cookies: cookies.join("; "),
            csrf: hidden_field(&html, "_csrf"),
        }
    }

    /// Opens a connection and sends the head of a multipart upload to `path`:
    /// the `_csrf` field with `csrf`, then the head of one file part whose content
    /// will be `file_bytes` long. Nothing of the file is sent yet.
    pub async fn begin_upload(&self, path: &str, csrf: &str, file_name: &str, file_bytes: u64) -> RawUpload {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        );
        let tail = format!("\r\n--{BOUNDARY}--\r\n");
        let length = head.len() as u64 + file_bytes + tail.len() as u64;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n{head}",
            host = self.host,
            cookies = self.cookies,
        );
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send head");
        RawUpload { stream, file_bytes, file_sent: 0, tail }
    }
}

/// An upload in progress on its own connection.
pub struct RawUpload {
    stream: TcpStream,
    file_bytes: u64,
    pub file_sent: u64,
    tail: String,
}

impl RawUpload {
    /// Sends up to `bytes` more of the file (a PDF signature, then filler);
    /// fails once the server has closed the connection.
    pub async fn send(&mut self, bytes: u64) -> std::io::Result<()> {
        let until = (self.file_sent + bytes).min(self.file_bytes);
        while self.file_sent < until {
            let chunk: &[u8] = if self.file_sent == 0 { b"%PDF-1.7\n" } else { &FILLER[..] };
            let take = chunk.len().min((until - self.file_sent) as usize);
            self.stream.write_all(&chunk[..take]).await?;
            self.file_sent += take as u64;
        }
        Ok(())
    }

    /// Sends the rest of the file and the closing boundary.
    pub async fn finish(&mut self) -> std::io::Result<()> {
        self.send(self.file_bytes - self.file_sent).await?;
        self.stream.write_all(self.tail.as_bytes()).await
    }

    /// The status code of the answer, if one arrives within `wait`.
    pub async fn status_within(&mut self, wait: Duration) -> Option<u16> {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        let read = async {
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                match self.stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buffer[..n]),
                }
            }
        };
        tokio::time::timeout(wait, read).await.ok()?;
        let text = String::from_utf8_lossy(&answer);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

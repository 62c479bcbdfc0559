//! What a browser does on a site: follow e-mailed links, log in, read pages and
//! post forms with the page's CSRF token.

use reqwest::{Client, Response, StatusCode};

/// Follows an e-mailed set-password link with `client` and sets `password`;
/// the client is logged in afterwards. Returns the raw `Set-Cookie` of the new session.
pub async fn set_password_via_link(client: &Client, link: &str, password: &str) -> String {
    let page = client.get(link).send().await.expect("open link");
    assert_eq!(page.status(), StatusCode::OK, "link page");
    let html = page.text().await.expect("page");
    let token = hidden_field(&html, "token");
    let origin = origin_of(link);
    let response = post_form(
        client,
        &format!("{origin}/passwort-setzen"),
        &html,
        &[("token", token.as_str()), ("password", password), ("password_confirm", password)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "set password: {}", response.text().await.unwrap_or_default());
    session_set_cookie(&response)
}

/// The `Set-Cookie` header that carries the session, verbatim.
pub fn session_set_cookie(response: &Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session="))
        .expect("a session cookie")
        .to_owned()
}

/// Logs in with e-mail and password on a site; returns the response to the POST.
pub async fn log_in(client: &Client, origin: &str, email: &str, password: &str) -> Response {
    let (status, html) = get_page(client, &format!("{origin}/anmelden")).await;
    assert_eq!(status, StatusCode::OK, "login page");
    post_form(client, &format!("{origin}/anmelden"), &html, &[("email", email), ("password", password)]).await
}

pub fn origin_of(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("url");
    format!("{}://{}:{}", parsed.scheme(), parsed.host_str().expect("host"), parsed.port().expect("port"))
}

/// The value of a hidden input in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let pattern = format!(r#"name="{name}" value="([^"]*)""#);
    let re = regex_lite::Regex::new(&pattern).expect("regex");
    re.captures(html)
        .unwrap_or_else(|| panic!("no field {name} in page"))
        .get(1)
        .expect("group")
        .as_str()
        .replace("&#x2f;", "/")
}

/// Posts a form, taking the CSRF token from a page previously fetched by the same client.
pub async fn post_form(client: &Client, url: &str, page_html: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = hidden_field(page_html, "_csrf");
    let mut body: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    body.extend_from_slice(fields);
    client.post(url).form(&body).send().await.expect("post form")
}

/// GETs a page and returns its status and HTML.
pub async fn get_page(client: &Client, url: &str) -> (StatusCode, String) {
    let response = client.get(url).send().await.expect("get page");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

pub fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

//! The mails the app sent, read back from its mail directory.

/// A received e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
}

/// A file attached to a mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Mail {
    pub(crate) fn parse(raw: &[u8]) -> Mail {
        let parsed = mailparse::parse_mail(raw).expect("valid mail");
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        // A mail with attachments is multipart: the text is its first plain part.
        let text = parsed
            .subparts
            .iter()
            .find(|part| part.ctype.mimetype == "text/plain")
            .map(|part| part.get_body().expect("text part"));
        let attachments = parsed
            .subparts
            .iter()
            .filter(|part| part.get_content_disposition().disposition == mailparse::DispositionType::Attachment)
            .map(|part| Attachment {
                filename: part.get_content_disposition().params.get("filename").cloned().unwrap_or_default(),
                content_type: part.ctype.mimetype.clone(),
                content: part.get_body_raw().expect("attachment"),
            })
            .collect();
        Mail {
            to: header("To"),
            from: header("From"),
            subject: header("Subject"),
            body: text.unwrap_or_else(|| parsed.get_body().expect("body")),
            attachments,
        }
    }

    /// The first http(s) link in the body.
    pub fn link(&self) -> String {
        let re = regex_lite::Regex::new(r"https?://\S+").expect("regex");
        re.find(&self.body).unwrap_or_else(|| panic!("no link in mail: {}", self.body)).as_str().to_owned()
    }

    /// The link that sets a password.
    pub fn password_link(&self) -> String {
        let re = regex_lite::Regex::new(r"https?://\S+/passwort-setzen\?token=\S+").expect("regex");
        re.find(&self.body).unwrap_or_else(|| panic!("no password link in mail: {}", self.body)).as_str().to_owned()
    }
}

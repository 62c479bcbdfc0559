//! Outgoing e-mail. Embedded default: lettre's file transport writes each message
//! as an `.eml` file under `<data dir>/mail/`. Production: SMTP from a URL such
//! as `smtp://user:pass@host:587?tls=required`.

use std::path::PathBuf;
use std::sync::Arc;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("attachment {0} has an invalid content type")]
    Attachment(String),
    #[error("could not build message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing mail file: {0}")]
    File(#[from] lettre::transport::file::Error),
    #[error("mail directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Write `.eml` files into this directory.
    Files(PathBuf),
    /// Deliver over SMTP; the URL may carry credentials, hence secret.
    Smtp(SecretString),
}

enum Transport {
    Files(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail; cheap to clone and shared by every tenant in one process.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from_address: lettre::Address,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from_address.to_string()).finish_non_exhaustive()
    }
}

/// A file sent along with an e-mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `application/pdf`.
    pub content_type: &'static str,
    pub content: Vec<u8>,
}

/// One message to one person. Bodies are plain text: they carry links, never the
/// content of messages or contracts (invoices travel as attachments).
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    /// Shown as the sender's name: the broker's name when whitelabelled.
    pub sender_name: String,
    /// Overrides the mailer's sender address (whitelabelled portals).
    pub from_address: Option<String>,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(transport: &MailTransport, from_address: &str) -> Result<Mailer, MailError> {
        let from_address: lettre::Address =
            from_address.parse().map_err(|_| MailError::Address(from_address.to_owned()))?;
        let transport = match transport {
            MailTransport::Files(dir) => {
                std::fs::create_dir_all(dir)?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
            MailTransport::Smtp(url) => {
                Transport::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?.build())
            }
        };
        Ok(Mailer { transport: Arc::new(transport), from_address })
    }

    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        self.send_with_attachments(email, Vec::new()).await
    }

    /// Sends `email` with files attached (invoices, contracts).
    pub async fn send_with_attachments(&self, email: Email, attachments: Vec<Attachment>) -> Result<(), MailError> {
        let to: Mailbox = email.to.parse().map_err(|_| MailError::Address(email.to.clone()))?;
        let from_address = match &email.from_address {
            Some(address) => address.parse().map_err(|_| MailError::Address(address.clone()))?,
            None => self.from_address.clone(),
        };
        // Header values are one line whatever was typed: a line break in a
        // company name must not break (or inject into) the message.
        let from = Mailbox::new(Some(crate::values::as_one_line(&email.sender_name)), from_address);
        let builder = Message::builder().from(from).to(to).subject(crate::values::as_one_line(&email.subject));
        let message = if attachments.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(email.body)?
        } else {
            let mut parts =
                lettre::message::MultiPart::mixed().singlepart(lettre::message::SinglePart::plain(email.body));
            for attachment in attachments {
                let content_type = ContentType::parse(attachment.content_type)
                    .map_err(|_| MailError::Attachment(attachment.filename.clone()))?;
                parts = parts.singlepart(
                    lettre::message::Attachment::new(attachment.filename).body(attachment.content, content_type),
                );
            }
            builder.multipart(parts)?
        };
        match self.transport.as_ref() {
            Transport::Files(files) => {
                files.send(message).await?;
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
        }
        Ok(())
    }
}

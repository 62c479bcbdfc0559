//! What keeps accounts and sessions safe, shared by the portal and the control
//! plane: password hashing, random tokens, sessions, CSRF, login throttling and
//! the token of the internal API between them.

pub mod csrf;
pub mod internal_api;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;

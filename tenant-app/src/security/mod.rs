//! What keeps accounts and sessions safe, shared by the portal and the control
//! plane: password hashing, random tokens, sessions, CSRF and login throttling.

pub mod csrf;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;

//! What every portal page shows around its content.

use crate::i18n::Lang;
use crate::portal::Portal;
use crate::portal::auth::SessionUser;
use crate::security::csrf::CsrfToken;

pub struct Layout {
    /// The language the customer chose; broker pages are German.
    pub lang: Lang,
    pub brand: String,
    /// "Runs on Ordo", unless the tenant is whitelabelled.
    pub powered_by: Option<String>,
    pub csrf: String,
    pub user_name: Option<String>,
    pub is_broker: bool,
    pub has_logo: bool,
    /// Changes with the branding, so browsers fetch the new stylesheet.
    pub brand_version: String,
    /// The primary colour, for the browser's address bar.
    pub theme_colour: String,
}

impl Layout {
    /// A text in the page's language.
    pub fn t<'a>(&self, german: &'a str) -> &'a str {
        self.lang.t(german)
    }

    pub fn new(portal: &Portal, csrf: &CsrfToken, user: Option<&SessionUser>) -> Layout {
        let settings = portal.settings();
        let branding = portal.branding();
        Layout {
            lang: Lang::current(),
            has_logo: branding.logo_type.is_some(),
            brand_version: branding.version(),
            theme_colour: branding.primary.hex(),
            brand: settings.display_name.clone(),
            powered_by: (!portal.entitlements().whitelabel).then(|| settings.operator_name.clone()),
            csrf: csrf.as_str().to_owned(),
            user_name: user.map(|u| u.name.clone()),
            is_broker: user.is_some_and(SessionUser::is_broker),
        }
    }
}

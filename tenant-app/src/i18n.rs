//! The customer's side of the portal speaks German by default and English on
//! request (a `lang` cookie, set by the link in the footer). Texts are written
//! in German in the templates and code; [`Lang::t`] looks up the English
//! version. A text without a translation stays German rather than vanishing,
//! and a test checks that every text the templates pass to `t` has one.
//! The broker's pages are German only: brokers in Germany work in German.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

tokio::task_local! {
    static CURRENT: Lang;
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::De => "Deutsch",
            Lang::En => "English",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    /// The text in this language.
    pub fn t(self, german: &str) -> &str {
        match self {
            Lang::De => german,
            Lang::En => english().get(german).copied().unwrap_or(german),
        }
    }

    fn from_headers(headers: &HeaderMap) -> Lang {
        crate::security::sessions::cookie_value(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)).unwrap_or_default()
    }

    /// The language of the request being served.
    pub fn current() -> Lang {
        CURRENT.try_with(|lang| *lang).unwrap_or_default()
    }
}

/// Middleware: makes the request's language available to everything that
/// renders its response.
pub async fn language(request: Request, next: Next) -> Response {
    let lang = Lang::from_headers(request.headers());
    CURRENT.scope(lang, next.run(request)).await
}

/// `GET /sprache/{code}`: remembers the choice and goes back to the page it
/// was made on (only its path, so it can never lead off the site).
pub async fn switch(axum::extract::Path(code): axum::extract::Path<String>, headers: HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return crate::web::PageError::NotFound.into_response();
    };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .map(|url| url.path().to_owned())
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    let cookie = cookie::Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn english() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| TRANSLATIONS.iter().copied().collect())
}

/// German → English.
const TRANSLATIONS: &[(&str, &str)] = &[
    // Frame and navigation
    ("Hauptnavigation", "Main navigation"),
    ("Angemeldet als", "Signed in as"),
    ("Abmelden", "Sign out"),
    ("Ein Kundenportal von", "A customer portal by"),
    ("betrieben mit", "powered by"),
    ("Mein Ordner", "My folder"),
    ("Nachrichten", "Messages"),
    ("Analyse", "Needs analysis"),
    ("Notfallordner", "Emergency folder"),
    // Sign-in and passwords
    ("Anmelden", "Sign in"),
    ("E-Mail-Adresse", "E-mail address"),
    ("Passwort", "Password"),
    (
        "Noch kein Passwort? Sie erhalten einen Link per E-Mail, sobald Ihr Zugang eingerichtet ist.",
        "No password yet? You will receive a link by e-mail as soon as your access is set up.",
    ),
    ("E-Mail-Adresse oder Passwort ist falsch.", "E-mail address or password is wrong."),
    ("Ihr Passwort wurde gespeichert. Bitte melden Sie sich an.", "Your password has been saved. Please sign in."),
    ("Passwort festlegen", "Choose a password"),
    ("Für", "For"),
    (
        "Mindestens 10 Zeichen; ein Satz, den Sie sich merken können, ist ideal.",
        "At least 10 characters; a sentence you can remember is ideal.",
    ),
    ("Neues Passwort", "New password"),
    ("Passwort wiederholen", "Repeat password"),
    ("Passwort speichern", "Save password"),
    ("Das Passwort muss mindestens 10 Zeichen lang sein.", "The password must be at least 10 characters long."),
    ("Das Passwort darf höchstens 256 Zeichen lang sein.", "The password may be at most 256 characters long."),
    ("Die beiden Eingaben stimmen nicht überein.", "The two entries do not match."),
    ("Link ungültig", "Link no longer valid"),
    ("Vorübergehend nicht erreichbar", "Temporarily unavailable"),
    (
        "Dieses Kundenportal ist vorübergehend nicht erreichbar. Bei Fragen wenden Sie sich bitte direkt an Ihre Maklerin oder Ihren Makler.",
        "This customer portal is temporarily unavailable. If you have questions, please contact your broker directly.",
    ),
    ("Dieser Link gilt nicht mehr", "This link is no longer valid"),
    (
        "Der Link wurde bereits benutzt, ist abgelaufen oder wurde durch einen neueren ersetzt. Bitte bitten Sie um eine neue E-Mail.",
        "The link has been used, has expired or was replaced by a newer one. Please ask for a new e-mail.",
    ),
    ("Zur Anmeldung", "Go to sign-in"),
    // Offline
    ("Keine Verbindung", "No connection"),
    (
        "Ihr Gerät ist gerade offline. Sobald die Verbindung wieder da ist, laden Sie die Seite bitte neu.",
        "Your device is offline. Please reload the page once the connection is back.",
    ),
    (
        "Aus Datenschutzgründen speichert das Portal Ihre Verträge und Dokumente nicht auf dem Gerät.",
        "To protect your privacy, the portal does not store your contracts and documents on the device.",
    ),
    // Folder and contracts
    ("Mein Versicherungsordner", "My insurance folder"),
    (
        "Hier erscheinen Ihre Verträge, sobald Ihr Makler sie eingetragen hat.",
        "Your contracts appear here as soon as your broker has entered them.",
    ),
    ("im Jahr", "per year"),
    ("Nr.", "No."),
    ("Alle Beiträge zusammen:", "All premiums together:"),
    ("Meine Dokumente", "My documents"),
    ("Wofür brauche ich das?", "What do I need this for?"),
    ("Vertragsdaten", "Contract details"),
    ("Sparte", "Line of insurance"),
    ("Versicherer", "Insurer"),
    ("Vertragsnummer", "Policy number"),
    ("Beitrag", "Premium"),
    ("Jahresbeitrag", "Yearly premium"),
    ("Beginn", "Start"),
    ("Ablauf", "End"),
    ("Hauptfälligkeit", "Main due date"),
    ("Status", "Status"),
    ("Frage zu diesem Vertrag stellen", "Ask about this contract"),
    ("Dokumente", "Documents"),
    ("Zu diesem Vertrag liegen noch keine Dokumente vor.", "There are no documents for this contract yet."),
    ("jährlich", "yearly"),
    ("halbjährlich", "half-yearly"),
    ("vierteljährlich", "quarterly"),
    ("monatlich", "monthly"),
    ("Einmalbeitrag", "single premium"),
    ("aktiv", "active"),
    ("ruhend", "dormant"),
    ("gekündigt", "cancelled"),
    // Messages
    ("Nachrichten an Ihren Makler", "Messages to your broker"),
    ("Neue Nachricht", "New message"),
    (
        "Sie haben noch keine Nachrichten geschrieben. Schreiben Sie Ihrem Makler, wenn sich etwas ändert, ein Schaden passiert ist oder ein Vertrag fehlt.",
        "You have not written any messages yet. Write to your broker when something changes, a loss has occurred or a contract is missing.",
    ),
    ("Ihre Nachricht ist bei Ihrem Makler angekommen.", "Your message has reached your broker."),
    ("Bitte prüfen Sie die markierten Felder.", "Please check the marked fields."),
    ("Worum geht es?", "What is it about?"),
    ("Bitte wählen", "Please choose"),
    ("Betrifft den Vertrag", "Concerns the contract"),
    ("bei einer Frage zu einem Vertrag", "for a question about a contract"),
    ("keinen bestimmten", "none in particular"),
    ("Ihre Nachricht", "Your message"),
    ("Fotos", "Photos"),
    ("Foto", "Photo"),
    ("optional", "optional"),
    (
        "optional, z. B. vom Schaden oder der ersten Seite eines Vertrags",
        "optional, e.g. of the damage or the first page of a contract",
    ),
    ("Nachricht senden", "Send message"),
    ("Antworten", "Reply"),
    ("Senden", "Send"),
    ("Neue Bankverbindung", "New bank details"),
    ("Frage zu einem Vertrag", "Question about a contract"),
    ("Schadenmeldung", "Claim report"),
    ("Vertrag fehlt im Ordner", "Contract missing from the folder"),
    ("Sonstiges", "Something else"),
    ("neu", "new"),
    ("in Bearbeitung", "in progress"),
    ("erledigt", "done"),
    ("Bitte wählen Sie, worum es geht.", "Please choose what it is about."),
    ("Bitte wählen Sie einen Ihrer Verträge.", "Please choose one of your contracts."),
    ("Bitte wählen Sie den Vertrag, um den es geht.", "Please choose the contract it is about."),
    ("Bitte füllen Sie dieses Feld aus.", "Please fill in this field."),
    ("Die Eingabe ist zu lang.", "The entry is too long."),
    ("Die Eingabe enthält unzulässige Zeichen.", "The entry contains characters that are not allowed."),
    ("Bitte wählen Sie Ihre Fotos noch einmal aus.", "Please choose your photos again."),
    (
        "Fotos können gerade nicht gespeichert werden. Bitte senden Sie Ihre Nachricht ohne Fotos; Ihr Makler meldet sich bei Ihnen.",
        "Photos cannot be stored right now. Please send your message without photos; your broker will get back to you.",
    ),
    // Analysis
    ("Wo besteht Handlungsbedarf?", "Where is action needed?"),
    (
        "Erzählen Sie kurz, wie Sie leben. Wir vergleichen das mit Ihren Verträgen und zeigen, wo eine Absicherung fehlt oder ein Blick lohnt.",
        "Tell us briefly how you live. We compare that with your contracts and show where cover is missing or worth a look.",
    ),
    ("Ich lebe", "I live"),
    ("Kinder im Haushalt", "Children in the household"),
    ("Beruflich bin ich", "At work I am"),
    ("Ich wohne", "My home is"),
    ("Ich habe ein Auto oder Motorrad", "I have a car or motorbike"),
    ("Ich habe ein Haustier (Hund, Katze, Pferd)", "I have a pet (dog, cat, horse)"),
    ("Analyse aktualisieren", "Update analysis"),
    ("Ihr Ergebnis", "Your result"),
    (
        "Für Ihre Situation hat Ihr Makler keine Empfehlungen hinterlegt.",
        "Your broker has no recommendations for your situation.",
    ),
    ("Mit meinem Makler darüber sprechen", "Talk to my broker about it"),
    ("allein", "alone"),
    ("mit Partner/in", "with a partner"),
    ("als Familie", "as a family"),
    ("angestellt", "employed"),
    ("selbstständig", "self-employed"),
    ("verbeamtet", "a civil servant"),
    ("in Ausbildung oder Studium", "in training or studying"),
    ("im Ruhestand", "retired"),
    ("derzeit ohne Erwerbstätigkeit", "not working at the moment"),
    ("zur Miete", "rented"),
    ("im Eigentum", "owned"),
    ("abgesichert", "covered"),
    ("fehlt", "missing"),
    ("prüfen", "review"),
    ("Bitte wählen Sie, wie Sie leben.", "Please choose how you live."),
    ("Bitte geben Sie eine Zahl zwischen 0 und 20 an.", "Please enter a number between 0 and 20."),
    ("Bitte wählen Sie Ihre berufliche Situation.", "Please choose your work situation."),
    ("Bitte wählen Sie, wie Sie wohnen.", "Please choose how you live."),
    // Emergency folder
    ("Mein Notfallordner", "My emergency folder"),
    (
        "Ihr persönlicher Bereich für den Fall, dass Sie nicht selbst handeln können. Nur Sie sehen ihn, auch Ihr Makler nicht. Eine Vertrauensperson Ihrer Wahl kann im Notfall Lesezugriff anfordern; Sie werden informiert und können widersprechen.",
        "Your personal space for the case that you cannot act yourself. Only you see it, not even your broker. A trusted person of your choice can ask for read access in an emergency; you are told and can refuse.",
    ),
    ("Notfallzugang angefordert", "Emergency access requested"),
    (
        "Wenn Sie nicht widersprechen, kann Ihre Vertrauensperson Ihren Notfallordner lesen ab",
        "Unless you refuse, your trusted person can read your emergency folder from",
    ),
    ("Zugang ablehnen", "Refuse access"),
    ("Ihre Vertrauensperson hat Lesezugriff", "Your trusted person has read access"),
    ("angefordert", "requested"),
    ("freigegeben ab", "granted from"),
    ("Zugang beenden", "End access"),
    ("Sie haben die Anfrage vom", "You refused the request of"),
    ("abgelehnt.", "."),
    ("Vertrauensperson", "Trusted person"),
    (
        "kann im Notfall Zugang anfordern. Wartezeit für Ihren Widerspruch in Tagen:",
        "can ask for access in an emergency. Days you have to refuse:",
    ),
    ("Noch niemand benannt.", "Nobody named yet."),
    ("Name", "Name"),
    ("Wartezeit für Ihren Widerspruch (Tage)", "Days you have to refuse"),
    ("Vertrauensperson ändern", "Change trusted person"),
    ("Vertrauensperson benennen", "Name a trusted person"),
    (
        "Ihre Vertrauensperson erhält eine E-Mail mit einem persönlichen Link, über den sie im Notfall Zugang anfordern kann.",
        "Your trusted person receives an e-mail with a personal link to ask for access in an emergency.",
    ),
    ("Vertrauensperson entfernen", "Remove trusted person"),
    ("Notizen", "Notes"),
    ("Notizen speichern", "Save notes"),
    ("Dokument oder Foto hinzufügen", "Add a document or photo"),
    ("Hochladen", "Upload"),
    ("Protokoll", "Log"),
    ("Noch keine Einträge.", "No entries yet."),
    ("Vorsorgevollmacht", "Power of attorney"),
    ("Patientenverfügung", "Living will"),
    ("Betreuungsverfügung", "Care directive"),
    ("Testament", "Will"),
    ("Digitale Konten", "Digital accounts"),
    ("Notfallkontakte", "Emergency contacts"),
    ("Anleitung für Bevollmächtigte", "Instructions for your representative"),
    (
        "Wer darf für Sie entscheiden, und wo liegt das Original der Vollmacht?",
        "Who may decide for you, and where is the original power of attorney?",
    ),
    (
        "Welche Behandlung wünschen Sie, welche nicht? Wo liegt die Verfügung?",
        "Which treatment do you want, which not? Where is the document?",
    ),
    (
        "Wen soll das Gericht als Betreuer bestellen, falls es nötig wird?",
        "Whom should the court appoint as your guardian if it becomes necessary?",
    ),
    (
        "Gibt es ein Testament, und wo wird es verwahrt (z. B. beim Amtsgericht)?",
        "Is there a will, and where is it kept (e.g. at the local court)?",
    ),
    (
        "E-Mail, Bank, soziale Netzwerke: welche Konten gibt es, und was soll mit ihnen geschehen? Bitte keine Passwörter hier speichern, sondern wo sie zu finden sind.",
        "E-mail, bank, social networks: which accounts exist, and what should happen to them? Please do not store passwords here, only where to find them.",
    ),
    (
        "Wer soll im Notfall sofort angerufen werden? Hausarzt, Angehörige, Arbeitgeber.",
        "Who should be called at once in an emergency? Doctor, relatives, employer.",
    ),
    ("Was soll Ihre Vertrauensperson Schritt für Schritt tun?", "What should your trusted person do, step by step?"),
    ("Vertrauensperson benannt", "Trusted person named"),
    ("Vertrauensperson entfernt", "Trusted person removed"),
    ("Vertrauensperson per E-Mail informiert", "Trusted person informed by e-mail"),
    ("Sie wurden per E-Mail benachrichtigt", "You were notified by e-mail"),
    ("Sie haben den Zugang abgelehnt", "You refused access"),
    ("Zugang nach Ablauf der Wartezeit freigegeben", "Access granted after the waiting period"),
    ("Notfallordner angesehen", "Emergency folder viewed"),
    ("Sie haben den Zugang beendet", "You ended access"),
    ("Bitte eine Wartezeit von 1 bis 60 Tagen angeben.", "Please enter a waiting period of 1 to 60 days."),
    (
        "Ihre Vertrauensperson braucht eine eigene E-Mail-Adresse.",
        "Your trusted person needs an e-mail address of their own.",
    ),
    ("Bitte geben Sie eine E-Mail-Adresse an.", "Please enter an e-mail address."),
    ("Das ist keine gültige E-Mail-Adresse.", "This is not a valid e-mail address."),
    ("Die E-Mail-Adresse ist zu lang.", "The e-mail address is too long."),
    // The trusted person's page
    ("Notfallordner von", "Emergency folder of"),
    ("hat Sie als Vertrauensperson benannt.", "has named you as trusted person."),
    ("Guten Tag", "Hello"),
    ("Fordern Sie den Zugang nur im Notfall an.", "Ask for access only in an emergency."),
    (
        "wird sofort per E-Mail informiert und kann innerhalb der Wartezeit widersprechen. Danach können Sie den Notfallordner lesen. Wartezeit in Tagen:",
        "is told by e-mail at once and can refuse within the waiting period. After that you can read the emergency folder. Waiting period in days:",
    ),
    ("Eine neue Anfrage ist 24 Stunden nach der Ablehnung möglich.", "You can ask again 24 hours after the refusal."),
    ("Notfallzugang anfordern", "Ask for emergency access"),
    ("Zugang angefordert", "Access requested"),
    (
        "Wenn kein Widerspruch kommt, können Sie den Ordner hier lesen ab",
        "Unless access is refused, you can read the folder here from",
    ),
    ("Die Anfrage wurde abgelehnt", "The request was refused"),
    ("Erneut anfordern", "Ask again"),
    ("Sie haben Lesezugriff. Jeder Zugriff wird protokolliert.", "You have read access. Every access is logged."),
    ("Keine Angaben.", "Nothing entered."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_the_templates_translate_has_an_english_version() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let call = regex_lite::Regex::new(r#"layout\.t\("([^"]*)"\)"#).expect("regex");
        let mut missing = Vec::new();
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).expect("templates").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("template");
                for capture in call.captures_iter(&text) {
                    if !english().contains_key(&capture[1]) {
                        missing.push(format!("{}: {}", path.display(), &capture[1]));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
    }

    #[test]
    fn labels_used_on_customer_pages_are_translated() {
        use crate::analysis::{Coverage, Employment, Household, Housing};
        use crate::contracts::{ContractStatus, PaymentFrequency};
        use crate::emergency::Section;
        use crate::messages::{Category, ThreadStatus};
        let mut labels: Vec<&str> = Vec::new();
        labels.extend(PaymentFrequency::ALL.iter().map(|f| f.label()));
        labels.extend(ContractStatus::ALL.iter().map(|s| s.label()));
        labels.extend(Category::ALL.iter().map(|c| c.label()));
        labels.extend(ThreadStatus::ALL.iter().map(|s| s.label()));
        labels.extend(Household::ALL.iter().map(|h| h.label()));
        labels.extend(Employment::ALL.iter().map(|e| e.label()));
        labels.extend(Housing::ALL.iter().map(|h| h.label()));
        labels.extend([Coverage::Covered, Coverage::Missing, Coverage::Review].iter().map(|c| c.label()));
        labels.extend(Section::ALL.iter().flat_map(|s| [s.title(), s.hint()]));
        for label in labels {
            assert_ne!(Lang::En.t(label), label, "no English for {label:?}");
        }
        assert_eq!(Lang::De.t("Mein Ordner"), "Mein Ordner");
        assert_eq!(Lang::En.t("ein ungeübter Satz"), "ein ungeübter Satz", "untranslated text stays readable");
    }

    #[test]
    fn translations_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (german, _) in TRANSLATIONS {
            assert!(seen.insert(german), "twice: {german}");
        }
    }
}

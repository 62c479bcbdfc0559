// The steps of the flows, one helper each, driven as a person would: by labels,
// roles and visible names, never by CSS classes. Each step leaves the page where
// a person would be afterwards and stops at a checkpoint where there is
// something to see. A flow is a list of these calls, so a new page (the
// analysis, the emergency folder) becomes one more helper and one more line.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { emergencyLink, passwordLink } from './lib.mjs';

// ---- the people and their data ----------------------------------------------

export function brokerFor(viewport) {
  const variant = viewport.name === 'phone' ? 'Handy' : 'Desktop';
  return {
    name: 'Erika Muster',
    company: `Muster Versicherungsmakler ${variant}`,
    street: 'Hauptstraße 5',
    postalCode: '10117',
    city: 'Berlin',
    phone: '030 1234567',
    email: `erika.${viewport.name}@example.de`,
    password: 'makler passwort 2026',
  };
}

export function customerFor(viewport) {
  return {
    firstName: 'Max',
    lastName: 'Mustermann',
    fullName: 'Max Mustermann',
    email: `max.${viewport.name}@example.de`,
    phone: '0171 1234567',
    street: 'Weg 2',
    postalCode: '10115',
    city: 'Berlin',
    password: 'kunden passwort 2026',
  };
}

export const CATALOG = {
  newSparte: { name: 'Cyber', description: 'Schützt vor den Folgen von Online-Betrug und Datenklau.' },
  produkt: {
    sparte: 'Haftpflicht',
    name: 'Privathaftpflicht',
    description: 'Zahlt, wenn Ihnen ein Missgeschick passiert und jemand anderes dadurch zu Schaden kommt.',
  },
};

export const CONTRACT = {
  sparte: 'Haftpflicht',
  produkt: 'Privathaftpflicht',
  insurer: 'Allianz',
  policyNumber: 'PH-123456',
  premium: '7,50',
  frequency: 'monatlich',
  // Last year, so the contract is always under the five years after which the
  // analysis asks for a review: its Haftpflicht line stays "abgesichert".
  start: `${new Date().getFullYear() - 1}-01-01`,
  yearly: '90,00 €',
};

/** The household the needs analysis is filled in for: most default rules apply
 * (not those for owners, pets or the self-employed), so the result has open
 * points next to the Privathaftpflicht the broker entered. */
export const SITUATION = {
  household: 'als Familie',
  children: '2',
  employment: 'angestellt',
  housing: 'zur Miete',
  car: true,
  pet: false,
};

export function trustedPersonFor(viewport) {
  return { name: 'Eva Mustermann', email: `eva.${viewport.name}@example.de`, waitingDays: '10' };
}

export const EMERGENCY = {
  section: 'Vorsorgevollmacht',
  notes: 'Das Original liegt im Arbeitszimmer, Ordner „Vorsorge“, oberste Schublade. Bevollmächtigt ist Eva Mustermann.',
  fileName: 'Vorsorgevollmacht.pdf',
};

export const MESSAGE = {
  category: 'Schadenmeldung',
  text: 'Bei uns ist die Waschmaschine ausgelaufen, der Boden in der Küche ist nass. Ein Foto hängt an.',
  reply: 'Danke für Ihre Meldung. Ich melde den Schaden heute beim Versicherer.',
};

// ---- small helpers -------------------------------------------------------------

async function openNav(page, name) {
  await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name, exact: true }).click();
}

async function see(locator) {
  await locator.first().waitFor({ state: 'visible' });
}

/** Clicks a submit button and waits for the page the server answers with; for
 * forms that redirect back to the same address without a notice to wait for. */
async function submit(page, button) {
  const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
  await button.click();
  await navigated;
  await page.waitForLoadState('load');
}

// Text from the test data as a pattern; spaces match any white space
// (amounts are written with a no-break space before the euro sign).
function pattern(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s/g, '\\s');
}

// ---- both --------------------------------------------------------------------

/** Opens a set-password link from a mail and chooses a password. */
export async function setsPassword(run, page, mail, password, step) {
  await page.goto(passwordLink(mail));
  await see(page.getByRole('heading', { level: 1, name: 'Passwort festlegen' }));
  await page.getByLabel('Neues Passwort').fill(password);
  await page.getByLabel('Passwort wiederholen').fill(password);
  await run.checkpoint(page, step);
  await page.getByRole('button', { name: 'Passwort speichern' }).click();
  await page.waitForURL((url) => url.pathname !== '/passwort-setzen');
}

// ---- the broker ----------------------------------------------------------------

/** From the product page to the trial form, sent; returns the sign-up mail. */
export async function brokerSignsUp(run, page, broker) {
  await page.goto(`${run.publicUrl}/`);
  await run.checkpoint(page, 'product-page');
  await page.getByRole('main').getByRole('link', { name: '30 Tage kostenlos testen' }).click();
  await see(page.getByRole('heading', { level: 1, name: /kostenlos testen/ }));
  await page.getByLabel('Ihr Name').fill(broker.name);
  await page.getByLabel(/^Firma/).fill(broker.company);
  await page.getByLabel('Straße und Hausnummer').fill(broker.street);
  await page.getByLabel('PLZ', { exact: true }).fill(broker.postalCode);
  await page.getByLabel('Ort', { exact: true }).fill(broker.city);
  await page.getByLabel('Telefon').fill(broker.phone);
  await page.getByLabel('E-Mail-Adresse').fill(broker.email);
  await run.checkpoint(page, 'signup-form');
  const seen = await run.mailbox.mark();
  await page.getByRole('button', { name: 'Portal jetzt einrichten' }).click();
  await see(page.getByRole('heading', { level: 1, name: /Ihr Portal (ist|wird) eingerichtet/ }));
  await see(page.getByText(broker.email));
  await run.checkpoint(page, 'signup-done');
  const mail = await run.mailbox.newestTo(broker.email, seen);
  assert.match(mail.subject, /bestätigen/);
  return mail;
}

/** The broker's first visit: the password from the sign-up mail, then the empty customer list. */
export async function brokerSetsPassword(run, page, mail, broker) {
  await setsPassword(run, page, mail, broker.password, 'broker-password');
  await page.waitForURL('**/makler/kunden');
  await see(page.getByRole('heading', { level: 1, name: 'Kunden' }));
  await run.checkpoint(page, 'customers-empty');
}

/** Adds a Sparte, and rewrites what a Produkt is for. */
export async function brokerEditsCatalog(run, page, catalog = CATALOG) {
  await openNav(page, 'Katalog');
  await see(page.getByRole('heading', { level: 1, name: /^Katalog/ }));
  await run.checkpoint(page, 'catalog');

  const { newSparte, produkt } = catalog;
  await page.getByLabel('Bezeichnung').fill(newSparte.name);
  await page.getByLabel(/^Wofür brauche ich das\?/).fill(newSparte.description);
  await page.getByRole('button', { name: 'Sparte anlegen' }).click();
  await see(page.getByRole('heading', { level: 1, name: `Sparte ${newSparte.name}` }));
  await see(page.getByRole('status').filter({ hasText: 'Gespeichert.' }));
  await run.checkpoint(page, 'sparte-created');

  await openNav(page, 'Katalog');
  await see(page.getByRole('link', { name: newSparte.name, exact: true }));
  await page.getByRole('link', { name: produkt.sparte, exact: true }).click();
  await see(page.getByRole('heading', { level: 1, name: `Sparte ${produkt.sparte}` }));
  await page.getByRole('link', { name: produkt.name, exact: true }).click();
  await see(page.getByRole('heading', { level: 1, name: `Produkt ${produkt.name}` }));
  await page.getByLabel(/^Wofür brauche ich das\?/).fill(produkt.description);
  await run.checkpoint(page, 'produkt-form');
  await page.getByRole('button', { name: 'Speichern', exact: true }).click();
  await see(page.getByRole('heading', { level: 1, name: `Sparte ${produkt.sparte}` }));
  await see(page.getByRole('status').filter({ hasText: 'Gespeichert.' }));
  await see(page.getByText(produkt.description));
  await run.checkpoint(page, 'produkt-saved');
}

/** "Neuer Kunde", filled in and saved; leaves the broker on the customer's page. */
export async function brokerCreatesCustomer(run, page, customer) {
  await openNav(page, 'Kunden');
  await page.getByRole('link', { name: 'Neuer Kunde' }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Neuer Kunde' }));
  await page.getByLabel('Vorname').fill(customer.firstName);
  await page.getByLabel('Nachname').fill(customer.lastName);
  await page.getByLabel(/^E-Mail-Adresse/).fill(customer.email);
  await page.getByLabel(/^Telefon/).fill(customer.phone);
  await page.getByLabel(/^Straße und Hausnummer/).fill(customer.street);
  await page.getByLabel(/^PLZ/).fill(customer.postalCode);
  await page.getByLabel(/^Ort/).fill(customer.city);
  await run.checkpoint(page, 'customer-form');
  await page.getByRole('button', { name: 'Kunde anlegen' }).click();
  await see(page.getByRole('heading', { level: 1, name: customer.fullName }));
  await run.checkpoint(page, 'customer-created');
}

/** "Vertrag anlegen" on the customer's page; back there with the contract listed. */
export async function brokerCreatesContract(run, page, contract = CONTRACT) {
  await page.getByRole('link', { name: 'Vertrag anlegen' }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Vertrag anlegen' }));
  await page.getByLabel('Sparte und Produkt').selectOption({ label: contract.produkt });
  await page.getByLabel(/^Versicherer/).fill(contract.insurer);
  await page.getByLabel(/^Vertragsnummer/).fill(contract.policyNumber);
  await page.getByLabel(/^Beitrag in Euro/).fill(contract.premium);
  await page.getByLabel('Zahlweise').selectOption({ label: contract.frequency });
  await page.getByLabel('Beginn', { exact: true }).fill(contract.start);
  await run.checkpoint(page, 'contract-form');
  await page.getByRole('button', { name: 'Vertrag speichern' }).click();
  await see(page.getByRole('status').filter({ hasText: 'Der Vertrag wurde gespeichert.' }));
  const row = page.getByRole('row').filter({ hasText: contract.policyNumber });
  await see(row);
  assert.match(await row.innerText(), new RegExp(pattern(contract.yearly)), 'yearly premium in the row');
  await run.checkpoint(page, 'contract-saved');
}

/** Uploads a file on the customer's page, shared with the customer. */
export async function brokerUploadsDocument(run, page, path, fileName) {
  await page.getByLabel('Dateien (PDF, JPEG, PNG, HEIC, WebP)').setInputFiles(path);
  assert.equal(await page.getByLabel('Für den Kunden sichtbar').isChecked(), true);
  await page.getByRole('button', { name: 'Hochladen' }).click();
  await see(page.getByRole('status').filter({ hasText: 'Das Dokument wurde gespeichert.' }));
  await see(page.getByRole('link', { name: fileName }));
  await run.checkpoint(page, 'document-uploaded');
}

/** "Zum Portal einladen"; returns the invitation mail. */
export async function brokerInvitesCustomer(run, page, customer) {
  const seen = await run.mailbox.mark();
  await page.getByRole('button', { name: 'Zum Portal einladen' }).click();
  await see(page.getByRole('status').filter({ hasText: 'Die Einladung wurde per E-Mail verschickt.' }));
  await run.checkpoint(page, 'customer-invited');
  return run.mailbox.newestTo(customer.email, seen);
}

/** Opens the inbox and the customer's thread; checks the text and the photo. */
export async function brokerOpensThread(run, page, customer, message = MESSAGE) {
  await openNav(page, 'Posteingang');
  await see(page.getByRole('heading', { level: 1, name: 'Posteingang' }));
  const row = page.getByRole('row').filter({ hasText: customer.fullName });
  await see(row);
  assert.match(await row.innerText(), new RegExp(`${pattern(message.category)}[\\s\\S]*neu`));
  await run.checkpoint(page, 'inbox');
  await row.getByRole('link', { name: customer.fullName }).click();
  await see(page.getByRole('heading', { level: 1, name: message.category }));
  await see(page.getByText(message.text));
  const photo = page.getByRole('img', { name: /^Foto: / });
  await photo.scrollIntoViewIfNeeded();
  await page.waitForFunction((img) => img.complete, await photo.elementHandle());
  assert.ok(
    await photo.evaluate((img) => img.naturalWidth > 0),
    'the photo is shown as a picture',
  );
  await run.checkpoint(page, 'thread');
}

/** Answers in the open thread. */
export async function brokerReplies(run, page, customer, text = MESSAGE.reply) {
  await page.getByLabel(`Antwort an ${customer.fullName}`).fill(text);
  await page.getByRole('button', { name: 'Antwort senden' }).click();
  await see(page.getByRole('listitem').filter({ hasText: text }));
  await run.checkpoint(page, 'thread-replied');
}

/** Sets the open thread's status, e.g. "erledigt". */
export async function brokerSetsStatus(run, page, status) {
  await page.getByLabel('Status').selectOption({ label: status });
  await page.getByRole('button', { name: 'Status setzen' }).click();
  await page.waitForLoadState('load');
  const selected = await page.getByLabel('Status').evaluate((select) => select.selectedOptions[0].textContent);
  assert.equal(selected, status);
  await openNav(page, 'Posteingang');
  await page.getByRole('navigation', { name: 'Filter' }).getByRole('link', { name: 'Erledigt' }).click();
  await see(page.getByRole('row').filter({ hasText: status }));
  await run.checkpoint(page, `inbox-${status}`);
}

// ---- the customer ----------------------------------------------------------------

/** The invitation's link, a password, and the folder. */
export async function customerSetsPassword(run, page, mail, customer) {
  await setsPassword(run, page, mail, customer.password, 'customer-password');
  await page.waitForURL('**/ordner');
}

/** The folder: contracts under their Sparte headings with yearly totals. */
export async function customerSeesDashboard(run, page, contract = CONTRACT) {
  await see(page.getByRole('heading', { level: 1, name: 'Mein Versicherungsordner' }));
  const sparte = page.getByRole('heading', { level: 2, name: new RegExp(`^${pattern(contract.sparte)}`) });
  await see(sparte);
  assert.match(await sparte.innerText(), new RegExp(`${pattern(contract.yearly)} im Jahr`));
  await see(page.getByRole('link', { name: new RegExp(`${pattern(contract.produkt)}.*${pattern(contract.policyNumber)}`) }));
  await see(page.getByText(/Alle Beiträge zusammen: .* im Jahr/));
  await run.checkpoint(page, 'dashboard');
}

/** Opens a contract: its facts and what it is for; back to the folder. */
export async function customerOpensContract(run, page, contract = CONTRACT, purpose = CATALOG.produkt.description) {
  await page.getByRole('link', { name: new RegExp(`${pattern(contract.produkt)}.*${pattern(contract.policyNumber)}`) }).click();
  await see(page.getByRole('heading', { level: 1, name: contract.produkt }));
  await see(page.getByRole('heading', { level: 2, name: 'Wofür brauche ich das?' }));
  await see(page.getByText(purpose));
  await see(page.getByText(contract.insurer, { exact: true }));
  await run.checkpoint(page, 'contract');
  await page.getByRole('link', { name: '← Mein Ordner' }).click();
  await page.waitForURL('**/ordner');
}

/** Downloads a shared document from the folder. */
export async function customerDownloadsDocument(run, page, fileName) {
  const link = page.getByRole('link', { name: new RegExp(`^${pattern(fileName)}`) });
  await link.scrollIntoViewIfNeeded();
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), fileName);
  const bytes = await readFile(await download.path());
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
}

/** "Nachrichten" → "Neue Nachricht": a claim with a photo, sent and confirmed. */
export async function customerWritesMessage(run, page, photoPath, message = MESSAGE) {
  await openNav(page, 'Nachrichten');
  await see(page.getByRole('heading', { level: 1, name: /^Nachrichten/ }));
  await page.getByRole('link', { name: 'Neue Nachricht' }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Neue Nachricht' }));
  await page.getByLabel('Worum geht es?').selectOption({ label: message.category });
  await page.getByLabel(/^Ihre Nachricht/).fill(message.text);
  await page.getByLabel(/^Fotos/).setInputFiles(photoPath);
  await run.checkpoint(page, 'message-form');
  await page.getByRole('button', { name: 'Nachricht senden' }).click();
  await see(page.getByRole('status').filter({ hasText: 'Ihre Nachricht ist bei Ihrem Makler angekommen.' }));
  await see(page.getByRole('link', { name: new RegExp(pattern(message.category)) }));
  await run.checkpoint(page, 'message-sent');
}

/** Opens the thread from "Nachrichten" and reads the broker's answer. */
export async function customerReadsReply(run, page, message = MESSAGE) {
  await openNav(page, 'Nachrichten');
  await page.getByRole('link', { name: new RegExp(pattern(message.category)) }).click();
  await see(page.getByRole('heading', { level: 1, name: message.category }));
  await see(page.getByText(message.text));
  await see(page.getByText(message.reply));
  await see(page.getByRole('img', { name: /^Foto: / }));
  await run.checkpoint(page, 'thread');
}

/** "Analyse": the household described and saved; the result against the
 * contracts, then one open point taken to the broker as a prefilled message
 * (not sent: the claim below is the thread the broker answers). */
export async function customerAnalysesNeeds(run, page, situation = SITUATION, contract = CONTRACT) {
  await openNav(page, 'Analyse');
  await see(page.getByRole('heading', { level: 1, name: 'Wo besteht Handlungsbedarf?' }));
  await page.getByLabel('Ich lebe').selectOption({ label: situation.household });
  await page.getByLabel('Kinder im Haushalt').fill(situation.children);
  await page.getByLabel('Beruflich bin ich').selectOption({ label: situation.employment });
  await page.getByLabel('Ich wohne').selectOption({ label: situation.housing });
  await page.getByLabel('Ich habe ein Auto oder Motorrad').setChecked(situation.car);
  await page.getByLabel('Ich habe ein Haustier (Hund, Katze, Pferd)').setChecked(situation.pet);
  await run.checkpoint(page, 'analysis-form');
  await page.getByRole('button', { name: 'Analyse aktualisieren' }).click();

  const result = page.getByRole('region', { name: 'Ihr Ergebnis', exact: true });
  await see(result);
  // The answers are kept: the form shows them again after saving.
  const chosen = (label) => page.getByLabel(label).evaluate((select) => select.selectedOptions[0].textContent);
  assert.equal(await chosen('Ich lebe'), situation.household);
  assert.equal(await page.getByLabel('Kinder im Haushalt').inputValue(), situation.children);
  assert.equal(await page.getByLabel('Ich habe ein Auto oder Motorrad').isChecked(), situation.car);

  const findings = result.getByRole('listitem');
  const line = (sparte) =>
    findings.filter({ has: page.getByRole('heading', { level: 3, name: new RegExp(`^${pattern(sparte)}\\s`) }) });
  const covered = line(contract.sparte);
  await see(covered);
  assert.match(await covered.innerText(), /abgesichert/, `the ${contract.sparte} line with the broker's contract`);
  assert.equal(await covered.getByRole('link', { name: 'Mit meinem Makler darüber sprechen' }).count(), 0);
  const missing = findings.filter({ has: page.getByText('fehlt', { exact: true }) });
  assert.ok((await missing.count()) >= 1, 'at least one line "fehlt"');
  await run.checkpoint(page, 'analysis-result');

  const open = missing.first();
  const sparte = (await open.getByRole('heading', { level: 3 }).innerText()).replace(/\s*fehlt\s*$/, '');
  await open.getByRole('link', { name: 'Mit meinem Makler darüber sprechen' }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Neue Nachricht' }));
  const text = await page.getByLabel(/^Ihre Nachricht/).inputValue();
  assert.match(text, new RegExp(pattern(sparte)), 'the message names the open point');
  assert.notEqual(await page.getByLabel('Worum geht es?').inputValue(), '', 'a topic is chosen');
}

/** "Notfallordner": notes and a document in one section, and a trusted person
 * named; returns the mail with the trusted person's personal link. */
export async function customerFillsEmergencyFolder(run, page, path, trusted, entry = EMERGENCY) {
  await openNav(page, 'Notfallordner');
  await see(page.getByRole('heading', { level: 1, name: 'Mein Notfallordner' }));
  // Every section has a "Notizen" field and a file input: only the section's
  // region tells them apart.
  const section = page.getByRole('region', { name: entry.section, exact: true });
  await section.getByLabel('Notizen').fill(entry.notes);
  await submit(page, section.getByRole('button', { name: 'Notizen speichern' }));
  assert.equal(await section.getByLabel('Notizen').inputValue(), entry.notes, 'the notes are kept');

  await section.getByLabel('Dokument oder Foto hinzufügen').setInputFiles(path);
  await section.getByRole('button', { name: 'Hochladen' }).click();
  await see(section.getByRole('link', { name: new RegExp(`^${pattern(entry.fileName)}`) }));

  const person = page.getByRole('region', { name: 'Vertrauensperson', exact: true });
  await person.getByLabel('Name', { exact: true }).fill(trusted.name);
  await person.getByLabel('E-Mail-Adresse').fill(trusted.email);
  await person.getByLabel('Wartezeit für Ihren Widerspruch (Tage)').fill(trusted.waitingDays);
  const seen = await run.mailbox.mark();
  await person.getByRole('button', { name: 'Vertrauensperson benennen' }).click();
  await see(person.getByText(`${trusted.name} (${trusted.email}) kann im Notfall Zugang anfordern`));
  await run.checkpoint(page, 'emergency');
  const mail = await run.mailbox.newestTo(trusted.email, seen);
  assert.match(mail.subject, /Vertrauensperson/);
  return mail;
}

/** The trusted person, with no account: the personal link from the mail, and
 * "Notfallzugang anfordern"; the customer is told by mail. */
export async function trustedPersonRequestsAccess(run, page, mail, customer) {
  await page.goto(emergencyLink(mail));
  await see(page.getByRole('heading', { level: 1, name: `Notfallordner von ${customer.fullName}` }));
  await run.checkpoint(page, 'trusted-person');
  const seen = await run.mailbox.mark();
  await page.getByRole('button', { name: 'Notfallzugang anfordern' }).click();
  await see(page.getByRole('status').filter({ hasText: 'Zugang angefordert' }));
  await run.checkpoint(page, 'trusted-person-requested');
  const notice = await run.mailbox.newestTo(customer.email, seen);
  assert.match(notice.subject, /Notfallzugang angefordert/);
}

/** The customer sees the request, refuses it, and finds every step in the log. */
export async function customerRefusesEmergencyAccess(run, page) {
  await openNav(page, 'Notfallordner');
  const alert = page.getByRole('alert').filter({ hasText: 'Notfallzugang angefordert' });
  await see(alert);
  await run.checkpoint(page, 'emergency-requested');
  await alert.getByRole('button', { name: 'Zugang ablehnen' }).click();
  await see(page.getByRole('status').filter({ hasText: /Sie haben die Anfrage vom .* abgelehnt/ }));
  assert.equal(await page.getByRole('alert').filter({ hasText: 'Notfallzugang angefordert' }).count(), 0);

  const log = page.getByRole('region', { name: 'Protokoll', exact: true }).getByRole('listitem');
  const steps = [
    'Vertrauensperson benannt',
    'Vertrauensperson per E-Mail informiert',
    'Notfallzugang angefordert',
    'Sie wurden per E-Mail benachrichtigt',
    'Sie haben den Zugang abgelehnt',
  ];
  for (const entry of steps) {
    assert.ok((await log.filter({ hasText: entry }).count()) >= 1, `"${entry}" in the Protokoll`);
  }
  assert.match(await log.first().innerText(), /Sie haben den Zugang abgelehnt/, 'newest entry first');
  await run.checkpoint(page, 'emergency-refused');
}

/** The trusted person's page after the refusal. */
export async function trustedPersonSeesRefusal(run, page) {
  await page.reload();
  await see(page.getByRole('alert').filter({ hasText: 'Die Anfrage wurde abgelehnt' }));
  // Asking again waits a day after a refusal.
  await see(page.getByText('Eine neue Anfrage ist 24 Stunden nach der Ablehnung möglich.'));
  await run.checkpoint(page, 'trusted-person-refused');
}

/** The footer's "English": the folder in English, checked once; "Deutsch" back. */
export async function customerSwitchesLanguage(run, page) {
  await openNav(page, 'Mein Ordner');
  await see(page.getByRole('heading', { level: 1, name: 'Mein Versicherungsordner' }));
  await page.getByRole('contentinfo').getByRole('link', { name: 'English', exact: true }).click();
  await see(page.getByRole('heading', { level: 1, name: 'My insurance folder' }));
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(new URL(page.url()).pathname, '/ordner', 'back on the page the switch was made on');
  await run.checkpoint(page, 'dashboard-en');
  await page.getByRole('contentinfo').getByRole('link', { name: 'Deutsch', exact: true }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Mein Versicherungsordner' }));
  assert.equal(await page.locator('html').getAttribute('lang'), 'de');
}

// ---- billing: the broker's billing area and the operator console ---------------

export const ORDER = {
  plan: 'PREMIUM',
  whitelabel: true,
  trialDays: 30,
  extensionPrice: '74,90 €',
};

export function operatorFor(viewport) {
  return { email: `betrieb.${viewport.name}@example.de` };
}

/** The Berlin calendar day `days` from today as the pages write it (31.12.2026). */
function berlinDay(days = 0) {
  const [year, month, day] = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' })
    .format(new Date())
    .split('-')
    .map(Number);
  const date = new Date(Date.UTC(year, month - 1, day + days));
  const two = (n) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}.${two(date.getUTCMonth() + 1)}.${date.getUTCFullYear()}`;
}

async function consoleNav(page, name) {
  await page.getByRole('navigation', { name: 'Konsole' }).getByRole('link', { name, exact: true }).click();
}

const planRegion = (page) => page.getByRole('region', { name: 'Ihr Tarif', exact: true });
const orderRegion = (page) => page.getByRole('region', { name: /^Ihre Bestellung B-/ });

/** "Abrechnung" in the portal during the trial: its last day, the extension
 * form, and the plans to order. */
export async function brokerOpensBilling(run, page, order = ORDER) {
  await openNav(page, 'Abrechnung');
  await see(page.getByRole('heading', { level: 1, name: 'Abrechnung' }));
  const plan = planRegion(page);
  await see(plan);
  // A trial of 30 days that began today: today is the first day.
  const lastDay = berlinDay(order.trialDays - 1);
  assert.match(await plan.innerText(), new RegExp(`kostenlos bis einschließlich\\s${pattern(lastDay)}`));
  assert.match(await plan.innerText(), new RegExp(`${order.trialDays} Tage für ${pattern(order.extensionPrice)}`));
  await see(plan.getByRole('button', { name: `Testphase um ${order.trialDays} Tage verlängern` }));
  const choice = page.getByRole('region', { name: 'Tarif bestellen', exact: true });
  const plans = choice.getByRole('group', { name: 'Tarif' }).getByRole('radio');
  assert.equal(await plans.count(), 3, 'Pay-per-Use, PREMIUMstarter and PREMIUM');
  await see(choice.getByRole('radio', { name: new RegExp(`^${pattern(order.plan)}:`) }));
  await see(choice.getByRole('checkbox', { name: /^Whitelabel:/ }));
  await see(choice.getByRole('button', { name: 'Bestellen', exact: true }));
  await run.checkpoint(page, 'billing-trial');
}

/** Orders a plan; the order with its contract to download (a PDF) and the
 * form for the signed copy. Returns the order number (B-…). */
export async function brokerOrdersPlan(run, page, order = ORDER) {
  const choice = page.getByRole('region', { name: 'Tarif bestellen', exact: true });
  await choice.getByRole('radio', { name: new RegExp(`^${pattern(order.plan)}:`) }).check();
  await choice.getByRole('checkbox', { name: /^Whitelabel:/ }).setChecked(order.whitelabel);
  await submit(page, choice.getByRole('button', { name: 'Bestellen', exact: true }));

  const placed = orderRegion(page);
  await see(placed);
  const number = (await placed.getByRole('heading', { level: 2 }).innerText()).match(/B-[0-9A-Z]+/)[0];
  const what = `Tarif ${order.plan}${order.whitelabel ? ' mit Whitelabel' : ''}`;
  assert.match(await placed.innerText(), new RegExp(`${pattern(what)} – Status: wartet auf den unterschriebenen Vertrag`));
  await see(placed.getByLabel('Unterschriebener Vertrag'));

  const link = placed.getByRole('link', { name: 'Vertrag mit Auftragsverarbeitungsvertrag herunterladen (PDF)' });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), `Vertrag-${number}.pdf`);
  const bytes = await readFile(await download.path());
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  await run.checkpoint(page, 'billing-ordered');
  return number;
}

/** Uploads the signed contract (a scan) for the open order. */
export async function brokerUploadsSignedContract(run, page, path) {
  const placed = orderRegion(page);
  await placed.getByLabel('Unterschriebener Vertrag').setInputFiles(path);
  await placed.getByRole('button', { name: 'Hochladen' }).click();
  await see(
    page.getByRole('status').filter({ hasText: 'Danke! Wir prüfen den unterschriebenen Vertrag und schalten Ihren Tarif frei.' }),
  );
  assert.match(await orderRegion(page).innerText(), /Status: unterschrieben, wird geprüft/);
  await run.checkpoint(page, 'billing-signed');
}

/** The operator's one-time login link from `control-plane operator create`. */
export async function operatorLogsIn(run, page, operator) {
  const link = await run.harness.operatorLoginLink(operator.email);
  assert.ok(link.startsWith(`${run.adminUrl}/`), `a link to the console: ${link}`);
  await page.goto(link);
  await see(page.getByRole('heading', { level: 1, name: 'Mandanten' }));
  await see(page.getByRole('navigation', { name: 'Konsole' }).getByText(operator.email));
}

/** "Bestellungen": the broker's signed order, confirmed; the broker is told by mail. */
export async function operatorConfirmsOrder(run, page, broker, number, order = ORDER) {
  await consoleNav(page, 'Bestellungen');
  await see(page.getByRole('heading', { level: 1, name: 'Offene Bestellungen' }));
  const placed = page.getByRole('region', { name: `Bestellung ${number}`, exact: true });
  await see(placed);
  const what = `${order.plan}${order.whitelabel ? ' + Whitelabel' : ''}`;
  assert.match(
    await placed.innerText(),
    new RegExp(`${pattern(broker.company)}[\\s\\S]*${pattern(what)}[\\s\\S]*unterschrieben, wird geprüft`),
  );
  await see(placed.getByRole('link', { name: 'Vertrag', exact: true }));
  await see(placed.getByRole('link', { name: 'unterschriebene Fassung' }));
  await see(placed.getByLabel('Grund der Ablehnung'));
  await run.checkpoint(page, 'orders');

  const seen = await run.mailbox.mark();
  await submit(page, placed.getByRole('button', { name: 'Bestätigen: Tarif startet heute' }));
  await see(page.getByRole('heading', { level: 1, name: 'Offene Bestellungen' }));
  assert.equal(await placed.count(), 0, 'the order is no longer open');
  await run.checkpoint(page, 'orders-confirmed');
  const mail = await run.mailbox.newestTo(broker.email, seen);
  assert.match(mail.subject, new RegExp(`Ihr Tarif ${pattern(order.plan)} ist aktiv`));
}

/** The billing area after the confirmation: the plan runs since today. */
export async function brokerSeesPlan(run, page, order = ORDER) {
  // Back through the portal: the page on screen answered the upload's POST.
  await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Zurück zum Portal' }).click();
  await see(page.getByRole('heading', { level: 1, name: 'Kunden' }));
  await openNav(page, 'Abrechnung');
  await see(page.getByRole('heading', { level: 1, name: 'Abrechnung' }));
  assert.equal(await page.getByRole('alert').count(), 0, 'no error');
  const what = `${order.plan}${order.whitelabel ? ' mit Whitelabel' : ''}, seit ${berlinDay()}`;
  assert.match(await planRegion(page).innerText(), new RegExp(pattern(what)));
  assert.equal(await orderRegion(page).count(), 0, 'no open order');
  const change = page.getByRole('region', { name: 'Tarif wechseln', exact: true });
  await see(change);
  assert.equal(await change.getByRole('radio', { name: new RegExp(`^${pattern(order.plan)}:`) }).isChecked(), true);
  assert.equal(await change.getByRole('checkbox', { name: /^Whitelabel:/ }).isChecked(), order.whitelabel);
  await run.checkpoint(page, 'billing-plan');
}

/** The console's money pages: invoices (none yet), revenue, and the audit log
 * with the confirmation. */
export async function operatorSeesMoneyPages(run, page, operator, number) {
  await consoleNav(page, 'Rechnungen');
  await see(page.getByRole('heading', { level: 1, name: 'Rechnungen und Gutschriften' }));
  await see(page.getByRole('search').getByLabel('Status'));
  await run.checkpoint(page, 'invoices');

  await consoleNav(page, 'Umsatz');
  await see(page.getByRole('heading', { level: 1, name: 'Umsatz' }));
  await see(page.getByRole('heading', { level: 2, name: 'Monatlich wiederkehrender Umsatz (MRR)' }));
  await see(page.getByRole('heading', { level: 2, name: 'Von der Testphase zum Tarif' }));
  await run.checkpoint(page, 'revenue');

  await consoleNav(page, 'Protokoll');
  await see(page.getByRole('heading', { level: 1, name: 'Protokoll' }));
  const confirmed = page
    .getByRole('row')
    .filter({ hasText: operator.email })
    .filter({ hasText: 'Bestellung bestätigt' })
    .filter({ hasText: new RegExp(number.slice(2), 'i') });
  await see(confirmed);
  await run.checkpoint(page, 'audit');
}

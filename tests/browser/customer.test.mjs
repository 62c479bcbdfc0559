// The customer's path through the portal in a real browser, on a phone (where
// customers mostly are) and on a desktop: password from the invitation, the
// folder, a contract, a document, the needs analysis, the emergency folder with
// a trusted person's request refused, a claim with a photo, the broker's
// answer, and the pages in English.
// The broker's set-up runs through the same UI but is checked page by page in
// the broker flow, not here.

import { after, before, test } from 'node:test';
import { Harness, VIEWPORTS } from './lib.mjs';
import * as step from './steps.mjs';

const harness = new Harness('customer');
before(() => harness.start());
after(() => harness.stop());

const DOCUMENT = 'Versicherungsschein.pdf';

for (const viewport of VIEWPORTS) {
  test(`customer flow on ${viewport.name}`, { timeout: 240_000 }, async (t) => {
    const run = harness.run(t, viewport);
    const broker = step.brokerFor(viewport);
    const customer = step.customerFor(viewport);
    const trusted = step.trustedPersonFor(viewport);
    await run.flow(async () => {
      const office = await run.person('broker', { checked: false });
      const signup = await step.brokerSignsUp(run, office, broker);
      await step.brokerSetsPassword(run, office, signup, broker);
      await step.brokerEditsCatalog(run, office);
      await step.brokerCreatesCustomer(run, office, customer);
      await step.brokerCreatesContract(run, office);
      await step.brokerUploadsDocument(run, office, run.files.pdf, DOCUMENT);
      const invitation = await step.brokerInvitesCustomer(run, office, customer);

      const page = await run.person('customer');
      await step.customerSetsPassword(run, page, invitation, customer);
      await step.customerSeesDashboard(run, page);
      await step.customerOpensContract(run, page);
      await step.customerDownloadsDocument(run, page, DOCUMENT);
      await step.customerAnalysesNeeds(run, page);

      const trustMail = await step.customerFillsEmergencyFolder(run, page, run.files.powerOfAttorney, trusted);
      const trustee = await run.person('trusted person');
      await step.trustedPersonRequestsAccess(run, trustee, trustMail, customer);
      await step.customerRefusesEmergencyAccess(run, page);
      await step.trustedPersonSeesRefusal(run, trustee);

      await step.customerWritesMessage(run, page, run.files.photo);

      await step.brokerOpensThread(run, office, customer);
      await step.brokerReplies(run, office, customer);

      await step.customerReadsReply(run, page);
      await step.customerSwitchesLanguage(run, page);
    });
  });
}

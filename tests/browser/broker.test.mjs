// The broker's path through the portal in a real browser, on a phone and on a
// desktop: sign-up, password, catalog, customer, contract, document, invitation,
// and the inbox with a customer's claim (the customer's part unchecked here; the
// customer flow checks those pages).

import { after, before, test } from 'node:test';
import { Harness, VIEWPORTS } from './lib.mjs';
import * as step from './steps.mjs';

const harness = new Harness('broker');
before(() => harness.start());
after(() => harness.stop());

for (const viewport of VIEWPORTS) {
  test(`broker flow on ${viewport.name}`, { timeout: 240_000 }, async (t) => {
    const run = harness.run(t, viewport);
    const broker = step.brokerFor(viewport);
    const customer = step.customerFor(viewport);
    await run.flow(async () => {
      const page = await run.person('broker');
      const signup = await step.brokerSignsUp(run, page, broker);
      await step.brokerSetsPassword(run, page, signup, broker);
      await step.brokerEditsCatalog(run, page);
      await step.brokerCreatesCustomer(run, page, customer);
      await step.brokerCreatesContract(run, page);
      await step.brokerUploadsDocument(run, page, run.files.pdf, 'Versicherungsschein.pdf');
      const invitation = await step.brokerInvitesCustomer(run, page, customer);

      const customerPage = await run.person('customer', { checked: false });
      await step.customerSetsPassword(run, customerPage, invitation, customer);
      await step.customerWritesMessage(run, customerPage, run.files.photo);

      await step.brokerOpensThread(run, page, customer);
      await step.brokerReplies(run, page, customer);
      await step.brokerSetsStatus(run, page, 'erledigt');
    });
  });
}

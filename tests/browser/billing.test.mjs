// Ordering a plan in a real browser, on a phone and on a desktop: the broker's
// billing area during the trial, the order with its contract, the signed copy
// uploaded; the operator confirms it under "Bestellungen", and the broker sees
// the plan. Then the console's invoices, revenue and audit log pages.
// Sign-up and password run through the same UI but are checked page by page in
// the broker flow, not here.

import { after, before, test } from 'node:test';
import { Harness, VIEWPORTS } from './lib.mjs';
import * as step from './steps.mjs';

const harness = new Harness('billing');
before(() => harness.start());
after(() => harness.stop());

for (const viewport of VIEWPORTS) {
  test(`billing flow on ${viewport.name}`, { timeout: 240_000 }, async (t) => {
    const run = harness.run(t, viewport);
    const broker = step.brokerFor(viewport);
    const operator = step.operatorFor(viewport);
    await run.flow(async () => {
      const page = await run.person('broker', { checked: false });
      const signup = await step.brokerSignsUp(run, page, broker);
      await step.brokerSetsPassword(run, page, signup, broker);
      run.check(page);

      await step.brokerOpensBilling(run, page);
      const number = await step.brokerOrdersPlan(run, page);
      await step.brokerUploadsSignedContract(run, page, run.files.signedContract);

      const admin = await run.person('operator');
      await step.operatorLogsIn(run, admin, operator);
      await step.operatorConfirmsOrder(run, admin, broker, number);

      await step.brokerSeesPlan(run, page);
      await step.operatorSeesMoneyPages(run, admin, operator, number);
    });
  });
}

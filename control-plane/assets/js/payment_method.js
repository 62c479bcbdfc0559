// The broker's payment method page: Stripe's Payment Element collects a SEPA
// Direct Debit mandate or a card for the SetupIntent the server created, then
// Stripe sends the browser back to the return URL. Loaded as a file because the
// page's Content-Security-Policy allows no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("zahlungsart-form");
  const button = document.getElementById("zahlungsart-absenden");
  const problem = document.getElementById("zahlungsart-fehler");
  const show = (text) => {
    problem.textContent = text;
    problem.hidden = false;
  };
  if (typeof Stripe !== "function") {
    show("Stripe konnte nicht geladen werden. Bitte prüfen Sie Ihre Verbindung und laden Sie die Seite neu.");
    return;
  }
  const stripe = Stripe(form.dataset.publishableKey, { locale: "de" });
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#zahlungsart-element");
  button.disabled = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    problem.hidden = true;
    const { error } = await stripe.confirmSetup({ elements, confirmParams: { return_url: form.dataset.returnUrl } });
    if (error) {
      show(error.message || "Die Zahlungsart konnte nicht gespeichert werden.");
      button.disabled = false;
    }
  });
});

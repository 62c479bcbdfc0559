// Installs the service worker that shows an offline page (see /sw.js).
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // Without a service worker the portal still works, just not offline.
    });
  });
}

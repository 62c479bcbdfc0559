// Live preview of the broker's colours, with the same WCAG AA check the server
// applies when saving (the server's check is the one that counts).
(function () {
  const primary = document.getElementById("primary");
  const accent = document.getElementById("accent");
  const preview = document.getElementById("preview");
  const verdict = document.getElementById("contrast-verdict");
  if (!primary || !accent || !preview || !verdict) {
    return;
  }
  const TEXT = "#1d2530";
  const luminance = (hex) => {
    const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  const update = () => {
    preview.style.setProperty("--primary", primary.value);
    preview.style.setProperty("--accent", accent.value);
    const onPrimary = contrast(primary.value, "#ffffff");
    const onAccent = Math.min(contrast(accent.value, TEXT), contrast(accent.value, primary.value));
    const ok = onPrimary >= 4.5 && onAccent >= 4.5;
    verdict.textContent = ok
      ? "Gut lesbar (Kontrast " + onPrimary.toFixed(1).replace(".", ",") + ":1 und " + onAccent.toFixed(1).replace(".", ",") + ":1)."
      : "Zu wenig Kontrast: mindestens 4,5:1 sind nötig (jetzt " + onPrimary.toFixed(1).replace(".", ",") + ":1 und " + onAccent.toFixed(1).replace(".", ",") + ":1).";
    verdict.className = ok ? "notice ok" : "notice error";
  };
  primary.addEventListener("input", update);
  accent.addEventListener("input", update);
  update();
})();

/* Agreement dashboard: while the report is computed in the background, poll; reload once it
   has succeeded or failed. */
"use strict";
(() => {
  const root = document.getElementById("dashboard");
  const url = root && root.dataset.pollUrl;
  if (!url) return;
  let delay = 2000;
  async function poll() {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (res.status === 200) { window.location.reload(); return; }
      // Failed: the page shows the error (and the server retries later by itself); stop polling.
      if (res.status === 202 && (await res.json()).state === "failed") { window.location.reload(); return; }
      if (res.status !== 202) {
        const box = document.querySelector("[data-testid=computing]");
        if (box) box.textContent = "The agreement report could not be computed (HTTP " + res.status + "). Reload to try again.";
        return;
      }
    } catch (e) { /* network hiccup: try again later */ }
    delay = Math.min(delay * 1.5, 15000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();

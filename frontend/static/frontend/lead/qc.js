/* Adjudication page: mark the trace as a quality-control trace, or stop using it as one. */
"use strict";
(() => {
  const box = document.querySelector("[data-testid=qc-box]");
  if (!box) return;
  const button = box.querySelector("[data-testid=qc-toggle]");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await Lead.api("PUT", box.dataset.qcApi, { is_qc: button.dataset.isQc === "1" });
    if (res.ok) { window.location.reload(); return; }
    Lead.toast((res.data && res.data.detail) || "Could not change the QC state.", "error");
    button.disabled = false;
  });
})();

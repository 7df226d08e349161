/* Project setup: settings with a live guidelines preview, new-project form, trace import. */
"use strict";
(() => {
  const { api, el, byIds, toast, errorText, showFormError, clearFormError } = Lead;

  function settingsFrom(form) {
    const f = form.elements;
    const data = {
      name: f.name.value.trim(),
      overlap: Number(f.overlap.value),
      queue_order: f.queue_order.value,
      queue_seed: Number(f.queue_seed.value || 0),
      labeling_mode: form.querySelector("input[name=labeling_mode]:checked").value,
      is_blind: f.is_blind.checked,
      shows_ground_truth: f.shows_ground_truth.checked,
      guidelines: f.guidelines.value,
    };
    if (f.slug) data.slug = f.slug.value.trim();
    return data;
  }

  /* ---- settings page ---- */
  const app = document.getElementById("settings-app");
  if (app) {
    const { form, textarea, preview } = byIds({ form: "settings-form", textarea: "guidelines", preview: "guidelines-preview" });
    let timer = null, seq = 0;
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++seq;
        const body = new FormData();
        body.append("text", textarea.value);
        const res = await api("POST", app.dataset.previewUrl, body);
        if (mine !== seq) return;
        // The server returns HTML already sanitised by nh3 (frontend.rendering.render_markdown).
        if (res.ok) preview.innerHTML = res.data.html;
        else preview.replaceChildren(el("p", { class: "error" }, errorText(res.data)));
      }, 250);
    });
    form.addEventListener("submit", async e => {
      e.preventDefault();
      const res = await api("PATCH", app.dataset.settingsApi, settingsFrom(form));
      if (!res.ok) { showFormError(form, res); return toast("Not saved: " + errorText(res.data), "error"); }
      clearFormError(form);
      document.getElementById("settings-status").textContent = "Saved just now";
      toast("Settings saved");
    });

    /* import */
    const { importForm, fileInput, format, splitter, regexWrap, dz, importError } = byIds({
      importForm: "import-form", fileInput: "import-file", format: "import-format", splitter: "import-splitter",
      regexWrap: "regex-wrap", dz: "dropzone", importError: "import-error",
    });
    const syncSplitter = () => {
      const text = format.value === "text" || format.value === "auto";
      splitter.disabled = !text;
      if (!text) splitter.value = "";
      if (format.value === "text" && !splitter.value) splitter.value = "line";
      regexWrap.hidden = splitter.value !== "regex";
    };
    format.addEventListener("change", syncSplitter);
    splitter.addEventListener("change", syncSplitter);
    syncSplitter();
    fileInput.addEventListener("change", () => {
      const f = fileInput.files[0];
      document.getElementById("dz-text").replaceChildren(f ? el("span", {}, el("strong", {}, f.name), ` · ${(f.size / 1024).toFixed(1)} KB`) : el("span", {}, el("strong", {}, "Choose a file"), " or drop it here"));
      dz.classList.toggle("has-file", !!f);
      dz.classList.remove("invalid");
      importError.textContent = "";
    });
    ["dragover", "dragenter"].forEach(t => dz.addEventListener(t, e => { e.preventDefault(); dz.classList.add("over"); }));
    ["dragleave", "drop"].forEach(t => dz.addEventListener(t, () => dz.classList.remove("over")));
    dz.addEventListener("drop", e => { e.preventDefault(); fileInput.files = e.dataTransfer.files; fileInput.dispatchEvent(new Event("change")); });

    const { progress, fill, bar, stateEl, linesEl, resultEl } = byIds({
      progress: "import-progress", fill: "progress-fill", bar: "progress-bar",
      stateEl: "import-state", linesEl: "import-lines", resultEl: "import-result",
    });

    function errorsTable(errors) {
      return el("div", { class: "errors-box", dataset: { testid: "import-errors" } },
        el("h3", {}, `${errors.length} problem${errors.length === 1 ? "" : "s"}: nothing was imported`),
        el("table", { class: "err-table" },
          el("thead", {}, el("tr", {}, el("th", {}, "Line"), el("th", {}, "Field"), el("th", {}, "Problem"))),
          el("tbody", {}, ...errors.map(e => el("tr", { dataset: { testid: "import-error-row" } },
            el("td", { class: "num" }, e.line ?? "–"), el("td", {}, el("code", {}, e.field || "")), el("td", {}, e.message || ""))))));
    }

    function show(job) {
      progress.hidden = false;
      const done = job.state === "succeeded" || job.state === "failed";
      const pct = done ? 100 : job.total_lines ? Math.min(100, Math.round(100 * job.processed_lines / job.total_lines)) : 0;
      fill.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
      bar.className = "progress " + job.state;
      stateEl.textContent = { pending: "Waiting for a worker…", running: `Importing… ${pct}%`, succeeded: "Imported", failed: "Import failed" }[job.state] || job.state;
      stateEl.className = "state-" + job.state;
      linesEl.textContent = job.total_lines ? `${job.processed_lines.toLocaleString()} / ${job.total_lines.toLocaleString()} lines` : "";
      if (job.state === "succeeded") {
        const r = job.result || {};
        resultEl.replaceChildren(el("div", { class: "result-grid", dataset: { testid: "import-result" } },
          ...[["traces", r.traces_added], ["steps", r.steps_added], ["labels", r.labels_added], ["duplicates skipped", r.duplicates_skipped]]
            .map(([k, v]) => el("div", {}, el("div", { class: "big" }, (v ?? 0).toLocaleString()), el("div", { class: "muted small" }, k)))));
      } else if (job.state === "failed") {
        resultEl.replaceChildren(errorsTable(job.errors || []));
      } else resultEl.replaceChildren();
    }

    /* The recent imports, rendered by the server like on page load. */
    const historyBox = document.getElementById("import-history");
    async function refreshHistory() {
      let res;
      try { res = await fetch(app.dataset.historyUrl, { credentials: "same-origin" }); } catch (e) { return; }
      // The fragment is our own template's output, escaped like the rest of the page.
      if (res.ok) historyBox.innerHTML = await res.text();
    }

    async function poll(url) {
      for (;;) {
        const res = await api("GET", url);
        if (!res.ok) { toast(errorText(res.data), "error"); return; }
        show(res.data);
        if (res.data.state === "succeeded" || res.data.state === "failed") refreshHistory();
        if (res.data.state === "succeeded") {
          const added = res.data.result.traces_added ?? 0;
          const pill = document.querySelector("[data-testid=trace-count]");
          const total = (parseInt(pill.textContent, 10) || 0) + added;
          pill.textContent = `${total} trace${total === 1 ? "" : "s"}`;
          toast(`Imported ${added} traces`);
          return;
        }
        if (res.data.state === "failed") return;
        await new Promise(r => setTimeout(r, 600));
      }
    }

    importForm.addEventListener("submit", async e => {
      e.preventDefault();
      if (!fileInput.files.length) {
        // Said next to the drop zone, where the fix is, not only in a passing toast.
        importError.textContent = "Choose a file to import first.";
        dz.classList.add("invalid");
        fileInput.focus();
        return;
      }
      const body = new FormData();
      body.append("file", fileInput.files[0]);
      body.append("format", format.value);
      let split = splitter.value;
      if (split === "regex") split = "regex:" + document.getElementById("import-regex").value;
      body.append("splitter", split);
      const submit = importForm.querySelector("button[type=submit]");
      submit.disabled = true;
      show({ state: "pending", processed_lines: 0, total_lines: 0 });
      try {
        const res = await api("POST", app.dataset.importsApi, body);
        if (!res.ok) {
          const errors = (res.data && res.data.errors) || Object.entries(res.data || {}).map(([field, msg]) => ({ line: null, field, message: Array.isArray(msg) ? msg.join(" ") : String(msg) }));
          show({ state: "failed", processed_lines: 0, total_lines: 0, errors });
          return;
        }
        await poll(`${app.dataset.importsApi}${res.data.id}/`);
      } finally { submit.disabled = false; }
    });
  }

  /* ---- new project page ---- */
  const newForm = document.getElementById("new-project-form");
  if (newForm) {
    const name = newForm.elements.name, slug = newForm.elements.slug;
    let slugTouched = false;
    slug.addEventListener("input", () => { slugTouched = true; });
    name.addEventListener("input", () => {
      if (!slugTouched) slug.value = name.value.toLowerCase().normalize("NFKD").replace(/[^\w\s-]/g, "").trim().replace(/[\s_]+/g, "-").slice(0, 100);
    });
    newForm.addEventListener("submit", async e => {
      e.preventDefault();
      const res = await api("POST", newForm.dataset.api, settingsFrom(newForm));
      if (!res.ok) return showFormError(newForm, res);
      location.href = `/projects/${encodeURIComponent(res.data.slug)}/lead/`;
    });
  }
})();

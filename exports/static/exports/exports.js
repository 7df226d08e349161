// Export page: live count of what the options select, start an export, poll job progress.
(function () {
  "use strict";
  const form = document.getElementById("export-form");
  if (!form) return;
  const api = form.dataset.api;
  const countApi = form.dataset.countApi;
  const countEl = form.querySelector("[data-testid=export-count]");
  const errorEl = form.querySelector("[data-testid=export-error]");
  const rows = document.getElementById("export-job-rows");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const lists = ["annotators", "generators", "source_formats"];

  function options() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.name === "csrfmiddlewaretoken") continue;
      if (el.type === "checkbox") data[el.name] = el.checked;
      else if (lists.includes(el.name)) data[el.name] = el.value.split(",").map((s) => s.trim()).filter(Boolean);
      else if (el.value !== "") data[el.name] = el.value;
    }
    return data;
  }

  function showError(body) {
    let text = "Something went wrong.";
    if (body && body.detail) {
      text = (body.field ? body.field + ": " : "") + body.detail;
    } else if (body && typeof body === "object") {
      text = Object.entries(body).map(([k, v]) => k + ": " + (Array.isArray(v) ? v.join(" ") : v)).join(" · ");
    }
    errorEl.textContent = text;
    errorEl.hidden = false;
  }

  let countTimer = null;
  function refreshCount() {
    clearTimeout(countTimer);
    countTimer = setTimeout(async () => {
      const params = new URLSearchParams();
      // DRF reserves ?format= for renderers: the count endpoint reads export_format.
      for (const [k, v] of Object.entries(options())) {
        params.set(k === "format" ? "export_format" : k, Array.isArray(v) ? v.join(",") : String(v));
      }
      countEl.textContent = "Counting…";
      const response = await fetch(countApi + "?" + params.toString(), { credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) { countEl.textContent = "No count: " + (body.detail || JSON.stringify(body)); return; }
      countEl.textContent = body.trace_count.toLocaleString() + " traces, " + body.step_count.toLocaleString() +
        " steps, " + body.label_count.toLocaleString() + " step labels match (truncation, neutral drop and “fully labelled only” can lower this).";
    }, 250);
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  function render(jobs) {
    rows.replaceChildren();
    document.getElementById("export-jobs-empty").hidden = jobs.length > 0;
    document.getElementById("export-jobs-box").hidden = jobs.length === 0;
    for (const job of jobs) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "export-job"; tr.setAttribute("data-testid", "export-job");
      tr.dataset.job = job.id; tr.dataset.state = job.state;
      tr.appendChild(cell(job.id));
      tr.appendChild(cell(job.format + " · " + job.file_format));
      const state = cell(""); const badge = document.createElement("span");
      badge.className = "badge state-" + job.state; badge.textContent = job.state; state.appendChild(badge);
      if (job.error) { const e = document.createElement("div"); e.className = "error small"; e.textContent = job.error; state.appendChild(e); }
      if (job.state === "failed") {
        const retry = document.createElement("button"); retry.type = "button"; retry.textContent = "Retry";
        retry.setAttribute("data-testid", "export-retry");
        retry.addEventListener("click", () => post(api + job.id + "/retry/"));
        state.appendChild(retry);
      }
      tr.appendChild(state);
      const p = cell(""); const bar = document.createElement("progress"); bar.max = 1; bar.value = job.progress;
      p.appendChild(bar);
      if (job.total_count) p.appendChild(document.createTextNode(" " + job.processed_count.toLocaleString() + "/" + job.total_count.toLocaleString()));
      tr.appendChild(p);
      tr.appendChild(cell(job.record_count.toLocaleString(), "num"));
      tr.appendChild(cell(job.step_count.toLocaleString(), "num"));
      tr.appendChild(cell(job.created_by));
      tr.appendChild(cell(job.created_at.slice(0, 16).replace("T", " ")));
      const dl = cell("");
      if (job.download_url) {
        const a = document.createElement("a"); a.href = job.download_url; a.textContent = "Download zip";
        a.setAttribute("data-testid", "export-download"); dl.appendChild(a);
      }
      tr.appendChild(dl);
      rows.appendChild(tr);
    }
  }

  let pollTimer = null;
  async function poll() {
    clearTimeout(pollTimer);
    const response = await fetch(api, { credentials: "same-origin" });
    if (!response.ok) return;
    const jobs = await response.json();
    render(jobs);
    if (jobs.some((j) => j.state === "pending" || j.state === "running")) pollTimer = setTimeout(poll, 1000);
  }

  async function post(url, body) {
    errorEl.hidden = true;
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) { showError(await response.json().catch(() => null)); return; }
    poll();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); post(api, options()); });
  form.addEventListener("change", refreshCount);
  form.addEventListener("input", refreshCount);
  refreshCount();
  if (rows.querySelector("[data-state=pending], [data-state=running]")) poll();
})();

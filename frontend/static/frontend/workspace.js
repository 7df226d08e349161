/* Annotator workspace: keyboard labelling, optimistic UI, a save queue that never drops work. */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("workspace-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const stepEls = Array.from(document.querySelectorAll('[data-testid="step"]'));
  const byKey = new Map(data.categories.map((c) => [c.key, c]));
  const byHotkey = new Map(data.categories.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c]));
  const RESERVED = new Set(["j", "k", "f", "r", "u", "s", "g", "?"]);
  const ICON = { 1: "✓", 0: "~", "-1": "✗" };
  const POLARITY_WORD = { 1: "positive", 0: "neutral", "-1": "negative" };
  const PENDING_KEY = `prm-ws-pending-${data.assignmentId}`;
  const $ = (sel, root = document) => root.querySelector(sel);

  // labels[index] = {category, rationale, isUnsure} | undefined; the UI's truth, saved async.
  const labels = {};
  for (const [i, l] of Object.entries(data.labels)) labels[i] = { ...l };
  const drafts = {}; // rationale typed before the step has a label
  const undoStack = [];
  let current = 0;

  /* ---------- save queue: latest desired state per step, sent in order, retried forever ---------- */
  const pending = new Map(); // index -> label | null (null = delete)
  let inFlight = false;
  let failures = 0;
  let retryTimer = null;
  let lastError = "";

  function persistPending() {
    try {
      if (pending.size === 0) localStorage.removeItem(PENDING_KEY);
      else localStorage.setItem(PENDING_KEY, JSON.stringify(Object.fromEntries(pending)));
    } catch (e) { /* storage full or disabled: the in-memory queue still retries */ }
  }

  function restorePending() {
    // Saves that never reached the server before a crash or a closed tab are replayed.
    try {
      const stored = JSON.parse(localStorage.getItem(PENDING_KEY) || "{}");
      for (const [i, value] of Object.entries(stored)) {
        if (value === null) delete labels[i];
        else labels[i] = value;
        pending.set(i, value);
      }
    } catch (e) { /* ignore a corrupt entry */ }
  }

  function enqueue(index) {
    const value = labels[index] ? { ...labels[index] } : null;
    pending.set(String(index), value);
    persistPending();
    renderSaveStatus();
    pump();
  }

  async function request(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: method !== "GET",
    });
    let payload = null;
    if (response.status !== 204) {
      try { payload = await response.json(); } catch (e) { payload = null; }
    }
    return { status: response.status, ok: response.ok, payload };
  }

  function describe(payload, status) {
    if (payload && payload.detail) return payload.detail;
    if (payload && typeof payload === "object") {
      return Object.entries(payload).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`).join("; ");
    }
    return `HTTP ${status}`;
  }

  async function pump() {
    if (inFlight || retryTimer || pending.size === 0) return;
    const [index, value] = pending.entries().next().value;
    inFlight = true;
    renderSaveStatus();
    const url = `${data.urls.labels}${index}/`;
    let result;
    try {
      result = value === null
        ? await request("DELETE", url)
        : await request("PUT", url, { category: value.category, rationale: value.rationale || "", is_unsure: !!value.isUnsure });
    } catch (e) {
      result = { status: 0, ok: false, payload: { detail: "network error" } };
    }
    inFlight = false;
    const stillSame = JSON.stringify(pending.get(index)) === JSON.stringify(value);
    if (result.ok) {
      failures = 0;
      lastError = "";
      if (stillSame) pending.delete(index);
      // Clear only a save error: a completeness hint from submit stays until acted on.
      if (stepEls[index] && stepEls[index].dataset.problemKind === "save") setStepProblem(Number(index), "");
      persistPending();
      renderSaveStatus();
      pump();
      return;
    }
    // 401/403 (session expired, CSRF) heal after logging in again in another tab: keep retrying.
    const permanent = [400, 404, 409, 413, 422].includes(result.status);
    lastError = describe(result.payload, result.status);
    if (permanent) {
      // Retrying cannot help (refused by the server): keep it visible on the step, not dropped.
      if (stillSame) pending.delete(index);
      persistPending();
      setStepProblem(Number(index), `Not saved: ${lastError}`, "save");
      renderSaveStatus(`not saved: ${lastError}`);
      pump();
      return;
    }
    failures += 1;
    const delay = Math.min(30000, 1000 * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4);
    renderSaveStatus();
    retryTimer = setTimeout(() => { retryTimer = null; pump(); }, delay);
  }

  function flush(timeoutMs) {
    // Resolve when every pending save is stored, or false after timeoutMs.
    const started = Date.now();
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; pump(); }
    return new Promise((resolve) => {
      (function check() {
        if (pending.size === 0 && !inFlight) return resolve(true);
        if (Date.now() - started > timeoutMs) return resolve(false);
        setTimeout(check, 50);
      })();
    });
  }

  const saveStatus = $('[data-testid="save-status"]');
  function renderSaveStatus(override) {
    let state = "saved";
    let text = "saved ✓";
    if (override) { state = "failed"; text = override; }
    else if (failures > 0 && pending.size) { state = "failed"; text = `save failed, retrying (${pending.size} waiting) · ${lastError}`; }
    else if (pending.size || inFlight) { state = "saving"; text = "saving…"; }
    saveStatus.dataset.state = state;
    saveStatus.textContent = text;
  }

  window.addEventListener("beforeunload", (event) => {
    if (pending.size || inFlight) { event.preventDefault(); event.returnValue = ""; }
  });

  /* ---------- state helpers ---------- */
  function firstErrorIndex() {
    if (!data.isFirstErrorMode) return null;
    for (let i = 0; i < data.stepCount; i += 1) {
      const l = labels[i];
      if (l && byKey.get(l.category) && byKey.get(l.category).polarity < 0) return i;
    }
    return null;
  }

  function completeness() {
    const fe = firstErrorIndex();
    const last = fe === null ? data.stepCount - 1 : fe;
    const missingSteps = [];
    const missingRationales = [];
    for (let i = 0; i <= last; i += 1) {
      const l = labels[i];
      if (!l) missingSteps.push(i);
      else if (byKey.get(l.category).rationaleRequired && !(l.rationale || "").trim()) missingRationales.push(i);
    }
    return { missingSteps, missingRationales, firstError: fe, needed: last + 1 };
  }

  function topKey(categoryKey) {
    const c = byKey.get(categoryKey);
    return c && c.parent ? c.parent : categoryKey;
  }

  /* ---------- rendering ---------- */
  function renderStep(i) {
    const el = stepEls[i];
    const l = labels[i];
    const c = l ? byKey.get(l.category) : null;
    el.classList.remove("pol1", "pol0", "pol-1", "is-labeled", "is-unsure");
    if (c) el.classList.add(`pol${c.polarity}`, "is-labeled");
    if (l && l.isUnsure) el.classList.add("is-unsure");
    const top = l ? topKey(l.category) : null;
    el.querySelectorAll(".choice").forEach((b) => {
      const on = l && (b.dataset.category === l.category || b.dataset.category === top);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    el.querySelectorAll(".subchoices").forEach((g) => { g.hidden = g.dataset.parent !== top; });
    $('[data-action="unsure"]', el).setAttribute("aria-pressed", l && l.isUnsure ? "true" : "false");
    const box = $(".rationale", el);
    const textarea = $("textarea", box);
    const needsRationale = !!(c && c.rationaleRequired);
    $(".req", box).hidden = !needsRationale;
    const text = l ? l.rationale || "" : drafts[i] || "";
    if (document.activeElement !== textarea) textarea.value = text;
    if (text || needsRationale) box.hidden = false;
    const summary = $(".step-summary", el);
    if (c) {
      const parent = c.parent ? byKey.get(c.parent) : null;
      summary.textContent = `${ICON[c.polarity]} ${parent ? parent.name + " · " : ""}${c.name}${l.isUnsure ? " · ⚑ unsure" : ""}`;
      summary.dataset.polarity = POLARITY_WORD[c.polarity];
    } else {
      summary.textContent = "";
      delete summary.dataset.polarity;
    }
  }

  function renderAll() {
    for (let i = 0; i < stepEls.length; i += 1) renderStep(i);
    renderFirstError();
    renderProgress();
  }

  function renderFirstError() {
    const fe = firstErrorIndex();
    stepEls.forEach((el, i) => el.classList.toggle("after-error", fe !== null && i > fe));
  }

  const progressEl = $('[data-testid="progress"]');
  function renderProgress() {
    const { missingSteps, firstError, needed } = completeness();
    const done = needed - missingSteps.length;
    progressEl.textContent = `${done}/${needed} steps labeled` + (firstError !== null ? ` · first error at step ${firstError + 1}` : "");
    progressEl.dataset.complete = missingSteps.length === 0 ? "true" : "false";
  }

  function setStepProblem(i, text, kind) {
    const el = stepEls[i];
    if (!el) return;
    $(".step-problem", el).textContent = text;
    el.dataset.problemKind = text ? kind || "check" : "";
    el.classList.toggle("has-problem", !!text);
  }

  const messageEl = $('[data-testid="submit-message"]');
  function say(text, kind) {
    messageEl.textContent = text;
    messageEl.dataset.kind = kind || "info";
  }

  /* ---------- focus ---------- */
  function focusStep(i, opts) {
    if (!stepEls.length) return;
    current = Math.max(0, Math.min(stepEls.length - 1, i));
    stepEls.forEach((el, j) => el.classList.toggle("current", j === current));
    const el = stepEls[current];
    el.focus({ preventScroll: true });
    scrollToStep(el, !!(opts && opts.center));
  }

  const mainEl = $(".ws-main");
  function scrollToStep(el, center) {
    // On wide screens only the steps column scrolls; scrollIntoView would also nudge the page.
    if (getComputedStyle(mainEl).overflowY !== "auto") {
      el.scrollIntoView({ block: center ? "center" : "nearest" });
      return;
    }
    const r = el.getBoundingClientRect();
    const m = mainEl.getBoundingClientRect();
    const margin = 12;
    if (center || r.height > m.height) mainEl.scrollTop += r.top - m.top - Math.max(margin, (m.height - r.height) / 2);
    else if (r.top < m.top + margin) mainEl.scrollTop += r.top - m.top - margin;
    else if (r.bottom > m.bottom - margin) mainEl.scrollTop += r.bottom - m.bottom + margin;
  }

  /* ---------- actions ---------- */
  function editable() { return data.isEditable; }

  function change(i, next) {
    if (!editable()) return;
    const before = labels[i] ? { ...labels[i] } : null;
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    undoStack.push({ index: i, before });
    if (next) labels[i] = next;
    else delete labels[i];
    setStepProblem(i, "");
    renderStep(i);
    renderFirstError();
    renderProgress();
    enqueue(i);
  }

  function label(i, categoryKey) {
    const c = byKey.get(categoryKey);
    const fe = firstErrorIndex();
    if (fe !== null && i > fe) { say(`Step ${i + 1} is after the first error (step ${fe + 1}): no label needed.`); return; }
    const prev = labels[i];
    const rationale = prev ? prev.rationale || "" : drafts[i] || "";
    change(i, { category: categoryKey, rationale, isUnsure: prev ? !!prev.isUnsure : false });
    delete drafts[i];
    say("");
    const hasChildren = data.categories.some((x) => x.parent === categoryKey);
    if (c.rationaleRequired && !rationale.trim()) { openRationale(i); return; }
    if (hasChildren) return; // stay: the kinds of this category are offered right under it
    if (data.isFirstErrorMode && c.polarity < 0) { say("First error marked: later steps need no label. ctrl+⏎ submits.", "info"); return; }
    if (i < stepEls.length - 1) focusStep(i + 1);
  }

  function toggleUnsure(i) {
    const l = labels[i];
    if (!l) { setStepProblem(i, "Label the step first, then mark it unsure."); return; }
    change(i, { ...l, isUnsure: !l.isUnsure });
  }

  function openRationale(i) {
    const el = stepEls[i];
    const box = $(".rationale", el);
    box.hidden = false;
    focusStep(i);
    const textarea = $("textarea", box);
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  }

  const rationaleTimers = {};
  function rationaleInput(i, value, immediate) {
    clearTimeout(rationaleTimers[i]);
    const commit = () => {
      const l = labels[i];
      if (!l) { drafts[i] = value; return; }
      if ((l.rationale || "") === value) return;
      change(i, { ...l, rationale: value });
    };
    if (immediate) commit();
    else rationaleTimers[i] = setTimeout(commit, 500);
  }

  function undo() {
    const last = undoStack.pop();
    if (!last) { say("Nothing to undo."); return; }
    const { index, before } = last;
    if (before) labels[index] = before;
    else delete labels[index];
    renderStep(index);
    renderFirstError();
    renderProgress();
    enqueue(index);
    focusStep(index);
    say(`Undone on step ${index + 1}.`);
  }

  function pointAt(missingSteps, missingRationales) {
    stepEls.forEach((_, i) => setStepProblem(i, ""));
    missingSteps.forEach((i) => setStepProblem(i, "Needs a label."));
    missingRationales.forEach((i) => setStepProblem(i, "Needs a rationale for this category."));
    const parts = [];
    if (missingSteps.length) parts.push(`label step${missingSteps.length > 1 ? "s" : ""} ${missingSteps.map((i) => i + 1).join(", ")}`);
    if (missingRationales.length) parts.push(`add a rationale to step${missingRationales.length > 1 ? "s" : ""} ${missingRationales.map((i) => i + 1).join(", ")}`);
    say(`Not yet: ${parts.join("; ")}.`, "error");
    const first = Math.min(...missingSteps.concat(missingRationales));
    if (missingSteps.includes(first)) focusStep(first, { center: true });
    else openRationale(first);
  }

  let submitting = false;
  async function submit() {
    if (!editable() || submitting) return;
    for (const i of Object.keys(rationaleTimers)) clearTimeout(rationaleTimers[i]);
    stepEls.forEach((el, i) => { const t = $("textarea", el); if (labels[i] && t.value !== (labels[i].rationale || "")) rationaleInput(i, t.value, true); });
    const check = completeness();
    if (check.missingSteps.length || check.missingRationales.length) { pointAt(check.missingSteps, check.missingRationales); return; }
    submitting = true;
    say("Saving and submitting…");
    const saved = await flush(15000);
    if (!saved) { submitting = false; say("Some labels are not saved yet (see the status); submit again once they are.", "error"); return; }
    let result;
    try {
      result = await request("POST", data.urls.submit, { seconds: takeActiveSeconds() });
    } catch (e) {
      submitting = false;
      say("Network error while submitting: nothing lost, press ctrl+⏎ again.", "error");
      return;
    }
    if (!result.ok) {
      submitting = false;
      if (result.payload && result.payload.code === "submission_incomplete") {
        pointAt(result.payload.missing_steps || [], result.payload.missing_rationales || []);
      } else say(`Not submitted: ${describe(result.payload, result.status)}`, "error");
      return;
    }
    data.isEditable = false;
    localStorage.removeItem(PENDING_KEY);
    say("Submitted ✓ — opening the next trace…", "ok");
    nextTrace();
  }

  function nextTrace() {
    const form = document.createElement("form");
    form.method = "post";
    form.action = data.urls.start;
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
  }

  /* ---------- skip dialog ---------- */
  const skipDialog = $('[data-testid="skip-dialog"]');
  const skipForm = $('[data-testid="skip-form"]');
  const skipError = $('[data-testid="skip-error"]');
  const skipNote = skipForm.elements.note;
  function skipProblem(text, field) {
    // Say what is wrong and put the cursor where it can be fixed.
    skipError.textContent = text;
    if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
  }
  skipNote.setAttribute("aria-describedby", "skip-error");
  skipNote.addEventListener("input", () => { skipNote.removeAttribute("aria-invalid"); skipError.textContent = ""; });
  function openSkip() {
    if (!editable()) return;
    skipError.textContent = "";
    skipNote.removeAttribute("aria-invalid");
    skipDialog.showModal();
    $('input[name="reason"]:checked', skipForm).focus();
  }
  skipForm.addEventListener("keydown", (e) => {
    if (e.target.tagName === "TEXTAREA") return;
    const n = Number(e.key);
    const radios = skipForm.querySelectorAll('input[name="reason"]');
    if (n >= 1 && n <= radios.length) { radios[n - 1].checked = true; radios[n - 1].focus(); e.preventDefault(); }
  });
  $('[data-testid="skip-cancel"]').addEventListener("click", () => skipDialog.close());
  skipForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const reason = $('input[name="reason"]:checked', skipForm).value;
    const noteEl = skipForm.elements.note;
    const note = noteEl.value;
    if (reason === "other" && !note.trim()) { skipProblem("Write a note: say why you skip when the reason is “other”.", noteEl); return; }
    let result;
    try { result = await request("POST", data.urls.skip, { reason, note }); } catch (err) { result = { ok: false, status: 0, payload: { detail: "network error, try again" } }; }
    if (!result.ok) { skipProblem(describe(result.payload, result.status), result.payload && result.payload.note ? noteEl : null); return; }
    pending.clear();
    data.isEditable = false;
    localStorage.removeItem(PENDING_KEY);
    skipDialog.close();
    say("Skipped — opening the next trace…", "ok");
    nextTrace();
  });
  $('[data-testid="skip-button"]').addEventListener("click", openSkip);

  /* ---------- help + guidelines ---------- */
  const help = $('[data-testid="help-overlay"]');
  function toggleHelp() { if (help.open) help.close(); else help.showModal(); }
  $('[data-testid="help-button"]').addEventListener("click", toggleHelp);
  const guidelinesButton = $('[data-testid="toggle-guidelines"]');
  const guidelines = $('[data-testid="guidelines"]');
  const GUIDE_KEY = "prm-ws-guidelines-hidden";
  function setGuidelines(hidden) {
    guidelines.hidden = hidden;
    guidelinesButton.setAttribute("aria-expanded", hidden ? "false" : "true");
    try { localStorage.setItem(GUIDE_KEY, hidden ? "1" : "0"); } catch (e) { /* fine */ }
  }
  guidelinesButton.addEventListener("click", () => setGuidelines(!guidelines.hidden));
  try { if (localStorage.getItem(GUIDE_KEY) === "1" || window.innerWidth < 700) setGuidelines(true); } catch (e) { /* fine */ }

  /* ---------- time: count only while the page is visible ---------- */
  const timerEl = $('[data-testid="timer"]');
  // A submitted or skipped trace is read only: its clock shows the recorded time and stops.
  let activeSince = data.isEditable && document.visibilityState === "visible" ? Date.now() : null;
  let unsent = 0;
  let total = data.secondsSpent || 0;
  function takeActiveSeconds() {
    if (activeSince !== null) { unsent += (Date.now() - activeSince) / 1000; activeSince = Date.now(); }
    const s = unsent;
    unsent = 0;
    total += s;
    return s;
  }
  function shownSeconds() { return total + unsent + (activeSince !== null ? (Date.now() - activeSince) / 1000 : 0); }
  function renderTimer() {
    const s = Math.floor(shownSeconds());
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    timerEl.textContent = h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  function heartbeat() {
    if (!editable()) return;
    const seconds = takeActiveSeconds();
    if (seconds < 1) { unsent += seconds; total -= seconds; return; }
    request("POST", data.urls.heartbeat, { seconds }).then((r) => { if (!r.ok) { unsent += seconds; total -= seconds; } })
      .catch(() => { unsent += seconds; total -= seconds; });
  }
  document.addEventListener("visibilitychange", () => {
    if (!editable()) return;
    if (document.visibilityState === "visible") activeSince = Date.now();
    else { heartbeat(); activeSince = null; }
  });
  window.addEventListener("pagehide", heartbeat); // a reload or navigation keeps the time
  setInterval(renderTimer, 1000);
  setInterval(heartbeat, 30000);
  renderTimer();

  /* ---------- mouse ---------- */
  stepEls.forEach((el, i) => {
    el.addEventListener("click", (e) => {
      if (e.target.closest("textarea")) return;
      const button = e.target.closest("button");
      if (!button) { if (!window.getSelection().toString()) focusStep(i); return; }
      current = i;
      stepEls.forEach((s, j) => s.classList.toggle("current", j === i));
      if (button.dataset.category) label(i, button.dataset.category);
      else if (button.dataset.action === "unsure") toggleUnsure(i);
      else if (button.dataset.action === "rationale") openRationale(i);
    });
    const textarea = $("textarea", el);
    textarea.addEventListener("input", () => rationaleInput(i, textarea.value, false));
    textarea.addEventListener("blur", () => rationaleInput(i, textarea.value, true));
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); rationaleInput(i, textarea.value, true); focusStep(i); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); rationaleInput(i, textarea.value, true); submit(); }
      e.stopPropagation();
    });
    if (!editable()) el.querySelectorAll("button, textarea").forEach((b) => { b.disabled = true; });
  });
  $('[data-testid="submit"]').addEventListener("click", submit);

  /* ---------- keyboard ---------- */
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented) return;
    const target = e.target;
    if (target.closest && target.closest("dialog")) return; // dialogs handle their own keys
    if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    switch (key) {
      case "j": case "ArrowDown": e.preventDefault(); focusStep(current + 1); return;
      case "k": case "ArrowUp": e.preventDefault(); focusStep(current - 1); return;
      case "f": e.preventDefault(); toggleUnsure(current); return;
      case "r": e.preventDefault(); if (editable()) openRationale(current); return;
      case "u": e.preventDefault(); undo(); return;
      case "s": e.preventDefault(); openSkip(); return;
      case "g": e.preventDefault(); setGuidelines(!guidelines.hidden); return;
      case "?": e.preventDefault(); toggleHelp(); return;
      default: break;
    }
    if (!RESERVED.has(key) && byHotkey.has(key)) {
      e.preventDefault();
      if (!editable()) return;
      label(current, byHotkey.get(key).key);
    }
  });

  /* ---------- start ---------- */
  restorePending();
  renderAll();
  renderSaveStatus();
  pump();
  const firstOpen = stepEls.findIndex((_, i) => !labels[i]);
  focusStep(firstOpen === -1 ? 0 : firstOpen, { center: firstOpen > 2 });
  window.prmWorkspace = { labels, pending, flush }; // for tests and debugging
  document.body.dataset.workspaceReady = "true";
})();

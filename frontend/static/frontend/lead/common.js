/* Shared helpers of the lead pages: API calls with the CSRF token, DOM building, toasts. */
"use strict";
const Lead = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, url, body) {
    const opts = { method, headers: { "X-CSRFToken": csrf(), Accept: "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    let res;
    try { res = await fetch(url, opts); } catch (e) { return { ok: false, status: 0, data: { detail: "Network error: " + e.message } }; }
    let data = null;
    if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = { detail: res.statusText }; } }
    return { ok: res.ok, status: res.status, data };
  }

  /* el("div", {class: "x", dataset: {testid: "y"}, onclick: f}, "text", child) — text is never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "value") node.value = v;
      else if (k === "checked") node.checked = !!v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /* The page's elements by id, under the names given: byIds({ form: "settings-form" }).form. */
  function byIds(names) {
    return Object.fromEntries(Object.entries(names).map(([name, id]) => [name, document.getElementById(id)]));
  }

  let toastTimer = null;
  function toast(message, kind) {
    const t = document.getElementById("toast");
    t.textContent = message;
    t.className = "toast " + (kind || "ok");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, kind === "error" ? 6000 : 2500);
  }

  function errorText(data) {
    if (!data) return "Something went wrong.";
    if (typeof data.detail === "string") return data.detail;
    return Object.entries(data).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : JSON.stringify(v)}`).join("; ");
  }

  /* A form's API error in its [data-error] box, with the first field it names marked invalid. */
  function showFormError(form, res) {
    clearFormError(form);
    form.querySelector("[data-error]").textContent = errorText(res.data);
    const names = res.data ? [res.data.field, ...Object.keys(res.data)] : [];
    for (const n of names) if (n && form.elements[n] && form.elements[n].classList) { form.elements[n].classList.add("invalid"); break; }
  }

  function clearFormError(form) {
    form.querySelector("[data-error]").textContent = "";
    form.querySelectorAll(".invalid").forEach(x => x.classList.remove("invalid"));
  }

  /* A time as the server's templates write it with Django's date "j M H:i" ("27 Nov 01:35"),
     in the server's time zone (the page passes it), so a value set from the keyboard reads
     the same as after a reload. */
  function shortTime(iso, timeZone) {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-US", { timeZone: timeZone || "UTC", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    for (const p of format.formatToParts(new Date(iso))) parts[p.type] = p.value;
    return `${Number(parts.day)} ${parts.month} ${parts.hour.padStart(2, "0")}:${parts.minute.padStart(2, "0")}`;
  }

  const POLARITY = { "1": { icon: "✓", word: "positive" }, "0": { icon: "~", word: "neutral" }, "-1": { icon: "✗", word: "negative" } };

  return { api, el, byIds, toast, errorText, showFormError, clearFormError, shortTime, POLARITY };
})();

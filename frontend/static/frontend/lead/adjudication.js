/* Adjudication: keyboard navigation of the list, and gold labels set from the keyboard. */
"use strict";
(() => {
  const { api, el, toast, errorText, shortTime, POLARITY } = Lead;
  const typing = e => /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable;

  /* ---- list ---- */
  const list = document.getElementById("adjudication-list");
  if (list) {
    const rows = [...document.querySelectorAll("[data-testid=disputed-row]")];
    let at = -1;
    const focus = i => { if (!rows.length) return; at = Math.max(0, Math.min(rows.length - 1, i)); rows.forEach((r, j) => r.classList.toggle("focused", j === at)); rows[at].focus({ preventScroll: false }); };
    document.addEventListener("keydown", e => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); focus(at + 1); }
      else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); focus(at - 1); }
      else if (e.key === "Enter" && at >= 0) { rows[at].querySelector("a.trace-link").click(); }
    });
    const bulk = document.querySelector("[data-testid=bulk-unanimous]");
    bulk.addEventListener("click", async () => {
      const n = document.querySelector("[data-testid=unanimous-count]").textContent.trim();
      if (!confirm(`Make gold of ${n} unanimous step(s)? Each is recorded as “unanimous”, decided by you.`)) return;
      bulk.disabled = true;
      const res = await api("POST", list.dataset.unanimousApi);
      if (!res.ok) { bulk.disabled = false; return toast(errorText(res.data), "error"); }
      sessionStorage.setItem("lead-toast", `${res.data.created} unanimous step(s) are now gold`);
      location.reload();
    });
    const pending = sessionStorage.getItem("lead-toast");
    if (pending) { sessionStorage.removeItem("lead-toast"); toast(pending); }
    return;
  }

  /* ---- one trace ---- */
  const root = document.getElementById("adjudication-trace");
  if (!root) return;
  const categories = JSON.parse(document.getElementById("gold-categories").textContent);
  const byHotkey = new Map(categories.filter(c => c.hotkey).map(c => [c.hotkey.toLowerCase(), c]));
  const byKey = new Map(categories.map(c => [c.key, c]));
  const rows = [...document.querySelectorAll("[data-testid=step-row]")];
  const goldUrl = index => root.dataset.goldApi.replace(/\/steps\/0\/gold\/$/, `/steps/${index}/gold/`);
  const isOpen = r => r.dataset.disputed === "1" && !r.classList.contains("has-gold");
  let at = 0;
  let busy = false;

  function focus(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.classList.toggle("focused", j === at));
    rows[at].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  function nextOpen(from) {
    for (let k = 1; k <= rows.length; k++) { const j = (from + k) % rows.length; if (isOpen(rows[j])) return j; }
    return -1;
  }
  function updateOpenCount() {
    document.getElementById("open-count").textContent = rows.filter(isOpen).length;
  }

  function paintGold(row, gold) {
    const cell = row.querySelector("[data-testid=gold-cell]");
    if (!gold) {
      row.classList.remove("has-gold");
      cell.replaceChildren(el("span", { class: "muted small" }, row.dataset.disputed === "1" ? "needs a decision" : "—"));
      return;
    }
    const c = byKey.get(gold.category) || { name: gold.category, colour: "#888" };
    row.classList.add("has-gold");
    const how = { lead: "Lead decision", majority: "Majority", unanimous: "Unanimous", qc: "Quality-control key" }[gold.method] || gold.method;
    const when = shortTime(gold.decided_at, root.dataset.timeZone);
    cell.replaceChildren(
      el("span", { class: "chip gold just-set", style: `--c:${c.colour}` }, el("span", { class: "dot", style: `background:${c.colour}` }), c.name),
      el("div", { class: "muted small" }, `${how} · ${gold.decided_by || "?"} · ${when}`));
  }

  async function setGold(category, method) {
    if (busy || !rows.length) return;
    const row = rows[at];
    busy = true;
    const res = await api("PUT", goldUrl(row.dataset.index), { category: category.key, method });
    busy = false;
    if (!res.ok) return toast(errorText(res.data), "error");
    paintGold(row, res.data);
    updateOpenCount();
    toast(`Step ${Number(row.dataset.index) + 1}: gold = ${category.name}`);
    const j = nextOpen(at);
    if (j >= 0) focus(j);
    else if (root.dataset.nextUrl) toast("Trace done: press ] for the next disputed trace");
    else toast("All disputes on this trace are decided");
  }

  async function clearGold() {
    const row = rows[at];
    if (!row.classList.contains("has-gold")) return;
    const res = await api("DELETE", goldUrl(row.dataset.index));
    if (!res.ok) return toast(errorText(res.data), "error");
    paintGold(row, null);
    updateOpenCount();
    toast(`Step ${Number(row.dataset.index) + 1}: gold cleared`);
  }

  document.addEventListener("keydown", e => {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key;
    if (key === "j" || key === "ArrowDown") { e.preventDefault(); focus(at + 1); }
    else if (key === "k" || key === "ArrowUp") { e.preventDefault(); focus(at - 1); }
    else if (key === "n") { const j = nextOpen(at); if (j >= 0) focus(j); }
    else if (key === "]") { if (root.dataset.nextUrl) location.href = root.dataset.nextUrl; else toast("No further disputed trace"); }
    else if (key === "[") { if (root.dataset.previousUrl) location.href = root.dataset.previousUrl; }
    else if (key === "m") {
      const maj = rows[at] && rows[at].dataset.majority;
      if (maj && byKey.has(maj)) setGold(byKey.get(maj), "majority");
      else toast("This step has no majority label", "error");
    } else if (key === "Backspace" || key === "Delete") { e.preventDefault(); clearGold(); }
    else if (byHotkey.has(key.toLowerCase())) { e.preventDefault(); setGold(byHotkey.get(key.toLowerCase()), "lead"); }
  });
  rows.forEach((r, i) => r.addEventListener("click", () => focus(i)));
  const first = rows.findIndex(isOpen);
  focus(first >= 0 ? first : 0);
  void POLARITY;
})();

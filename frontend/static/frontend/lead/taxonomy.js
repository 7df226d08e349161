/* Taxonomy designer: edit categories, preview the palette, save a draft, publish with a mapping. */
"use strict";
(() => {
  const { api, el, toast, errorText, POLARITY } = Lead;
  const root = document.getElementById("taxonomy-app");
  const RESERVED = new Set(["j", "k", "f", "r", "u", "?"]);
  let state = { current: null, draft: null, versions: [] };
  let cats = [];
  let serverErrors = [];
  let dirty = false;

  const blank = () => ({ key: "", name: "", description: "", polarity: -1, hotkey: "", colour: "#6e7781", parent: null, is_rationale_required: false });

  function localErrors() {
    const errs = [];
    const keys = new Map(), hotkeys = new Map();
    cats.forEach((c, i) => {
      if (!/^[a-z0-9][a-z0-9_-]{0,49}$/.test(c.key)) errs.push({ index: i, field: "key", message: "Use lower-case letters, digits, - or _." });
      else if (keys.has(c.key)) errs.push({ index: i, field: "key", message: `Key already used by category ${keys.get(c.key) + 1}.` });
      else keys.set(c.key, i);
      if (!c.name.trim()) errs.push({ index: i, field: "name", message: "A name is required." });
      const h = (c.hotkey || "").toLowerCase();
      if (h) {
        if (RESERVED.has(h)) errs.push({ index: i, field: "hotkey", message: `“${c.hotkey}” is reserved by the workspace.` });
        else if (hotkeys.has(h)) errs.push({ index: i, field: "hotkey", message: `Clashes with category ${hotkeys.get(h) + 1}.` });
        else hotkeys.set(h, i);
      }
      if (c.parent) {
        const p = cats.findIndex(x => x.key === c.parent);
        if (p < 0 || p >= i) errs.push({ index: i, field: "parent", message: "The parent must come earlier." });
        else if (cats[p].polarity !== c.polarity) errs.push({ index: i, field: "polarity", message: "A child has its parent's polarity." });
      }
    });
    return errs;
  }

  function payload() {
    return cats.map(c => ({ ...c, parent: c.parent || null, polarity: Number(c.polarity) }));
  }

  function change(i, field, value) {
    cats[i][field] = value;
    if (field === "parent" && value) {
      const p = cats.find(x => x.key === value);
      if (p) { cats[i].polarity = p.polarity; cats[i].colour = cats[i].colour || p.colour; }
    }
    if (field === "polarity") cats.forEach(c => { if (c.parent === cats[i].key) c.polarity = value; });
    dirty = true; serverErrors = [];
    render();
  }

  function parentOptions(i) {
    const c = cats[i];
    return [el("option", { value: "" }, "— top level —"),
      ...cats.slice(0, i).filter(p => p.key && !p.parent).map(p => el("option", { value: p.key, selected: c.parent === p.key ? "selected" : null }, p.name || p.key))];
  }

  /* Rename in place: children follow, parent pickers refresh, nothing focused is rebuilt. */
  function renameKey(i, value) {
    const old = cats[i].key;
    cats[i].key = value;
    cats.forEach(c => { if (old && c.parent === old) c.parent = value; });
    document.querySelectorAll(".cat-row").forEach(row => {
      const j = Number(row.dataset.index);
      const select = row.querySelector('select[data-field="parent"]');
      if (select && j !== i) select.replaceChildren(...parentOptions(j));
    });
    dirty = true; renderSide(); renderErrorsOnly();
  }

  function move(i, delta) {
    const j = i + delta;
    if (j < 0 || j >= cats.length) return;
    [cats[i], cats[j]] = [cats[j], cats[i]];
    dirty = true; serverErrors = [];
    render();
  }

  function field(i, name, labelText, input, errs) {
    const mine = errs.filter(e => e.index === i && e.field === name);
    if (mine.length) input.classList.add("invalid");
    input.dataset.field = name;
    return el("label", {}, labelText, input);
  }

  function renderRow(c, i, errs) {
    const onInput = name => e => { cats[i][name] = e.target.type === "checkbox" ? e.target.checked : e.target.value; dirty = true; renderSide(); renderErrorsOnly(); };
    const polarity = el("select", { onchange: e => change(i, "polarity", Number(e.target.value)), disabled: !!c.parent, "aria-label": "Polarity" },
      ...[1, 0, -1].map(v => el("option", { value: String(v), selected: c.polarity === v ? "selected" : null }, `${POLARITY[v].icon} ${POLARITY[v].word}`)));
    const parent = el("select", { onchange: e => change(i, "parent", e.target.value || null) }, ...parentOptions(i));
    const mine = errs.filter(e => e.index === i);
    const row = el("div", { class: "cat-row" + (c.parent ? " child" : ""), dataset: { testid: "category-row", index: String(i) }, style: `--swatch:${c.colour}` },
      el("div", { class: "line" },
        field(i, "colour", "Colour", el("input", { type: "color", value: c.colour, oninput: e => { cats[i].colour = e.target.value; row.style.setProperty("--swatch", e.target.value); dirty = true; renderSide(); } }), errs),
        field(i, "key", "Key", el("input", { value: c.key, placeholder: "calculation_error", dataset: { testid: "cat-key" }, oninput: e => renameKey(i, e.target.value) }), errs),
        field(i, "name", "Name", el("input", { value: c.name, placeholder: "Calculation error", dataset: { testid: "cat-name" }, oninput: onInput("name") }), errs),
        field(i, "polarity", "Polarity", polarity, errs),
        field(i, "hotkey", "Hotkey", el("input", { class: "hotkey", value: c.hotkey, maxlength: "1", dataset: { testid: "cat-hotkey" }, oninput: onInput("hotkey") }), errs),
        el("div", { class: "moves" },
          el("button", { type: "button", class: "icon", title: "Move up", "aria-label": "Move up", disabled: i === 0, onclick: () => move(i, -1) }, "↑"),
          el("button", { type: "button", class: "icon", title: "Move down", "aria-label": "Move down", disabled: i === cats.length - 1, onclick: () => move(i, 1) }, "↓"),
          el("button", { type: "button", class: "icon danger", title: "Remove", "aria-label": "Remove", dataset: { testid: "cat-remove" }, onclick: () => { const k = cats[i].key; cats.splice(i, 1); cats.forEach(x => { if (x.parent === k) x.parent = null; }); dirty = true; render(); } }, "✕"))),
      el("div", { class: "line2" },
        field(i, "parent", "Parent", parent, errs),
        field(i, "description", "Description shown to annotators", el("textarea", { rows: "1", placeholder: "When to use this category…", oninput: onInput("description") }, c.description), errs),
        el("label", { class: "checkbox" }, el("input", { type: "checkbox", checked: c.is_rationale_required, dataset: { testid: "cat-rationale" }, onchange: onInput("is_rationale_required") }), "Rationale required")),
      el("div", { class: "errs" }, ...mine.map(e => el("div", { class: "field-error", dataset: { testid: "field-error" } }, `${e.field}: ${e.message}`))));
    return row;
  }

  function renderErrorsOnly() {
    const errs = [...serverErrors, ...localErrors()];
    document.querySelectorAll(".cat-row").forEach(row => {
      const i = Number(row.dataset.index);
      row.querySelectorAll("[data-field]").forEach(inp => inp.classList.toggle("invalid", errs.some(e => e.index === i && e.field === inp.dataset.field)));
      const box = row.querySelector(".errs");
      box.replaceChildren(...errs.filter(e => e.index === i).map(e => el("div", { class: "field-error", dataset: { testid: "field-error" } }, `${e.field}: ${e.message}`)));
    });
    document.getElementById("publish").disabled = localErrors().length > 0;
    document.getElementById("save-draft").disabled = localErrors().length > 0;
  }

  function renderSide() {
    const preview = document.getElementById("preview");
    preview.replaceChildren(...cats.map(c => el("div", { class: "palette-item" + (c.parent ? " child" : ""), dataset: { testid: "preview-item" } },
      c.hotkey ? el("kbd", {}, c.hotkey) : el("kbd", { style: "visibility:hidden" }, "·"),
      el("span", { class: "ico", style: `background:${c.colour}` }, POLARITY[c.polarity] ? POLARITY[c.polarity].icon : "?"),
      el("div", {}, el("div", { class: "nm" }, c.name || c.key || "(unnamed)", " ", c.is_rationale_required ? el("span", { class: "req" }, "rationale") : null),
        c.description ? el("div", { class: "ds" }, c.description) : null))));
    document.getElementById("preview-chips").replaceChildren(...cats.filter(c => !c.parent).map(c =>
      el("span", { class: "chip" }, el("span", { class: "dot", style: `background:${c.colour}` }), POLARITY[c.polarity] ? POLARITY[c.polarity].icon : "", " ", c.name || c.key)));
  }

  function render() {
    const errs = [...serverErrors, ...localErrors()];
    document.getElementById("cat-list").replaceChildren(...cats.map((c, i) => renderRow(c, i, errs)));
    renderSide();
    renderErrorsOnly();
    const what = document.getElementById("editing-what");
    const next = (state.versions[0] ? state.versions[0].number : 0) + 1;
    if (state.draft || dirty) { what.textContent = `draft of v${next}${dirty ? " · unsaved" : ""}`; what.className = "pill draft-flag"; }
    else { what.textContent = `v${state.current.number} · published`; what.className = "pill green"; }
    document.getElementById("publish").textContent = `Publish v${next}`;
    document.getElementById("discard-draft").hidden = !state.draft;
    const versions = document.getElementById("versions");
    versions.replaceChildren(...state.versions.map(v => el("li", {},
      el("span", {}, el("strong", {}, `v${v.number}`), " ", v.number === state.current.number ? el("span", { class: "pill green" }, "current") : null, " ", el("span", { class: "muted" }, v.notes || "")),
      el("span", { class: "muted" }, `${v.category_count} categories · ${v.published_by || "system"} · ${new Date(v.published_at).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" })}`))));
    if (!state.versions.length) versions.replaceChildren(el("li", { class: "muted" }, "Nothing published yet."));
  }

  function load(data) {
    state = data;
    cats = (data.draft ? data.draft.categories : data.current.categories).map(c => ({ ...c, parent: c.parent || null }));
    dirty = false; serverErrors = [];
    document.getElementById("mapping").hidden = true;
    render();
  }

  function showServerError(res) {
    serverErrors = (res.data && res.data.errors || []).filter(e => e.index !== undefined && e.index !== null);
    const box = document.getElementById("form-errors");
    const list = (res.data && res.data.errors) || [];
    box.replaceChildren(el("div", { class: "errors-box", dataset: { testid: "form-errors" } },
      el("h3", {}, errorText(res.data)),
      list.length ? el("ul", {}, ...list.map(e => el("li", {}, e.index !== undefined && e.index !== null ? `Category ${e.index + 1}, ${e.field}: ${e.message}` : `${e.field}: ${e.message}`))) : null));
    render();
    toast("Not saved: " + errorText(res.data), "error");
  }

  async function saveDraft() {
    const res = await api("PUT", root.dataset.draftApi, { categories: payload() });
    if (!res.ok) return showServerError(res);
    document.getElementById("form-errors").replaceChildren();
    load(res.data);
    toast("Draft saved");
  }

  function mappingPanel() {
    const panel = document.getElementById("mapping");
    const newKeys = cats.map(c => c.key);
    const rows = state.current.categories.map(old => {
      const select = el("select", { dataset: { testid: "mapping-select", from: old.key }, "aria-label": `New category for ${old.key}`, onchange: e => e.target.classList.remove("invalid") },
        el("option", { value: "" }, "— choose —"),
        ...cats.map(c => el("option", { value: c.key, selected: c.key === old.key ? "selected" : null }, `${POLARITY[c.polarity].icon} ${c.name} (${c.key})`)));
      return [el("span", {}, el("span", { class: "chip" }, el("span", { class: "dot", style: `background:${old.colour}` }), old.name), " ", el("code", { class: "muted" }, old.key)), el("span", { class: "arrow" }, "→"), select];
    });
    // Closing hands focus back to Publish, so the keyboard flow continues where it started.
    const close = () => { panel.hidden = true; document.getElementById("publish").focus(); };
    panel.replaceChildren(el("div", { class: "modal-backdrop", onclick: e => { if (e.target === e.currentTarget) close(); }, onkeydown: e => { if (e.key === "Escape") { e.preventDefault(); close(); } } }, el("div", { class: "mapping-panel", role: "dialog", "aria-modal": "true", "aria-labelledby": "mapping-title", dataset: { testid: "mapping-panel" } },
      el("h3", { id: "mapping-title" }, `v${state.current.number} already has labels: map each old category`),
      el("p", { class: "sub" }, "Old labels keep their category; agreement and exports read them through this mapping."),
      el("div", { class: "mapping-grid" }, ...rows.flat()),
      el("div", { class: "toolbar" },
        el("span", { class: "spacer" }),
        el("button", { type: "button", dataset: { testid: "cancel-publish" }, onclick: close }, "Cancel"),
        el("button", { type: "button", class: "primary", dataset: { testid: "confirm-publish" }, onclick: () => {
          const mapping = {};
          let missing = 0;
          panel.querySelectorAll("select").forEach(s => { if (s.value) mapping[s.dataset.from] = s.value; else { missing++; s.classList.add("invalid"); } });
          if (missing) { panel.querySelector("select.invalid").focus(); return toast(`Map every old category (${missing} left).`, "error"); }
          doPublish(mapping);
        } }, "Publish with mapping")))));
    panel.hidden = false;
    panel.querySelector("select").focus();
    void newKeys;
  }

  async function doPublish(mapping) {
    const res = await api("POST", root.dataset.publishApi, { categories: payload(), mapping });
    if (!res.ok) return showServerError(res);
    document.getElementById("form-errors").replaceChildren();
    load(res.data);
    toast(`Published v${res.data.current.number}`);
  }

  function publish() {
    if (localErrors().length) return toast("Fix the highlighted fields first.", "error");
    if (state.current.has_labels) return mappingPanel();
    doPublish({});
  }

  document.getElementById("add-category").addEventListener("click", () => {
    cats.push(blank()); dirty = true; render();
    const rows = document.querySelectorAll(".cat-row");
    rows[rows.length - 1].querySelector("[data-testid=cat-key]").focus();
  });
  document.getElementById("save-draft").addEventListener("click", saveDraft);
  document.getElementById("publish").addEventListener("click", publish);
  document.getElementById("discard-draft").addEventListener("click", async () => {
    const res = await api("DELETE", root.dataset.draftApi);
    if (!res.ok) return toast(errorText(res.data), "error");
    const again = await api("GET", root.dataset.api);
    load(again.data); toast("Draft discarded");
  });
  window.addEventListener("beforeunload", e => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  api("GET", root.dataset.api).then(res => res.ok ? load(res.data) : toast(errorText(res.data), "error"));
})();

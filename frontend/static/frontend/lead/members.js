/* Members page: add, create, change role and remove through the lead API. */
"use strict";
(() => {
  const { api, toast, errorText, showFormError, clearFormError } = Lead;
  const root = document.getElementById("members-app");
  const detailUrl = id => root.dataset.detailApi.replace(/\/0\/$/, `/${id}/`);

  function reloadWith(message) {
    sessionStorage.setItem("lead-toast", message);
    location.reload();
  }
  const pending = sessionStorage.getItem("lead-toast");
  if (pending) { sessionStorage.removeItem("lead-toast"); toast(pending); }

  function bindForm(form, url) {
    form.addEventListener("submit", async e => {
      e.preventDefault();
      const body = Object.fromEntries(new FormData(form).entries());
      clearFormError(form);
      const res = await api("POST", url, body);
      if (!res.ok) return showFormError(form, res);
      reloadWith(`${res.data.username} added as ${res.data.role}`);
    });
  }
  bindForm(document.getElementById("add-form"), root.dataset.api);
  bindForm(document.getElementById("create-form"), root.dataset.createApi);

  document.querySelectorAll("[data-testid=member-row]").forEach(row => {
    const id = row.dataset.userId, name = row.dataset.username;
    const select = row.querySelector("[data-testid=role-select]");
    select.addEventListener("change", async () => {
      const res = await api("PATCH", detailUrl(id), { role: select.value });
      if (!res.ok) { select.value = select.dataset.current; return toast(errorText(res.data), "error"); }
      select.dataset.current = res.data.role;
      select.className = `role-select role-${res.data.role}`;
      toast(`${name} is now ${res.data.role}`);
    });
    row.querySelector("[data-testid=remove-member]").addEventListener("click", async () => {
      if (!confirm(`Remove ${name} from the project? Their labels stay.`)) return;
      const res = await api("DELETE", detailUrl(id));
      if (!res.ok) return toast(errorText(res.data), "error");
      reloadWith(`${name} removed; their labels stay`);
    });
  });
})();

// audit.html: sort and filter the services table, and show one service's findings.
// Service data is untrusted: it only ever reaches the page as text nodes (see el()).
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("audit-data").textContent);
  const services = data.services;
  const byName = new Map(services.map((s) => [s.name, s]));
  const releaseRank = new Map(data.releases.map((r, i) => [r, i]));
  const riskRank = { none: 0, low: 1, high: 2 };
  const $ = (id) => document.getElementById(id);
  const table = $("services");
  const headers = [...table.querySelectorAll("thead th")];
  const dialog = $("detail");
  const PAGE = 200; // rows drawn at a time: a fleet of thousands still sorts and filters at once
  let sort = { key: "name", dir: 1 };
  let limit = PAGE;

  // An element with attributes and children; strings become text, never markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  // The value a column sorts on; null (unknown) always sorts last.
  function sortValue(service, key, type) {
    const value = service[key];
    if (value === null || value === undefined) return null;
    if (type === "release") return releaseRank.has(value) ? releaseRank.get(value) : null;
    if (type === "risk") return value in riskRank ? riskRank[value] : null;
    return type === "number" ? Number(value) : String(value).toLowerCase();
  }

  const order = (x, y) => (x < y ? -1 : x > y ? 1 : 0);

  function comparator() {
    const type = headers.find((th) => th.dataset.key === sort.key).dataset.type;
    return (a, b) => {
      const x = sortValue(a, sort.key, type);
      const y = sortValue(b, sort.key, type);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      return order(x, y) * sort.dir || order(a.name, b.name);
    };
  }

  // The filters as set now: a predicate over services.
  function filter() {
    const text = $("f-text").value.trim().toLowerCase();
    const team = $("f-team").value; // "" for any, else "=" + team ("=" alone: no team)
    const release = $("f-release").value;
    const risk = $("f-risk").value;
    const violations = $("f-violations").checked;
    return (service) =>
      (!text || `${service.name}\n${service.team || ""}`.toLowerCase().includes(text)) &&
      (!team || team.slice(1) === (service.team || "")) &&
      (!release || release.slice(1) === (service.release || "")) &&
      (!risk || risk === service.risk) &&
      (!violations || service.violations > 0);
  }

  function cell(service, th) {
    const { key, type } = th.dataset;
    const value = service[key];
    if (key === "name") {
      const link = el("a", { href: `#service=${encodeURIComponent(service.name)}` }, service.name);
      return el("td", { class: "name" }, link);
    }
    if (type === "risk") return el("td", {}, el("span", { class: `pill risk-${value}` }, value));
    if (type === "number") {
      const hot = (key === "violations" || key === "weakened") && value > 0;
      const tone = value === null ? "" : value === 0 ? " zero" : hot ? " hot" : "";
      return el("td", { class: `num${tone}` }, value === null ? "?" : String(value));
    }
    return el("td", {}, value === null ? (key === "release" ? "unknown" : "") : value);
  }

  function render() {
    const rows = services.filter(filter()).sort(comparator());
    const body = el("tbody");
    for (const service of rows.slice(0, limit)) {
      const tr = el("tr", { "data-name": service.name }, headers.map((th) => cell(service, th)));
      body.append(tr);
    }
    if (!rows.length) {
      const empty = el("td", { colspan: headers.length, class: "empty" }, "No service matches the filters.");
      body.append(el("tr", {}, empty));
    }
    table.tBodies[0].replaceWith(body);
    const shown = Math.min(limit, rows.length);
    $("shown").textContent =
      shown === rows.length
        ? `Showing ${shown} of ${services.length} services`
        : `Showing ${shown} of ${rows.length} matching services (${services.length} in all)`;
    $("more").hidden = shown === rows.length;
    $("more").textContent = `Show ${Math.min(PAGE, rows.length - shown)} more`;
    for (const th of headers) {
      if (th.dataset.key !== sort.key) th.removeAttribute("aria-sort");
      else th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    }
  }

  function facts(pairs) {
    const items = pairs.map(([term, value]) => el("div", {}, el("dt", {}, term), el("dd", {}, value)));
    return el("dl", { class: "facts" }, items);
  }

  function diff(text) {
    const pre = el("pre", { class: "diff" });
    for (const line of text.replace(/\n$/, "").split("\n")) {
      const kind = /^(\+\+\+|---) /.test(line)
        ? "meta"
        : line.startsWith("@@")
          ? "hunk"
          : { "+": "add", "-": "del" }[line[0]];
      pre.append(el("span", kind ? { class: kind } : {}, line));
    }
    return pre;
  }

  function findings(issues) {
    const titles = ["Finding", "Path", "Message", "Template", "Service"];
    const head = el("tr", {}, titles.map((title) => el("th", { scope: "col" }, title)));
    const rows = issues.map((i) =>
      el(
        "tr",
        {},
        el("td", {}, el("code", {}, i.id)),
        el("td", {}, i.path ? el("code", {}, i.path) : ""),
        el("td", {}, i.message),
        el("td", { class: "value" }, i.expected ?? ""),
        el("td", { class: "value" }, i.actual ?? ""),
      ),
    );
    return el("table", { class: "findings" }, el("thead", {}, head), el("tbody", {}, rows));
  }

  function versionFacts(service) {
    const d = service.detail;
    const v = d.version || {};
    const known = (value) => (value === null || value === undefined ? "unknown" : String(value));
    const yes = (flag) => (flag === undefined ? "unknown" : flag ? "yes" : "no");
    return facts([
      ["Team", d.team || "none"],
      ["Release", known(v.release)],
      ["Latest release", v.latest || data.latest],
      ["Releases behind", known(v.releases_behind)],
      ["Days behind", known(v.days_behind)],
      ["Supported release", yes(v.supported)],
      ["Recorded commit", v.commit ? el("code", {}, v.commit) : "unreadable"],
      ["Commit in template history", yes(v.known)],
      ["Pristine enforced files", String(d.pristine)],
      ["Update risk", el("span", { class: `pill risk-${service.risk}` }, service.risk)],
    ]);
  }

  function files(list) {
    const parts = [el("h3", {}, `Enforced files that are not pristine (${list.length})`)];
    if (!list.length) parts.push(el("p", {}, "None."));
    for (const file of list) {
      const label = file.release ? `${file.state} (as ${file.release})` : file.state;
      const state = el("span", { class: `pill state-${file.state}` }, label);
      const summary = el("summary", {}, state, el("code", {}, file.path));
      const body = file.diff ? diff(file.diff) : el("p", {}, "No diff to show.");
      parts.push(el("details", { class: "file", open: "" }, summary, body));
    }
    return parts;
  }

  function update(risk) {
    if (!risk) return [];
    const list = (items, wrap) => el("ul", { class: "plain" }, items.map((item) => el("li", {}, wrap(item))));
    const parts = [
      el("h3", {}, `Update to ${risk.target}`),
      facts([
        ["Files it would write", String(risk.changed)],
        ["Conflicts", String(risk.conflicts.length)],
        ["Renames and removals", String(risk.migrations.length)],
      ]),
    ];
    if (risk.conflicts.length) parts.push(el("p", {}, "Conflicts in:"), list(risk.conflicts, (p) => el("code", {}, p)));
    if (risk.migrations.length) parts.push(el("p", {}, "Renames and removals:"), list(risk.migrations, (m) => m));
    return parts;
  }

  function detail(service) {
    const d = service.detail;
    const parts = [];
    const violations = d.issues.filter((i) => i.id.startsWith("policy."));
    if (violations.length) {
      const items = el("ul", {}, violations.map((i) => el("li", {}, i.message)));
      parts.push(el("div", { class: "callout", role: "note" }, el("strong", {}, "Policy violations"), items));
    }
    parts.push(versionFacts(service));
    parts.push(el("h3", {}, `Findings (${d.issues.length})`));
    parts.push(d.issues.length ? findings(d.issues) : el("p", {}, "None."));
    parts.push(...files(d.files), ...update(d.risk));
    const gates = Object.entries(d.gate_results);
    if (gates.length) {
      const pill = (status) => el("span", { class: `pill status-${status}` }, status);
      parts.push(el("h3", {}, "Last gate results"), facts(gates.map(([gate, status]) => [gate, pill(status)])));
    }
    return parts;
  }

  function showFromHash() {
    const match = /^#service=(.*)$/.exec(location.hash);
    if (!match) {
      if (dialog.open) dialog.close();
      return;
    }
    let name;
    try {
      name = decodeURIComponent(match[1]);
    } catch {
      name = match[1];
    }
    const service = byName.get(name);
    $("detail-title").textContent = service ? service.name : "Unknown service";
    const source = service ? service.detail.source : `No service named "${name}" in this report.`;
    $("detail-source").textContent = source;
    $("detail-body").replaceChildren(...(service ? detail(service) : []));
    if (!dialog.open) dialog.showModal();
    $("detail-body").scrollTop = 0;
  }

  for (const th of headers) {
    th.querySelector("button").addEventListener("click", () => {
      const numeric = th.dataset.type !== "text";
      // A new column sorts text A to Z and figures worst (largest) first; a second click flips it.
      const dir = sort.key === th.dataset.key ? -sort.dir : numeric ? -1 : 1;
      sort = { key: th.dataset.key, dir };
      render();
    });
  }
  const refilter = () => {
    limit = PAGE;
    render();
  };
  for (const id of ["f-text", "f-team", "f-release", "f-risk", "f-violations"]) $(id).addEventListener("input", refilter);
  $("more").addEventListener("click", () => {
    limit += PAGE;
    render();
  });
  $("f-clear").addEventListener("click", () => {
    for (const id of ["f-text", "f-team", "f-release", "f-risk"]) $(id).value = "";
    $("f-violations").checked = false;
    refilter();
  });
  for (const button of document.querySelectorAll(".heat")) {
    button.addEventListener("click", () => {
      $("f-team").value = button.dataset.team;
      $("f-release").value = button.dataset.release;
      refilter();
      table.scrollIntoView({ behavior: "smooth" });
    });
  }
  table.addEventListener("click", (event) => {
    const tr = event.target.closest("tbody tr[data-name]");
    if (tr && !event.target.closest("a")) location.hash = `service=${encodeURIComponent(tr.dataset.name)}`;
  });
  dialog.querySelector(".close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  });
  window.addEventListener("hashchange", showFromHash);
  render();
  showFromHash();
})();

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
  let sort = { key: "name", dir: 1 };

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

  function compare(a, b) {
    const type = headers.find((th) => th.dataset.key === sort.key).dataset.type;
    const x = sortValue(a, sort.key, type);
    const y = sortValue(b, sort.key, type);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return order(x, y) * sort.dir || order(a.name, b.name);
  }

  function matches(service) {
    const text = $("f-text").value.trim().toLowerCase();
    const team = $("f-team").value;
    const release = $("f-release").value;
    const risk = $("f-risk").value;
    const haystack = `${service.name}\n${service.team || ""}`.toLowerCase();
    return (
      (!text || haystack.includes(text)) &&
      (!team || team.slice(1) === (service.team || "")) &&
      (!release || release.slice(1) === (service.release || "")) &&
      (!risk || risk === service.risk) &&
      (!$("f-violations").checked || service.violations > 0)
    );
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
    const rows = services.filter(matches).sort(compare);
    const body = el("tbody");
    for (const service of rows) {
      const tr = el("tr", { "data-name": service.name }, headers.map((th) => cell(service, th)));
      body.append(tr);
    }
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { colspan: headers.length, class: "empty" }, "No service matches the filters.")));
    }
    table.tBodies[0].replaceWith(body);
    $("shown").textContent = `Showing ${rows.length} of ${services.length} services`;
    for (const th of headers) {
      if (th.dataset.key === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  function facts(pairs) {
    return el("dl", { class: "facts" }, pairs.map(([term, value]) => el("div", {}, el("dt", {}, term), el("dd", {}, value))));
  }

  function diff(text) {
    const pre = el("pre", { class: "diff" });
    for (const line of text.replace(/\n$/, "").split("\n")) {
      const kind = /^(\+\+\+|---) /.test(line) ? "meta" : line.startsWith("@@") ? "hunk" : line[0] === "+" ? "add" : line[0] === "-" ? "del" : "";
      pre.append(el("span", kind ? { class: kind } : {}, line));
    }
    return pre;
  }

  function findings(issues) {
    const head = el("tr", {}, ["Finding", "Path", "Message", "Template", "Service"].map((h) => el("th", { scope: "col" }, h)));
    const rows = issues.map((i) =>
      el("tr", {}, el("td", {}, el("code", {}, i.id)), el("td", {}, i.path ? el("code", {}, i.path) : ""), el("td", {}, i.message),
        el("td", { class: "value" }, i.expected ?? ""), el("td", { class: "value" }, i.actual ?? "")));
    return el("table", { class: "findings" }, el("thead", {}, head), el("tbody", {}, rows));
  }

  function detail(service) {
    const d = service.detail;
    const v = d.version;
    const yes = (flag) => (flag ? "yes" : "no");
    const parts = [];
    const violations = d.issues.filter((i) => i.id.startsWith("policy."));
    if (violations.length) {
      parts.push(el("div", { class: "callout", role: "note" }, el("strong", {}, "Policy violations"), el("ul", {}, violations.map((i) => el("li", {}, i.message)))));
    }
    parts.push(facts([
      ["Team", d.team || "none"],
      ["Release", v ? v.release || "unknown" : "unknown"],
      ["Latest release", v ? v.latest : data.latest],
      ["Releases behind", v && v.releases_behind !== null ? String(v.releases_behind) : "unknown"],
      ["Days behind", v && v.days_behind !== null ? String(v.days_behind) : "unknown"],
      ["Supported release", v ? yes(v.supported) : "unknown"],
      ["Recorded commit", v ? el("code", {}, v.commit) : "unreadable"],
      ["Commit in template history", v ? yes(v.known) : "unknown"],
      ["Pristine enforced files", String(d.pristine)],
      ["Update risk", el("span", { class: `pill risk-${service.risk}` }, service.risk)],
    ]));
    parts.push(el("h3", {}, `Findings (${d.issues.length})`), d.issues.length ? findings(d.issues) : el("p", {}, "None."));
    if (d.risk) {
      parts.push(el("h3", {}, `Update to ${d.risk.target}`), facts([
        ["Files it would write", String(d.risk.changed)],
        ["Conflicts", String(d.risk.conflicts.length)],
        ["Renames and removals", String(d.risk.migrations.length)],
      ]));
      if (d.risk.conflicts.length) parts.push(el("p", {}, "Conflicts in:"), el("ul", { class: "plain" }, d.risk.conflicts.map((p) => el("li", {}, el("code", {}, p)))));
      if (d.risk.migrations.length) parts.push(el("p", {}, "Renames and removals:"), el("ul", { class: "plain" }, d.risk.migrations.map((m) => el("li", {}, m))));
    }
    const gates = Object.entries(d.gate_results);
    if (gates.length) {
      parts.push(el("h3", {}, "Last gate results"), facts(gates.map(([gate, status]) => [gate, el("span", { class: `pill status-${status}` }, status)])));
    }
    parts.push(el("h3", {}, `Enforced files that are not pristine (${d.files.length})`));
    if (!d.files.length) parts.push(el("p", {}, "None."));
    for (const file of d.files) {
      const label = file.release ? `${file.state} (as ${file.release})` : file.state;
      const summary = el("summary", {}, el("span", { class: `pill state-${file.state}` }, label), el("code", {}, file.path));
      parts.push(el("details", { class: "file", open: "" }, summary, file.diff ? diff(file.diff) : el("p", {}, "No diff to show.")));
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
    $("detail-source").textContent = service ? service.detail.source : `No service named "${name}" in this report.`;
    $("detail-body").replaceChildren(...(service ? detail(service) : []));
    if (!dialog.open) dialog.showModal();
    $("detail-body").scrollTop = 0;
  }

  for (const th of headers) {
    th.querySelector("button").addEventListener("click", () => {
      const numeric = th.dataset.type !== "text";
      sort = sort.key === th.dataset.key ? { key: sort.key, dir: -sort.dir } : { key: th.dataset.key, dir: numeric ? -1 : 1 };
      render();
    });
  }
  for (const id of ["f-text", "f-team", "f-release", "f-risk", "f-violations"]) $(id).addEventListener("input", render);
  $("f-clear").addEventListener("click", () => {
    for (const id of ["f-text", "f-team", "f-release", "f-risk"]) $(id).value = "";
    $("f-violations").checked = false;
    render();
  });
  for (const button of document.querySelectorAll(".heat")) {
    button.addEventListener("click", () => {
      $("f-team").value = button.dataset.team;
      $("f-release").value = button.dataset.release;
      render();
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

// Secretariat Desk UI: talks to the Rust core only through Tauri commands (app/src-tauri).
// Plain browser JavaScript for now; the desktop-app issue moves it to TypeScript with types
// generated from Rust.
"use strict";

const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") e.addEventListener("click", v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function showError(err) {
  const msg = err && err.message ? err.message : String(err);
  $("#status").textContent = msg;
}

let view = "meeting";

async function start() {
  const st = await invoke("status");
  $("#status").title = st.data_dir;
  try {
    ready(await invoke("unlock", {}));
  } catch (err) {
    // A passphrase-protected replica, or a first run on a machine without a keychain:
    // ask for the passphrase (on a first run it protects the new replica).
    if (err && (err.kind === "wrong_key" || (!st.exists && err.kind === "unavailable"))) {
      if (!st.exists) {
        $("#unlock h2").textContent = "Protect your new replica";
        $("#unlock p").textContent = "No OS keychain is available. Choose a passphrase; you will need it each time.";
        $("#unlock button").textContent = "Create";
      }
      $("#unlock").hidden = false;
      $("#passphrase").focus();
    } else {
      showError(err);
    }
  }
}

function ready(summary) {
  $("#unlock").hidden = true;
  $("#sync-button").hidden = false;
  invoke("sync_status").then((st) => renderSync(st.last)).catch(() => {});
  $("#app").hidden = false;
  $("#search").disabled = false;
  renderCounts(summary);
  show(view);
}

function renderCounts(summary) {
  const c = summary.counts;
  $("#counts").textContent = `${c.meeting} meetings · ${c.contact} contacts · ${c.project} projects`;
  $("#demo").hidden = c.meeting + c.contact + c.project > 0;
}

function rows(items, onpick) {
  const list = $("#list");
  list.replaceChildren();
  if (items.length === 0) list.append(el("div", { class: "row muted" }, "Nothing here yet."));
  for (const it of items) {
    list.append(el("div", { class: "row", onclick: () => onpick(it) },
      el("div", { class: "title" }, it.title),
      el("div", { class: "sub" }, it.sub)));
  }
}

async function show(entity) {
  view = entity;
  document.querySelectorAll("nav button[data-view]").forEach((b) => b.classList.toggle("active", b.dataset.view === entity));
  try {
    const recs = await invoke("list", { entityName: entity, limit: 200 });
    rows(recs.map((r) => ({ id: r.id, entity, title: r.label, sub: subtitle(entity, r) })), (it) => detail(it.entity, it.id));
  } catch (err) { showError(err); }
}

function subtitle(entity, r) {
  switch (entity) {
    case "meeting": return [r.start_date, r.city, r.status].filter(Boolean).join(" · ");
    case "contact": return [r.native_name, r.title].filter(Boolean).join(" · ");
    case "organisation": return [r.acronym, r.native_name, r.country].filter(Boolean).join(" · ");
    case "project": return [r.code, r.status, r.lead_country].filter(Boolean).join(" · ");
    default: return "";
  }
}

async function detail(entity, id) {
  const d = $("#detail");
  d.hidden = false;
  try {
    const r = await invoke("get", { entityName: entity, id });
    d.replaceChildren(el("h2", {}, r.label), el("p", { class: "muted" }, subtitle(entity, r)));
    if (entity === "meeting") await meetingDetail(d, r);
    else d.append(fieldsTable(r));
  } catch (err) { showError(err); }
}

function fieldsTable(r) {
  const skip = new Set(["id", "entity", "label", "refs", "created_at", "updated_at"]);
  const refs = r.refs || {};
  return el("table", {}, Object.entries(r).filter(([k]) => !skip.has(k)).map(([k, v]) =>
    el("tr", {}, el("th", {}, k.replaceAll("_", " ")),
      el("td", {}, refs[k] !== undefined ? refs[k] : Array.isArray(v) ? v.join(", ") : v))));
}

async function meetingDetail(d, m) {
  const kids = async (entityName) => invoke("list", { entityName, parent: m.id });
  const [agenda, delegations, decisions, actions] = await Promise.all([
    kids("agenda_item"), invoke("delegations", { meetingId: m.id }), kids("decision"), kids("action")]);
  d.append(el("p", {}, [m.venue, m.timezone].filter(Boolean).join(" · ")));
  d.append(briefControls(m));
  d.append(el("h3", {}, "Agenda"));
  d.append(el("table", {}, agenda.map((a) => el("tr", {}, el("td", {}, a.number || ""), el("td", {}, a.title,
    a.action_requested ? el("div", { class: "muted" }, a.action_requested) : null)))));
  d.append(el("h3", {}, "Delegations"));
  d.append(el("table", {}, delegations.flatMap((g) => g.members.map((p, i) => el("tr", {},
    el("td", {}, i === 0 ? g.label : ""),
    el("td", {}, p.formal_name, p.native_name ? el("div", { class: "muted" }, p.native_name) : null),
    el("td", { class: "muted" }, p.role.replaceAll("_", " ")))))));
  if (decisions.length) {
    d.append(el("h3", {}, "Decisions"));
    d.append(el("ol", {}, decisions.map((x) => el("li", {}, x.text))));
  }
  if (actions.length) {
    const today = new Date().toISOString().slice(0, 10);
    d.append(el("h3", {}, "Action items"));
    d.append(el("table", {}, actions.map((a) => {
      const overdue = a.due_date && a.due_date < today && a.status !== "completed" && a.status !== "overtaken";
      return el("tr", {}, el("td", {}, a.title), el("td", {}, a.owner || a.owner_country || ""),
        el("td", { class: overdue ? "overdue" : "" }, a.due_date || ""), el("td", { class: "muted" }, (a.status || "").replaceAll("_", " ")));
    })));
  }
}

// One click prints the meeting's briefing pack (PDF) into "Briefing packs".
function briefControls(m) {
  const paper = el("select", { id: "brief-paper", title: "Paper" }, el("option", { value: "a4" }, "A4"), el("option", { value: "letter" }, "Letter"));
  const be = el("input", { type: "checkbox", id: "brief-be" });
  const result = el("span", { id: "brief-result", class: "muted" });
  const button = el("button", { id: "brief-button", onclick: async () => {
    button.disabled = true;
    result.textContent = "Printing the briefing pack…";
    try {
      const r = await invoke("brief", { meetingId: m.id, paper: paper.value, buddhistEra: be.checked });
      result.textContent = `Saved ${r.file} (${r.pages} pages, ${Math.ceil(r.bytes / 1024)} KB, ${r.millis} ms)`;
      result.dataset.file = r.file;
    } catch (err) {
      result.textContent = err.message || String(err);
    }
    button.disabled = false;
  } }, "Print briefing pack");
  return el("div", { class: "brief" }, button, " ", paper, " ", el("label", {}, be, " B.E. dates"), " ", result);
}

let searchTimer = null;
$("#search").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  const q = e.target.value;
  searchTimer = setTimeout(async () => {
    if (!q.trim()) return show(view);
    try {
      const hits = await invoke("search", { query: q, limit: 50 });
      rows(hits.map((h) => ({ id: h.id, entity: h.entity, title: h.title, sub: `${h.entity} · ${h.subtitle}` })), (it) => detail(it.entity, it.id));
    } catch (err) { showError(err); }
  }, 120);
});

document.querySelectorAll("nav button[data-view]").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));

$("#demo").addEventListener("click", async () => {
  $("#demo").disabled = true;
  try { renderCounts(await invoke("load_demo", { size: "small" })); show(view); } catch (err) { showError(err); }
  $("#demo").disabled = false;
});

$("#unlock-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try { ready(await invoke("unlock", { passphrase: $("#passphrase").value })); }
  catch (err) { $("#unlock-error").textContent = err.message || String(err); }
});

// Sync: the header shows what the background sync last reported; the button signs in (first
// time) or syncs now.
function renderSync(ev) {
  const s = $("#sync-state");
  if (!ev) { s.textContent = ""; return; }
  const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
  switch (ev.state) {
    case "syncing": s.textContent = `Syncing… sent ${ev.pushed}, received ${ev.pulled}`; break;
    case "idle": {
      const parts = ["Up to date"];
      if (ev.purged) parts.push(n(ev.purged, "record removed (no longer in your scope)", "records removed (no longer in your scope)"));
      if (ev.kept_for_review) parts.push(n(ev.kept_for_review, "edit kept for review", "edits kept for review"));
      if (ev.restamped) parts.push("your clock is ahead: check the date and time");
      s.textContent = parts.join(" · ");
      break;
    }
    case "offline": s.textContent = `Offline — retrying in ${ev.retry_in_secs} s (${ev.message})`; break;
    case "stopped": s.textContent = `Sync stopped: ${ev.message}`; break;
    default: s.textContent = "";
  }
}

async function syncClicked() {
  $("#sync-error").textContent = "";
  try {
    const st = await invoke("sync_status");
    if (!st.signed_in) { $("#sync-panel").hidden = false; $("#sync-user").focus(); return; }
    renderSync(await invoke("sync_now"));
    show(view);
  } catch (err) { renderSync({ state: "stopped", message: err.message || String(err) }); }
}

$("#sync-button").addEventListener("click", syncClicked);
$("#sync-cancel").addEventListener("click", () => { $("#sync-panel").hidden = true; });
$("#sync-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const st = await invoke("sync_login", { server: $("#sync-server").value, user: $("#sync-user").value, password: $("#sync-password").value });
    $("#sync-password").value = "";
    $("#sync-panel").hidden = true;
    renderSync(st.last);
    renderSync(await invoke("sync_now"));
    show(view);
  } catch (err) { $("#sync-error").textContent = err.message || String(err); }
});
if (window.__TAURI__.event) {
  window.__TAURI__.event.listen("sync", (e) => renderSync(e.payload));
}

start().catch(showError);

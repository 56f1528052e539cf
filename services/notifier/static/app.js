// Fixline live dashboard: one EventSource, a small reducer mirroring services/notifier/state.py,
// and plain DOM rendering. No build step.
"use strict";

const PERSONA = { guest: "Empathetic", vendor: "Professional", landlord: "Concise" };
const STATUS_LABEL = {
  open: "Open", troubleshooting: "Troubleshooting", awaiting_quotes: "Awaiting quotes",
  awaiting_approval: "Awaiting approval", scheduled: "Scheduled", resolved: "Resolved", cancelled: "Cancelled",
};
const CLOSED = new Set(["resolved", "cancelled"]);
const STALE_AFTER_S = 15;

const state = { seq: 0, properties: {}, vendors: {}, incidents: {}, calls: {}, services: {} };
const ui = { lastId: null, source: null, retryMs: 1000, openSteps: new Set(), scrolledUp: new Set(), renderQueued: false };

// ---------- reducer ----------
function incidentFor(e) {
  let inc = state.incidents[e.incident_id];
  if (!inc) {
    inc = { incident_id: e.incident_id, property_id: e.property_id, category: "other", severity: "medium",
      description: "", status: "open", created_at: e.occurred_at, history: [], quotes: [], decision: null,
      booking: null, outreach: [], recommendation: null };
    state.incidents[e.incident_id] = inc;
  }
  inc.updated_at = e.occurred_at;
  return inc;
}
function callFor(e) {
  let call = state.calls[e.call_id];
  if (!call) {
    call = { call_id: e.call_id, property_id: e.property_id, call_type: "guest", direction: "inbound",
      from_number: "", to_number: "", status: "in-progress", live: true, started_at: e.occurred_at, transcript: [] };
    state.calls[e.call_id] = call;
  }
  return call;
}
function pushOnce(list, entry) { if (!list.some((x) => x.id === entry.id)) list.push(entry); }

const APPLY = {
  "incident.created"(e) {
    const inc = incidentFor(e);
    Object.assign(inc, { category: e.category, severity: e.severity, description: e.description, status: e.status,
      caller_phone: e.caller_phone, call_id: e.call_id, created_at: e.occurred_at });
    pushOnce(inc.history, { id: e.id, status: e.status, previous_status: null, note: "reported", at: e.occurred_at });
  },
  "incident.updated"(e) {
    const inc = incidentFor(e);
    inc.status = e.status;
    pushOnce(inc.history, { id: e.id, status: e.status, previous_status: e.previous_status, note: e.note, at: e.occurred_at });
  },
  "quote.received"(e) {
    const inc = incidentFor(e);
    inc.quotes = inc.quotes.filter((q) => q.quote_id !== e.quote_id).concat([{ quote_id: e.quote_id,
      vendor_id: e.vendor_id, price: e.price, currency: e.currency, earliest_start: e.earliest_start, call_id: e.call_id, at: e.occurred_at }]);
  },
  "decision.made"(e) {
    incidentFor(e).decision = { decision_id: e.decision_id, approved: e.approved, vendor_id: e.vendor_id, notes: e.notes, at: e.occurred_at };
  },
  "repair.scheduled"(e) {
    incidentFor(e).booking = { booking_id: e.booking_id, vendor_id: e.vendor_id, calendar_event_id: e.calendar_event_id,
      start: e.start, end: e.end, at: e.occurred_at };
  },
  "outreach.progress"(e) {
    const inc = incidentFor(e);
    pushOnce(inc.outreach, { id: e.id, stage: e.stage, detail: e.detail, vendor_id: e.vendor_id, call_id: e.call_id, at: e.occurred_at });
    if (e.stage === "recommended") inc.recommendation = e.detail;
  },
  "call.started"(e) {
    const call = callFor(e);
    Object.assign(call, { call_type: e.call_type, direction: e.direction, from_number: e.from_number,
      to_number: e.to_number, incident_id: e.incident_id || call.incident_id, started_at: e.occurred_at });
  },
  "call.status.changed"(e) { callFor(e).status = e.status; },
  "call.ended"(e) {
    Object.assign(callFor(e), { live: false, status: "completed", ended_at: e.occurred_at, end_reason: e.reason,
      duration_s: e.duration_s });
  },
  "transcript.turn"(e) {
    const call = callFor(e);
    const turn = { turn: e.turn, role: e.role, text: e.text, final: e.final, interrupted: e.interrupted, at: e.occurred_at };
    const i = call.transcript.findIndex((t) => t.turn === e.turn && t.role === e.role);
    if (i >= 0) call.transcript[i] = turn; else call.transcript.push(turn);
  },
};

function loadSnapshot(snap) {
  state.seq = snap.seq;
  state.properties = Object.fromEntries(snap.properties.map((p) => [p.id, p]));
  state.vendors = Object.fromEntries(snap.vendors.map((v) => [v.id, v]));
  state.incidents = Object.fromEntries(snap.incidents.map((i) => [i.incident_id, i]));
  state.calls = Object.fromEntries(snap.calls.map((c) => [c.call_id, c]));
  state.services = Object.fromEntries(snap.services.map((s) => [s.service + "/" + s.instance, s]));
  fillPropertyFilter();
}

// ---------- connection ----------
function setConnection(kind, text) {
  const el = document.getElementById("connection");
  el.className = "conn conn-" + kind;
  el.textContent = text;
}

function connect() {
  const url = ui.lastId !== null ? "/events?since=" + encodeURIComponent(ui.lastId) : "/events";
  const source = new EventSource(url);
  ui.source = source;
  source.onopen = () => { ui.retryMs = 1000; setConnection("live", "Live"); };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) { recover(); return; }
    setConnection("connecting", "Reconnecting…");   // the browser retries with Last-Event-ID
  };
  source.addEventListener("snapshot", (m) => { loadSnapshot(JSON.parse(m.data)); remember(m); scheduleRender(); });
  source.addEventListener("reset", (m) => {
    const info = JSON.parse(m.data);
    toast(info.reason === "aged_out" ? "Some updates were older than the retention window; the view was refreshed."
                                      : "The event history changed; the view was refreshed.");
  });
  source.addEventListener("service.heartbeat", (m) => {
    const beat = JSON.parse(m.data);
    state.services[beat.service + "/" + beat.instance] = beat;
    scheduleRender();
  });
  for (const type of Object.keys(APPLY)) {
    source.addEventListener(type, (m) => { APPLY[type](JSON.parse(m.data)); remember(m); scheduleRender(); });
  }
}

function remember(m) { if (m.lastEventId) ui.lastId = m.lastEventId; }

// The browser gave up (HTTP error or a new EventSource is needed): check the session, then reopen.
async function recover() {
  setConnection("offline", "Offline");
  ui.source.close();
  try {
    const resp = await fetch("/api/snapshot", { credentials: "same-origin" });
    if (resp.status === 401) { window.location.assign("/login"); return; }
  } catch (_) { /* network down: retry below */ }
  setTimeout(connect, ui.retryMs);
  ui.retryMs = Math.min(ui.retryMs * 2, 30000);
}

// ---------- formatting ----------
const formatters = {};
function tzOf(propertyId) { return (state.properties[propertyId] || {}).timezone || "UTC"; }
function fmtTime(iso, propertyId, withDate = true) {
  if (!iso) return "";
  const tz = tzOf(propertyId);
  const key = tz + withDate;
  formatters[key] ||= new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "2-digit",
    ...(withDate ? { month: "short", day: "numeric", timeZoneName: "short" } : {}) });
  return formatters[key].format(new Date(iso));
}
function fmtMoney(amount, currency) {
  try { return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount); }
  catch (_) { return amount + " " + currency; }
}
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds)); const m = Math.floor(s / 60);
  return m + ":" + String(s % 60).padStart(2, "0");
}
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function label(value) { return esc(String(value || "").replace(/_/g, " ")); }
function propName(id) { return esc((state.properties[id] || {}).name || id); }
function vendorName(id) { return esc((state.vendors[id] || {}).name || id || "—"); }
function chip(value, text) { return `<span class="chip chip-${esc(value)}">${text ?? label(value)}</span>`; }

// ---------- rendering ----------
function scheduleRender() {
  if (ui.renderQueued) return;
  ui.renderQueued = true;
  requestAnimationFrame(() => { ui.renderQueued = false; render(); });
}

function selectedProperty() { return document.getElementById("property-filter").value; }
function visible(item) { const p = selectedProperty(); return !p || item.property_id === p; }

function render() {
  const incidents = Object.values(state.incidents).filter(visible);
  const calls = Object.values(state.calls).filter(visible);
  const open = incidents.filter((i) => !CLOSED.has(i.status));
  document.getElementById("kpi-open").textContent = open.length;
  document.getElementById("kpi-emergency").textContent = open.filter((i) => i.severity === "emergency").length;
  document.getElementById("kpi-calls").textContent = calls.filter((c) => c.live).length;
  document.getElementById("kpi-approval").textContent = open.filter((i) => i.status === "awaiting_approval").length;
  renderIncidents(incidents);
  renderCalls(calls);
  renderHealth();
}

function renderIncidents(incidents) {
  const showClosed = document.getElementById("show-closed").checked;
  const shown = incidents.filter((i) => showClosed || !CLOSED.has(i.status))
    .sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
  document.getElementById("incidents").innerHTML = shown.length ? shown.map(incidentCard).join("")
    : `<p class="empty">No ${showClosed ? "" : "open "}incidents. All quiet.</p>`;
}

function incidentCard(inc) {
  const closed = CLOSED.has(inc.status) ? " closed" : "";
  const history = inc.history.map((h) =>
    `<li><b>${esc(STATUS_LABEL[h.status] || h.status)}</b>&nbsp;${fmtTime(h.at, inc.property_id, false)}</li>`).join("");
  return `<article class="incident sev-${esc(inc.severity)}${closed}" data-incident="${esc(inc.incident_id)}">
    <div class="incident-head">
      <span class="incident-title">${label(inc.category)} issue</span>
      ${chip(inc.severity)} ${chip(inc.status, esc(STATUS_LABEL[inc.status] || inc.status))}
    </div>
    <div class="incident-meta">${propName(inc.property_id)} · reported ${fmtTime(inc.created_at, inc.property_id)}
      ${inc.caller_phone ? " · " + esc(inc.caller_phone) : ""}</div>
    <p class="incident-desc">${esc(inc.description)}</p>
    <ol class="timeline" aria-label="Status history">${history}</ol>
    ${outreachBlock(inc)}
  </article>`;
}

function outreachBlock(inc) {
  if (!inc.quotes.length && !inc.outreach.length && !inc.decision && !inc.booking) return "";
  const tz = inc.property_id;
  const quotes = inc.quotes.length ? `<table class="quotes"><thead><tr><th>Vendor</th><th>Quote</th><th>Earliest</th></tr></thead><tbody>
    ${inc.quotes.map((q) => `<tr><td>${vendorName(q.vendor_id)}</td><td class="num">${fmtMoney(q.price, q.currency)}</td>
      <td>${q.earliest_start ? fmtTime(q.earliest_start, tz) : "—"}</td></tr>`).join("")}</tbody></table>` : "";
  const rec = inc.recommendation ? `<div class="callout callout-rec"><b>Recommendation:</b> ${esc(inc.recommendation)}</div>` : "";
  const d = inc.decision;
  const decision = d ? `<div class="callout ${d.approved ? "callout-ok" : "callout-bad"}"><b>Landlord ${d.approved ? "approved" : "declined"}</b>
    ${d.vendor_id ? " · " + vendorName(d.vendor_id) : ""}${d.notes ? " — " + esc(d.notes) : ""}</div>` : "";
  const b = inc.booking;
  const booking = b ? `<div class="callout callout-book"><b>Booked:</b> ${vendorName(b.vendor_id)} · ${fmtTime(b.start, tz)} – ${fmtTime(b.end, tz, false)}</div>` : "";
  const open = ui.openSteps.has(inc.incident_id) ? " open" : "";
  const steps = inc.outreach.length ? `<details class="steps" data-steps="${esc(inc.incident_id)}"${open}>
    <summary>Outreach progress (${inc.outreach.length} ${inc.outreach.length === 1 ? "step" : "steps"})</summary><ol>${inc.outreach.map((s) =>
      `<li>${fmtTime(s.at, tz, false)} — ${label(s.stage)}${s.vendor_id ? " · " + vendorName(s.vendor_id) : ""}${s.detail ? ": " + esc(s.detail) : ""}</li>`).join("")}</ol></details>` : "";
  return `<section class="outreach"><h3>Vendor outreach</h3>${quotes}${rec}${decision}${booking}${steps}</section>`;
}

function renderCalls(calls) {
  const live = calls.filter((c) => c.live).sort((a, b) => (b.started_at || "").localeCompare(a.started_at || ""));
  const box = document.getElementById("calls");
  box.innerHTML = live.length ? live.map(callCard).join("") : `<p class="empty">No calls in progress.</p>`;
  // follow each transcript as it is spoken, unless the reader scrolled up in it
  box.querySelectorAll(".transcript").forEach((t) => { if (!ui.scrolledUp.has(t.dataset.call)) t.scrollTop = t.scrollHeight; });
  const ended = calls.filter((c) => !c.live).sort((a, b) => (b.ended_at || "").localeCompare(a.ended_at || "")).slice(0, 20);
  document.getElementById("recent-calls").innerHTML = ended.map((c) => `<div class="recent-row">
    <span>${chip(c.call_type)} ${esc(c.direction === "outbound" ? c.to_number : c.from_number)}</span>
    <span class="muted">${fmtTime(c.ended_at, c.property_id)} · ${fmtDuration(c.duration_s || 0)}</span></div>`).join("")
    || `<p class="empty">None yet.</p>`;
}

function callCard(call) {
  const other = call.direction === "outbound" ? call.to_number : call.from_number;
  const elapsed = call.started_at ? (Date.now() - Date.parse(call.started_at)) / 1000 : 0;
  const turns = call.transcript.map((t) => `<div class="bubble bubble-${esc(t.role)}${t.final ? "" : " partial"}${t.interrupted ? " interrupted" : ""}">
    <span class="who">${t.role === "agent" ? "Agent" : t.role === "caller" ? "Caller" : "System"}</span>${esc(t.text)}</div>`).join("");
  return `<article class="call" data-call="${esc(call.call_id)}">
    <div class="call-head"><span class="live-dot" aria-label="live"></span>
      <span class="call-who">${esc(other)}</span>${chip(call.call_type)}
      <span class="chip chip-plain">${esc(PERSONA[call.call_type] || "")} persona</span></div>
    <div class="call-meta">${propName(call.property_id)} · ${call.direction === "outbound" ? "outbound" : "inbound"} ·
      ${label(call.status.replace(/-/g, " "))} · <span data-started="${esc(call.started_at || "")}">${fmtDuration(elapsed)}</span></div>
    <div class="transcript" data-call="${esc(call.call_id)}" aria-live="polite">${turns || `<p class="empty">Waiting for speech…</p>`}</div>
  </article>`;
}

function renderHealth() {
  const now = Date.now() / 1000;
  const beats = Object.values(state.services).sort((a, b) => (a.service + a.instance).localeCompare(b.service + b.instance));
  document.getElementById("health").innerHTML = beats.length ? beats.map((b) => {
    const age = now - b.ts; const stale = age > STALE_AFTER_S;
    return `<li><span class="dot ${stale ? "" : "dot-" + esc(b.state)}"></span><span class="svc">${esc(b.service)}</span>
      ${chip(stale ? "stale" : b.state, stale ? "no heartbeat" : label(b.state))}
      <span class="inst">${esc(b.instance)}<br>${Math.max(0, Math.round(age))} s ago</span></li>`;
  }).join("") : `<li class="empty">Waiting for heartbeats…</li>`;
}

function fillPropertyFilter() {
  const select = document.getElementById("property-filter");
  const current = select.value || localStorage.getItem("fixline.property") || "";
  select.innerHTML = `<option value="">All properties</option>` + Object.values(state.properties)
    .map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join("");
  select.value = state.properties[current] ? current : "";
}

function toast(text) {
  const el = document.createElement("div");
  el.className = "toast"; el.textContent = text;
  document.getElementById("toasts").appendChild(el);
  setTimeout(() => el.remove(), 8000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("property-filter").addEventListener("change", (e) => {
    localStorage.setItem("fixline.property", e.target.value); render();
  });
  document.getElementById("show-closed").addEventListener("change", render);
  window.addEventListener("resize", scheduleRender);
  document.getElementById("calls").addEventListener("scroll", (e) => {
    const t = e.target;
    if (!t.classList || !t.classList.contains("transcript")) return;
    if (t.scrollHeight - t.scrollTop - t.clientHeight < 24) ui.scrolledUp.delete(t.dataset.call);
    else ui.scrolledUp.add(t.dataset.call);
  }, true);
  document.getElementById("incidents").addEventListener("toggle", (e) => {
    const id = e.target.dataset && e.target.dataset.steps;
    if (id) { if (e.target.open) ui.openSteps.add(id); else ui.openSteps.delete(id); }
  }, true);
  setInterval(() => {   // tick call timers and heartbeat ages without a full re-render
    document.querySelectorAll("[data-started]").forEach((el) => {
      if (el.dataset.started) el.textContent = fmtDuration((Date.now() - Date.parse(el.dataset.started)) / 1000);
    });
    renderHealth();
  }, 1000);
  connect();
});

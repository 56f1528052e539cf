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

// Keyed by ids from events: no prototype, so an id like "__proto__" is just a key.
function dict(entries = []) { return Object.assign(Object.create(null), Object.fromEntries(entries)); }
function own(table, key) { return Object.hasOwn(table, key) ? table[key] : undefined; }

const state = { seq: 0, properties: dict(), vendors: dict(), incidents: dict(), calls: dict(), services: dict() };
const ui = { lastId: null, source: null, retryMs: 1000, openSteps: new Set(), scrolledUp: new Set(), renderQueued: false };

// ---------- reducer ----------
function incidentFor(e) {
  let inc = state.incidents[e.incident_id];
  if (!inc) {
    inc = { incident_id: e.incident_id, property_id: e.property_id, category: "other", severity: "medium",
      description: "", status: "open", created_at: e.occurred_at, history: [], quotes: [], decision: null,
      booking: null, outreach: [], recommendation: null, alerts: [] };
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
  "incident.alert.raised"(e) {
    const inc = incidentFor(e);
    if (!inc.alerts.some((a) => a.alert_id === e.alert_id)) {
      inc.alerts.push({ alert_id: e.alert_id, reason: e.reason, detail: e.detail, raised_at: e.occurred_at, handled: false });
    }
  },
  "incident.alert.handled"(e) {
    const alert = incidentFor(e).alerts.find((a) => a.alert_id === e.alert_id);
    if (alert && !alert.handled) Object.assign(alert, { handled: true, handled_at: e.occurred_at, handled_by: e.by });
  },
  "callback.progress"(e) {
    const call = state.calls[e.call_id];  // never create a (phantom live) call for it
    if (call) call.callback = { stage: e.stage, detail: e.detail, callback_call_id: e.callback_call_id, at: e.occurred_at };
    if (e.incident_id) {
      pushOnce(incidentFor(e).outreach, { id: e.id, stage: "callback_" + e.stage, detail: e.detail,
        vendor_id: null, call_id: e.callback_call_id, at: e.occurred_at });
    }
  },
  "call.handoff"(e) {
    const call = state.calls[e.call_id];  // never create a (phantom live) call for it
    if (call && (!call.handoff || String(call.handoff.at) <= String(e.occurred_at))) {
      call.handoff = { stage: e.stage, to_number: e.to_number, summary: e.summary, dial_status: e.dial_status, at: e.occurred_at };
    }
    const incidentId = e.incident_id || (call && call.incident_id);
    if (incidentId) {
      pushOnce(incidentFor({ ...e, incident_id: incidentId }).outreach, { id: e.id, stage: "handoff_" + e.stage,
        detail: e.summary || e.dial_status, vendor_id: null, call_id: e.call_id, at: e.occurred_at });
    }
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
  state.properties = dict(snap.properties.map((p) => [p.id, p]));
  state.vendors = dict(snap.vendors.map((v) => [v.id, v]));
  state.incidents = dict(snap.incidents.map((i) => [i.incident_id, i]));
  state.calls = dict(snap.calls.map((c) => [c.call_id, c]));
  state.services = dict(snap.services.map((s) => [s.service + "/" + s.instance, s]));
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
  try {
    formatters[key] ||= new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "2-digit",
      ...(withDate ? { month: "short", day: "numeric", timeZoneName: "short" } : {}) });
    return formatters[key].format(new Date(iso));
  } catch (_) { return String(iso); }
}
function fmtMoney(amount, currency) {
  try { return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount); }
  catch (_) { return amount + " " + currency; }
}
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds)); const m = Math.floor(s / 60);
  return m + ":" + String(s % 60).padStart(2, "0");
}
function label(value) { return String(value || "").replace(/_/g, " "); }
function propName(id) { return (state.properties[id] || {}).name || id; }
function vendorName(id) { return (state.vendors[id] || {}).name || id || "—"; }

// ---------- DOM building: data only ever becomes text nodes or attribute values ----------
const ATTRIBUTES = /^(class|data-[a-z-]+|aria-[a-z-]+|role|value|open)$/;
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (!ATTRIBUTES.test(name)) throw new Error("el(): attribute not allowed: " + name);
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    node.append(child instanceof Node ? child : String(child));   // a string becomes a Text node
  }
  return node;
}
function empty(text, tag = "p") { return el(tag, { class: "empty" }, text); }
function chip(value, text) { return el("span", { class: "chip chip-" + String(value) }, text ?? label(value)); }

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
    .sort((a, b) => String(b.updated_at || "").localeCompare(String(a.updated_at || "")));
  document.getElementById("incidents").replaceChildren(...(shown.length ? shown.map(incidentCard)
    : [empty(`No ${showClosed ? "" : "open "}incidents. All quiet.`)]));
}

function statusLabel(status) { return own(STATUS_LABEL, status) || status; }

function incidentCard(inc) {
  const closed = CLOSED.has(inc.status) ? " closed" : "";
  const history = inc.history.map((h) =>
    el("li", null, el("b", null, statusLabel(h.status)), "\u00a0" + fmtTime(h.at, inc.property_id, false)));
  return el("article", { class: `incident sev-${inc.severity}${closed}`, "data-incident": inc.incident_id },
    el("div", { class: "incident-head" },
      el("span", { class: "incident-title" }, label(inc.category) + " issue"), " ",
      chip(inc.severity), " ", chip(inc.status, statusLabel(inc.status))),
    el("div", { class: "incident-meta" }, propName(inc.property_id), " · reported ",
      fmtTime(inc.created_at, inc.property_id), inc.caller_phone ? " · " + inc.caller_phone : ""),
    alertBlock(inc),
    el("p", { class: "incident-desc" }, inc.description),
    el("ol", { class: "timeline", "aria-label": "Status history" }, history),
    outreachBlock(inc));
}

function quotesTable(inc) {
  if (!inc.quotes.length) return null;
  const tz = inc.property_id;
  const rows = inc.quotes.map((q) => el("tr", null, el("td", null, vendorName(q.vendor_id)),
    el("td", { class: "num" }, fmtMoney(q.price, q.currency)),
    el("td", null, q.earliest_start ? fmtTime(q.earliest_start, tz) : "—")));
  return el("table", { class: "quotes" },
    el("thead", null, el("tr", null, el("th", null, "Vendor"), el("th", null, "Quote"), el("th", null, "Earliest"))),
    el("tbody", null, rows));
}

function decisionCallout(d) {
  if (!d) return null;
  return el("div", { class: "callout " + (d.approved ? "callout-ok" : "callout-bad") },
    el("b", null, "Landlord " + (d.approved ? "approved" : "declined")),
    d.vendor_id ? " · " + vendorName(d.vendor_id) : "", d.notes ? " — " + d.notes : "");
}

function outreachSteps(inc) {
  if (!inc.outreach.length) return null;
  const tz = inc.property_id;
  const count = inc.outreach.length;
  return el("details", { class: "steps", "data-steps": inc.incident_id, open: ui.openSteps.has(inc.incident_id) },
    el("summary", null, `Outreach progress (${count} ${count === 1 ? "step" : "steps"})`),
    el("ol", null, inc.outreach.map((s) => el("li", null, fmtTime(s.at, tz, false), " — ", label(s.stage),
      s.vendor_id ? " · " + vendorName(s.vendor_id) : "", s.detail ? ": " + s.detail : ""))));
}

function outreachBlock(inc) {
  if (!inc.quotes.length && !inc.outreach.length && !inc.decision && !inc.booking) return null;
  const tz = inc.property_id;
  const b = inc.booking;
  return el("section", { class: "outreach" }, el("h3", null, "Vendor outreach"), quotesTable(inc),
    inc.recommendation ? el("div", { class: "callout callout-rec" }, el("b", null, "Recommendation:"), " ",
      inc.recommendation) : null,
    decisionCallout(inc.decision),
    b ? el("div", { class: "callout callout-book" }, el("b", null, "Booked:"), " ", vendorName(b.vendor_id),
      " · ", fmtTime(b.start, tz), " – ", fmtTime(b.end, tz, false)) : null,
    outreachSteps(inc));
}

function renderCalls(calls) {
  const live = calls.filter((c) => c.live)
    .sort((a, b) => String(b.started_at || "").localeCompare(String(a.started_at || "")));
  const box = document.getElementById("calls");
  box.replaceChildren(...(live.length ? live.map(callCard) : [empty("No calls in progress.")]));
  // follow each transcript as it is spoken, unless the reader scrolled up in it
  box.querySelectorAll(".transcript").forEach((t) => { if (!ui.scrolledUp.has(t.dataset.call)) t.scrollTop = t.scrollHeight; });
  const ended = calls.filter((c) => !c.live)
    .sort((a, b) => String(b.ended_at || "").localeCompare(String(a.ended_at || ""))).slice(0, 20);
  document.getElementById("recent-calls").replaceChildren(...(ended.length ? ended.map(recentRow) : [empty("None yet.")]));
}

function recentRow(c) {
  return el("div", { class: "recent-row" },
    el("span", null, chip(c.call_type), " ", c.direction === "outbound" ? c.to_number : c.from_number),
    el("span", { class: "muted" }, fmtTime(c.ended_at, c.property_id), " · ", fmtDuration(c.duration_s || 0)),
    c.callback ? el("span", { class: "muted" }, " · call-back: ", label(c.callback.stage), " — ", c.callback.detail) : null,
    c.handoff ? el("span", { class: "muted" }, " · hand-off: ", label(c.handoff.stage), c.handoff.dial_status ? " (" + c.handoff.dial_status + ")" : "") : null);
}

function bubble(t) {
  const who = t.role === "agent" ? "Agent" : t.role === "caller" ? "Caller" : "System";
  const cls = `bubble bubble-${t.role}${t.final ? "" : " partial"}${t.interrupted ? " interrupted" : ""}`;
  return el("div", { class: cls }, el("span", { class: "who" }, who), t.text);
}

function callCard(call) {
  const other = call.direction === "outbound" ? call.to_number : call.from_number;
  const elapsed = call.started_at ? (Date.now() - Date.parse(call.started_at)) / 1000 : 0;
  const turns = call.transcript.map(bubble);
  return el("article", { class: "call", "data-call": call.call_id },
    el("div", { class: "call-head" }, el("span", { class: "live-dot", "aria-label": "live" }),
      el("span", { class: "call-who" }, other), chip(call.call_type), " ",
      el("span", { class: "chip chip-plain" }, (own(PERSONA, call.call_type) || "") + " persona")),
    el("div", { class: "call-meta" }, propName(call.property_id), " · ",
      call.direction === "outbound" ? "outbound" : "inbound", " · ", label(String(call.status).replace(/-/g, " ")),
      " · ", el("span", { "data-started": call.started_at || "" }, fmtDuration(elapsed)),
      call.handoff ? el("span", { class: "muted" }, " · hand-off: ", label(call.handoff.stage),
        call.handoff.dial_status ? " (" + call.handoff.dial_status + ")" : "") : null),
    el("div", { class: "transcript", "data-call": call.call_id, "aria-live": "polite" },
      turns.length ? turns : empty("Waiting for speech…")));
}

function renderHealth() {
  const now = Date.now() / 1000;
  const beats = Object.values(state.services)
    .sort((a, b) => String(a.service + a.instance).localeCompare(String(b.service + b.instance)));
  document.getElementById("health").replaceChildren(...(beats.length ? beats.map((b) => {
    const age = now - b.ts; const stale = !(age <= STALE_AFTER_S);
    return el("li", null, el("span", { class: stale ? "dot" : "dot dot-" + b.state }),
      el("span", { class: "svc" }, b.service), " ",
      chip(stale ? "stale" : b.state, stale ? "no heartbeat" : label(b.state)), " ",
      el("span", { class: "inst" }, b.instance, el("br"), Math.max(0, Math.round(age)) + " s ago"));
  }) : [empty("Waiting for heartbeats…", "li")]));
}

function fillPropertyFilter() {
  const select = document.getElementById("property-filter");
  const current = select.value || localStorage.getItem("fixline.property") || "";
  select.replaceChildren(new Option("All properties", ""),
    ...Object.values(state.properties).map((p) => new Option(p.name, p.id)));
  select.value = state.properties[current] ? current : "";
}

// An alert stays on the card until a manager marks it handled (POST, same origin, session cookie).
function alertBlock(inc) {
  const open = (inc.alerts || []).filter((a) => !a.handled);
  if (!open.length) return null;
  return el("div", { class: "alert-banner", role: "alert" }, ...open.map((a) => el("p", null,
    el("b", null, label(a.reason).toUpperCase()), " · ", fmtTime(a.raised_at, inc.property_id, false), " — ", a.detail, " ",
    el("button", { class: "alert-handle", "data-alert": a.alert_id, "data-incident": inc.incident_id }, "Mark handled"))));
}

async function handleAlert(button) {
  button.disabled = true;
  const response = await fetch("/api/alerts/handled", { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ incident_id: button.dataset.incident, alert_id: button.dataset.alert }) });
  if (!response.ok) { button.disabled = false; toast("Could not mark the alert handled."); }
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
  document.getElementById("incidents").addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button[data-alert]");
    if (button) handleAlert(button);
  });
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

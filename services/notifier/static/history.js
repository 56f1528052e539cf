// The history page: search incidents and calls (PostgreSQL, via /api/history), each call's
// report and transcript, an incident's audit trail, costs. Like app.js, every value from the
// server becomes a Text node or an attribute value: no innerHTML, no markup strings.
"use strict";

const ATTRIBUTES = /^(class|data-[a-z-]+|aria-[a-z-]+|role|value|type|selected|controls|preload|src)$/;
const state = { properties: Object.create(null) };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (!ATTRIBUTES.test(name)) throw new Error("el(): attribute not allowed: " + name);
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
const $ = (id) => document.getElementById(id);
const label = (value) => String(value ?? "").replace(/[_-]+/g, " ");
const chip = (value, text) => el("span", { class: "chip chip-" + String(value) }, text ?? label(value));
const money = (value, currency) => (Number(value) || 0).toFixed(4) + " " + (currency || "USD");

function when(iso, propertyId) {
  if (!iso) return "";
  const zone = state.properties[propertyId]?.timezone || "UTC";
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, dateStyle: "medium", timeStyle: "short" })
      .format(new Date(iso));
  } catch (_) { return String(iso); }
}

async function getJson(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v) url.searchParams.set(k, v);
  const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (resp.status === 401) { location.assign("/"); throw new Error("signed out"); }
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || ("HTTP " + resp.status));
  return body;
}

function show(container, ...nodes) { container.replaceChildren(...nodes.flat()); }
function failure(container, err) { show(container, el("p", { class: "empty", role: "alert" }, String(err.message))); }

// ---------- search ----------
function formParams() {
  const params = {};
  for (const id of ["q", "kind", "property", "status", "from", "to"]) params[id] = $(id).value.trim();
  return params;
}

async function search(event) {
  event?.preventDefault();
  const params = formParams();
  history.replaceState(null, "", "?" + new URLSearchParams(Object.entries(params).filter(([, v]) => v)));
  try {
    const body = await getJson("/api/history/search", params);
    $("total").textContent = body.total + (body.total === 1 ? " match" : " matches");
    const rows = body.results.map(body.kind === "calls" ? callRow : incidentRow);
    show($("results"), rows.length ? rows : [el("p", { class: "empty" }, "Nothing found.")]);
  } catch (err) { failure($("results"), err); }
}

function propertyName(id) { return state.properties[id]?.name || id; }

function incidentRow(i) {
  const row = el("button", { class: "result", type: "button", "data-incident": i.incident_id },
    el("div", { class: "result-head" }, el("span", { class: "result-title" }, label(i.category)),
      chip(i.severity), chip(i.status)),
    el("div", { class: "incident-meta" }, propertyName(i.property_id), " · ", when(i.created_at, i.property_id),
      " · ", i.calls, " call(s) · ", money(i.cost)),
    el("p", { class: "result-text" }, i.description));
  row.addEventListener("click", () => openIncident(i.incident_id));
  return row;
}

function callRow(c) {
  const row = el("button", { class: "result", type: "button", "data-call": c.call_id },
    el("div", { class: "result-head" }, el("span", { class: "result-title" }, label(c.call_type) + " call"),
      chip(c.call_type), chip(c.direction, c.direction), c.outcome ? chip(c.outcome) : chip(c.status)),
    el("div", { class: "incident-meta" }, propertyName(c.property_id), " · ", when(c.created_at, c.property_id),
      c.cost != null ? [" · ", money(c.cost)] : ""),
    c.summary ? el("p", { class: "result-text" }, c.summary) : "");
  row.addEventListener("click", () => openCall(c.call_id));
  return row;
}

// ---------- details ----------
function reportCard(r, propertyId) {
  if (!r) return el("p", { class: "empty" }, "No report yet (the call is live or just ended).");
  const fact = (name, value) => el("div", {}, el("b", {}, String(value)), name);
  return el("section", { class: "report", "aria-label": "Call report" },
    el("div", { class: "result-head" }, el("span", { class: "result-title" }, "End-of-call report"),
      chip(r.outcome), chip("plain", r.source === "gemini" ? "AI summary" : "plain summary")),
    el("p", { class: "result-text" }, r.summary),
    r.follow_ups?.length ? el("ul", { class: "follow-ups" }, r.follow_ups.map((f) => el("li", {}, f))) : "",
    el("div", { class: "report-facts" },
      fact("duration", Math.round(r.duration_s) + " s"), fact("turns", r.turns),
      fact("interruptions", r.interruptions), fact("tools", (r.tools || []).join(", ") || "none"),
      fact("tokens in/out", (r.usage.input_audio_tokens + r.usage.input_text_tokens) + " / "
        + (r.usage.output_audio_tokens + r.usage.output_text_tokens)),
      fact("cost", money(r.cost.total, r.cost.currency))),
    el("div", { class: "incident-meta" }, when(r.started_at, propertyId), " – ", when(r.ended_at, propertyId),
      " · ", r.cost.billed_minutes, " billed min · telephony ", money(r.cost.telephony, r.cost.currency),
      " · Gemini ", money(r.cost.gemini, r.cost.currency)));
}

function transcript(turns) {
  if (!turns.length) return el("p", { class: "empty" }, "No transcript.");
  return el("div", { class: "transcript", "aria-label": "Transcript" },
    turns.map((t) => el("div", { class: "bubble bubble-" + t.role }, t.text)));
}

function recording(callId, r) {
  if (!r) return null;
  // Same-origin proxy (session cookie); the Twilio media URL never reaches the browser.
  return el("section", { class: "recording", "aria-label": "Call recording" },
    el("span", { class: "result-title" }, "Recording"), " ", r.duration_s != null ? r.duration_s + " s" : "",
    el("audio", { controls: true, preload: "none",
                  src: "/api/history/calls/" + encodeURIComponent(callId) + "/recording" }));
}

async function openCall(callId) {
  try {
    const c = await getJson("/api/history/calls/" + encodeURIComponent(callId));
    show($("detail"),
      el("div", { class: "call-head" }, el("span", { class: "call-who" }, label(c.call_type) + " call"),
        chip(c.direction, c.direction), chip(c.status)),
      el("div", { class: "call-meta" }, c.from_number, " → ", c.to_number, " · ", propertyName(c.property_id)),
      reportCard(c.report, c.property_id), recording(c.call_id || callId, c.recording), transcript(c.transcript));
  } catch (err) { failure($("detail"), err); }
}

async function openIncident(incidentId) {
  try {
    const i = await getJson("/api/history/incidents/" + encodeURIComponent(incidentId));
    const calls = i.calls.map(callRow);
    show($("detail"),
      el("div", { class: "result-head" }, el("span", { class: "result-title" }, label(i.category)),
        chip(i.severity), chip(i.status)),
      el("p", { class: "result-text" }, i.description),
      el("div", { class: "incident-meta" }, propertyName(i.property_id), " · cost ", money(i.cost)),
      el("h3", {}, "Audit trail"),
      el("ol", { class: "audit" }, i.audit.map((a) => el("li", { "data-kind": a.kind },
        el("div", { class: "when" }, when(a.at, i.property_id), " · ", a.actor), label(a.kind), ": ", a.detail))),
      el("h3", {}, "Calls"), calls.length ? calls : el("p", { class: "empty" }, "No calls."));
  } catch (err) { failure($("detail"), err); }
}

// ---------- costs and start-up ----------
async function loadCosts() {
  try {
    const body = await getJson("/api/history/costs", { from: $("from").value, to: $("to").value });
    if (!body.properties.length) { show($("costs"), el("p", { class: "empty" }, "No reported calls.")); return; }
    show($("costs"), el("table", { class: "costs" },
      el("thead", {}, el("tr", {}, ["Property", "Calls", "Min", "Telephony", "Gemini", "Total"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, body.properties.map((p) => el("tr", {}, el("td", {}, propertyName(p.property_id)),
        el("td", {}, p.calls), el("td", {}, p.billed_minutes), el("td", {}, money(p.telephony)),
        el("td", {}, money(p.gemini)), el("td", {}, money(p.total)))))));
  } catch (err) { failure($("costs"), err); }
}

async function start() {
  try {
    const snapshot = await getJson("/api/snapshot");
    for (const p of snapshot.properties) state.properties[p.id] = p;
    $("property").append(...snapshot.properties.map((p) => el("option", { value: p.id }, p.name)));
  } catch (_) { /* names stay ids */ }
  const params = new URLSearchParams(location.search);
  for (const id of ["q", "kind", "property", "status", "from", "to"]) if (params.get(id)) $(id).value = params.get(id);
  $("search").addEventListener("submit", (e) => { search(e); loadCosts(); });
  await Promise.all([search(), loadCosts()]);
  if (params.get("incident")) await openIncident(params.get("incident"));
  else if (params.get("call")) await openCall(params.get("call"));
}
document.addEventListener("DOMContentLoaded", start);

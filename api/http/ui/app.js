// Citewise web UI: plain JavaScript, no build step, nothing fetched from elsewhere. Every call goes through
// the public API with the signed-in key, so the page shows only what that key's principal may see.
// Document and answer text is always inserted as text (never as HTML): it is data, not markup.
"use strict";

const state = { key: sessionStorage.getItem("citewise.key") || "", me: null, sessionId: null, sessions: [] };

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(method, path, body, { raw = false, form = false } = {}) {
  const headers = { Authorization: `Bearer ${state.key}` };
  let payload;
  if (form) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const r = await fetch(path, { method, headers, body: payload });
  if (raw) return r;
  const data = r.status === 204 ? null : await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data && data.detail) ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : `HTTP ${r.status}`);
  return data;
}

function fill(el, ...kids) { el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false)); }

function errorBox(where, err) { fill(where, h("p", { class: "error", role: "alert", text: err.message || String(err) })); }

// ---- pages --------------------------------------------------------------------------------------------

const PAGES = {
  chat: { title: "Chat", render: renderChat },
  search: { title: "Search", render: renderSearch },
  documents: { title: "Documents", render: renderDocuments },
  connectors: { title: "Connectors", render: renderConnectors, admin: true },
  prompts: { title: "Prompts", render: renderPrompts, admin: true },
  review: { title: "Review", render: renderReview, admin: true },
  audit: { title: "Audit log", render: renderAudit, admin: true },
  identities: { title: "Identities", render: renderIdentities, admin: true },
  keys: { title: "API keys", render: renderKeys, admin: true },
  dashboard: { title: "Dashboard", render: renderDashboard, admin: true },
  evals: { title: "Evals", render: renderEvals, admin: true },
};

function route() {
  const main = document.getElementById("main");
  if (!state.key || !state.me) return renderSignIn(main);
  let name = (location.hash || "#chat").slice(1);
  if (!PAGES[name] || (PAGES[name].admin && !state.me.admin)) name = "chat";
  const nav = document.getElementById("nav");
  nav.hidden = false;
  fill(nav, ...Object.entries(PAGES).filter(([, p]) => !p.admin || state.me.admin).map(([id, p]) =>
    h("a", { href: `#${id}`, "aria-current": id === name ? "page" : null, text: p.title })));
  document.getElementById("who").textContent = `${state.me.user_id || "no user"} · ${state.me.tenant}${state.me.admin ? " · admin" : ""}`;
  document.getElementById("signout").hidden = false;
  document.title = `${PAGES[name].title} · Citewise`;
  fill(main);
  PAGES[name].render(main);
}

function renderSignIn(main) {
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  const status = h("p", { role: "status" });
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, placeholder: "cw_…" });
  const form = h("form", { class: "panel", onsubmit: async (e) => {
    e.preventDefault();
    state.key = input.value.trim();
    try {
      state.me = await api("GET", "/v1/me");
      sessionStorage.setItem("citewise.key", state.key);
      route();
    } catch (err) { state.key = ""; state.me = null; errorBox(status, err); }
  } }, h("label", { for: "api-key", text: "API key" }), input,
    h("p", { class: "muted", text: "The key stays in this browser tab's session only. `make run` prints the local admin key." }),
    h("button", { type: "submit", text: "Sign in" }), status);
  fill(main, h("h1", { text: "Sign in to Citewise" }), form);
  input.focus();
}

// ---- chat ---------------------------------------------------------------------------------------------

function renderChat(main) {
  const question = h("textarea", { id: "question", required: true, rows: 3 });
  const answer = h("div", { id: "answer", class: "answer", "aria-live": "polite", "data-tokens": "0" });
  const meta = h("div", { id: "answer-meta" });
  const sources = h("ol", { id: "sources" });
  const sessionsList = h("ul", { class: "plain", id: "sessions" });
  const drawSessions = () => fill(sessionsList, ...state.sessions.map((s) => h("li", {},
    h("button", { type: "button", class: "secondary", "aria-pressed": String(s.id === state.sessionId),
      onclick: () => { state.sessionId = s.id; drawSessions(); }, text: s.title }))));
  drawSessions();
  const form = h("form", { onsubmit: (e) => { e.preventDefault(); ask(question.value.trim(), { answer, meta, sources, drawSessions }); } },
    h("label", { for: "question", text: "Your question" }), question,
    h("div", { class: "row" }, h("button", { type: "submit", id: "ask", text: "Ask" }),
      h("button", { type: "button", class: "secondary", onclick: () => { state.sessionId = null; drawSessions(); answer.textContent = ""; fill(sources); fill(meta); question.focus(); }, text: "New conversation" })));
  question.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });
  main.append(h("h1", { text: "Chat" }), h("div", { class: "layout" },
    h("section", { class: "panel", "aria-labelledby": "sessions-h" }, h("h2", { id: "sessions-h", text: "Conversations" }), sessionsList),
    h("section", { "aria-labelledby": "ask-h" }, h("h2", { id: "ask-h", class: "muted", text: "Ask about your documents" }), form,
      h("h2", { text: "Answer" }), answer, meta),
    h("section", { class: "panel", "aria-labelledby": "sources-h" }, h("h2", { id: "sources-h", text: "Sources" }), sources)));
  question.focus();
}

async function ask(q, ui) {
  if (!q) return;
  ui.answer.textContent = ""; ui.answer.dataset.tokens = "0"; ui.answer.setAttribute("aria-busy", "true");
  fill(ui.meta, h("p", { class: "muted", role: "status", text: "Thinking…" })); fill(ui.sources);
  let text = "";
  const steps = [];
  try {
    const r = await api("POST", "/v1/chat", { question: q, stream: true, session_id: state.sessionId }, { raw: true });
    if (!r.ok) { const d = await r.json().catch(() => ({})); throw new Error(d.detail || `HTTP ${r.status}`); }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, cut); buf = buf.slice(cut + 2);
        const ev = (frame.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((frame.match(/^data: (.*)$/m) || [, "null"])[1]);
        if (ev === "token") { text += data; ui.answer.textContent = text; ui.answer.dataset.tokens = String(Number(ui.answer.dataset.tokens) + 1); }
        else if (ev === "reset") { text = ""; ui.answer.textContent = ""; }
        else if (ev === "retrieval") drawSources(ui.sources, data, []);
        else if (ev === "step") steps.push(data);
        else if (ev === "error") throw new Error(data.message);
        else if (ev === "done") showResult(data, ui, q, steps);
      }
    }
  } catch (err) { errorBox(ui.meta, err); }
  ui.answer.removeAttribute("aria-busy");
}

function showResult(res, ui, q, steps) {
  if (!state.sessionId && res.session_id) state.sessions.unshift({ id: res.session_id, title: q.length > 60 ? `${q.slice(0, 59)}…` : q });
  state.sessionId = res.session_id || state.sessionId;
  ui.drawSessions();
  // the answer with its [n] markers as buttons that open the cited passage
  const byN = Object.fromEntries(res.citations.map((c) => [c.n, c]));
  const parts = res.answer.split(/(\[\d+\])/);
  fill(ui.answer, ...parts.map((p) => {
    const m = p.match(/^\[(\d+)\]$/);
    if (m && byN[m[1]]) return h("button", { type: "button", class: "cite", "aria-label": `Source ${m[1]}: ${byN[m[1]].title}`, onclick: () => openViewer(byN[m[1]]), text: p });
    return document.createTextNode(p);
  }));
  if (res.refused) ui.answer.classList.add("refused"); else ui.answer.classList.remove("refused");
  drawSources(ui.sources, res.sources, res.citations);
  const flags = (res.flags || []).map((f) => h("span", { class: "flag", text: f }));
  const warn = [];
  if (res.refused) warn.push(h("p", { class: "flag", role: "note", text: "No grounded answer: the nearest sources are listed." }));
  else if (!res.grounded) warn.push(h("p", { class: "flag", role: "note", text: "Not grounded: check the sources before relying on this answer." }));
  const QUIET = new Set(["pass", "off", "fit", "skip", "skipped"]);
  const guard = Object.entries(res.checks || {}).filter(([, v]) => !QUIET.has(v)).map(([k, v]) => h("span", { class: "flag", text: `${k}: ${v}` }));
  const checks = h("details", {}, h("summary", { text: "Guardrail checks" }), h("ul", {}, ...Object.entries(res.checks || {}).map(([k, v]) => h("li", { text: `${k}: ${v}` }))));
  const stepsBox = (res.steps && res.steps.length ? res.steps : steps).length ? h("details", {}, h("summary", { text: `Agent steps (${(res.steps.length ? res.steps : steps).length})` }),
    ...(res.steps.length ? res.steps : steps).map((s, i) => h("pre", { text: `${i + 1}. ${JSON.stringify(s, null, 1)}` }))) : null;
  const comment = h("input", { id: "feedback-comment" });
  const thanks = h("span", { role: "status" });
  const vote = (rating) => api("POST", "/v1/feedback", { trace_id: res.trace_id, rating, comment: comment.value })
    .then(() => { thanks.textContent = "Thanks for the feedback."; }, (e) => { thanks.textContent = e.message; });
  fill(ui.meta, ...[...warn, h("div", {}, ...flags, ...guard), checks, stepsBox,
    h("p", { class: "muted", text: `${res.profile || ""} · ${res.usage ? res.usage.total_tokens : 0} tokens · trace ${res.trace_id}` }),
    h("div", { class: "row", role: "group", "aria-label": "Rate this answer" },
      h("button", { type: "button", class: "secondary", onclick: () => vote("up"), text: "Helpful" }),
      h("button", { type: "button", class: "secondary", onclick: () => vote("down"), text: "Not helpful" }),
      h("div", {}, h("label", { for: "feedback-comment", class: "muted", text: "Comment (optional)" }), comment), thanks)].filter(Boolean));
}

function drawSources(list, sources, citations) {
  const cited = Object.fromEntries((citations || []).map((c) => [c.n, c]));
  fill(list, ...(sources || []).map((s) => h("li", {},
    h("button", { type: "button", class: "secondary", onclick: () => openViewer(cited[s.n] || { ...s, quote: "" }),
      text: `${s.title}${s.page ? ` (p. ${s.page})` : ""}` }),
    cited[s.n] ? h("p", { class: "muted", text: `“${cited[s.n].quote}”` }) : null)));
}

// ---- the document viewer ------------------------------------------------------------------------------

async function openViewer(cite) {
  const dialog = document.getElementById("viewer");
  const body = document.getElementById("viewer-body");
  document.getElementById("viewer-title").textContent = cite.title || "Document";
  fill(body, h("p", { role: "status", text: "Loading…" }));
  if (!dialog.open) dialog.showModal();
  try {
    const view = await api("GET", `/v1/documents/${encodeURIComponent(cite.doc_id)}/view`);
    const passage = view.passages.find((p) => p.chunk_id === cite.chunk_id);
    const page = cite.page || (passage && passage.page);
    if (view.format === "pdf" && page) {
      const pv = await api("GET", `/v1/documents/${encodeURIComponent(cite.doc_id)}/pages/${page}?quote=${encodeURIComponent(cite.quote || "")}`);
      const img = h("img", { src: pv.image, alt: `Page ${pv.page} of ${pv.pages} of ${view.title}`, width: pv.width, height: pv.height });
      const frame = h("div", { class: "page" }, img, ...pv.highlights.map((b) => {
        const d = h("div", { class: "hl", "aria-hidden": "true" });
        d.style.left = `${b.left * 100}%`; d.style.top = `${b.top * 100}%`; d.style.width = `${b.width * 100}%`; d.style.height = `${b.height * 100}%`;
        return d;
      }));
      fill(body, h("p", { class: "muted", text: `Page ${pv.page} of ${pv.pages}` }),
        h("p", {}, "Highlighted: ", h("mark", { id: "highlighted", text: pv.highlighted_text || "(the quote was not found on this page)" })), frame);
      const first = frame.querySelector(".hl");
      if (first) first.scrollIntoView({ block: "center" });
    } else {
      const text = h("div", { class: "doctext" });
      let target = null;
      for (const p of view.passages) {
        const para = h("p", { "data-chunk": p.chunk_id });
        const at = cite.quote && p.chunk_id === cite.chunk_id ? p.text.indexOf(cite.quote) : -1;
        if (at >= 0) {
          para.append(p.text.slice(0, at), h("mark", { id: "highlighted", text: cite.quote }), p.text.slice(at + cite.quote.length));
        } else para.textContent = p.text;
        if (p.chunk_id === cite.chunk_id) { para.classList.add("current"); target = para; }
        text.append(para);
      }
      fill(body, h("p", { class: "muted", text: view.uri }), text);
      if (target) (target.querySelector("mark") || target).scrollIntoView({ block: "center" });
    }
  } catch (err) { errorBox(body, err); }
  document.getElementById("viewer-close").focus();
}

// ---- search -------------------------------------------------------------------------------------------

function renderSearch(main) {
  const q = h("input", { id: "search-q", required: true });
  const k = h("input", { id: "search-k", type: "number", min: 1, max: 200, value: 10 });
  const mode = h("select", { id: "search-mode" }, ...["", "hybrid", "dense", "sparse"].map((m) => h("option", { value: m, text: m || "default" })));
  const source = h("input", { id: "search-source", placeholder: "source id (optional)" });
  const out = h("div", { id: "results", "aria-live": "polite" });
  const form = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    const body = { query: q.value.trim(), k: Number(k.value) || 10 };
    if (mode.value) body.mode = mode.value;
    if (source.value.trim()) body.filters = { sources: [source.value.trim()] };
    try {
      const r = await api("POST", "/v1/search", body);
      fill(out, h("p", { class: "muted", text: `${r.hits.length} passages` }), h("ol", {}, ...r.hits.map((hit) => h("li", {},
        h("button", { type: "button", class: "secondary", onclick: () => openViewer({ ...hit, quote: "" }), text: hit.title }),
        h("p", { text: hit.text.slice(0, 400) }),
        h("p", { class: "muted", text: Object.entries(hit.scores || {}).map(([s, v]) => `${s} ${v.toFixed(3)}`).join(" · ") || `score ${hit.score.toFixed(3)}` })))));
    } catch (err) { errorBox(out, err); }
  } }, h("div", { class: "row" },
    h("div", {}, h("label", { for: "search-q", text: "Query" }), q),
    h("div", {}, h("label", { for: "search-k", text: "Results" }), k),
    h("div", {}, h("label", { for: "search-mode", text: "Mode" }), mode),
    h("div", {}, h("label", { for: "search-source", text: "Source" }), source),
    h("button", { type: "submit", text: "Search" })));
  main.append(h("h1", { text: "Search" }), form, out);
  q.focus();
}

// ---- documents ----------------------------------------------------------------------------------------

function renderDocuments(main) {
  const list = h("div", { class: "scroll" });
  const status = h("p", { role: "status", id: "upload-status" });
  const file = h("input", { id: "upload-file", type: "file", multiple: true });
  const upload = async (files) => {
    for (const f of files) {
      const data = new FormData();
      data.append("file", f, f.name);
      status.textContent = `Uploading ${f.name}…`;
      try {
        const r = await api("POST", "/v1/documents", data, { form: true });
        status.textContent = r.upload_id ? `${f.name}: queued` : `${f.name}: indexed (${r.chunks} passages)`;
      } catch (err) { status.textContent = `${f.name}: ${err.message}`; }
    }
    load();
  };
  const drop = h("div", { class: "drop", id: "drop" }, h("p", { text: "Drop files here, or choose them:" }),
    h("label", { for: "upload-file", text: "Files to upload" }), file);
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files); });
  file.addEventListener("change", () => upload(file.files));
  async function load() {
    try {
      const docs = (await api("GET", "/v1/documents", undefined)).documents;
      fill(list, h("table", {}, h("caption", { class: "muted", text: `${docs.length} documents you may read` }),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Title" }), h("th", { scope: "col", text: "Source" }), h("th", { scope: "col", text: "Readers" }), h("th", { scope: "col", text: "Actions" }))),
        h("tbody", {}, ...docs.map((d) => h("tr", {}, h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => openViewer({ doc_id: d.doc_id, title: d.title, chunk_id: "", quote: "" }), text: d.title })),
          h("td", { text: d.uri }), h("td", { text: d.acl.map((a) => (a === "*" ? "everyone in the tenant" : a)).join(", ") }),
          h("td", {}, state.me.admin ? h("button", { type: "button", class: "secondary", "aria-label": `Delete ${d.title}`, onclick: async () => {
            if (!confirm(`Delete ${d.title}?`)) return;
            try { await api("DELETE", `/v1/documents/${encodeURIComponent(d.doc_id)}`); load(); } catch (err) { status.textContent = err.message; }
          }, text: "Delete" }) : null))))));
    } catch (err) { errorBox(list, err); }
  }
  main.append(h("h1", { text: "Documents" }), drop, status, list);
  load();
}

// ---- admin: connectors ---------------------------------------------------------------------------------

function schemaFields(schema) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, prop]) => {
    const any = prop.anyOf ? prop.anyOf.find((p) => p.type !== "null") || {} : prop;
    const type = any.type || (prop.format === "password" ? "string" : "string");
    const id = `cfg-${name}`;
    let input;
    if (type === "boolean") input = h("input", { id, name, type: "checkbox", checked: prop.default === true });
    else if (type === "integer" || type === "number") input = h("input", { id, name, type: "number", step: type === "integer" ? 1 : "any", value: prop.default ?? "" });
    else input = h("input", { id, name, type: any.format === "password" || any.writeOnly ? "password" : "text", value: Array.isArray(prop.default) ? prop.default.join(",") : (prop.default ?? ""), required: required.has(name) });
    return { name, type, input, el: h("div", {}, h("label", { for: id, text: `${name}${required.has(name) ? " *" : ""}` }), input, prop.description ? h("p", { class: "muted", text: prop.description }) : null) };
  });
}

function renderConnectors(main) {
  const list = h("div", { class: "scroll", id: "connector-list" });
  const jobs = h("div", { id: "jobs", "aria-live": "polite" });
  const typeSel = h("select", { id: "connector-type" });
  const name = h("input", { id: "connector-name", required: true });
  const fields = h("div", { id: "connector-fields" });
  const status = h("p", { role: "status", id: "connector-status" });
  let types = [], current = [];
  const drawFields = () => {
    const t = types.find((x) => x.type === typeSel.value);
    current = t ? schemaFields(t.schema) : [];
    fill(fields, ...current.map((f) => f.el));
  };
  typeSel.addEventListener("change", drawFields);
  const form = h("form", { class: "panel", onsubmit: async (e) => {
    e.preventDefault();
    const config = {};
    for (const f of current) {
      if (f.type === "boolean") { if (f.input.checked) config[f.name] = true; continue; }
      const v = f.input.value.trim();
      if (v === "") continue;
      config[f.name] = f.type === "integer" || f.type === "number" ? Number(v) : v;
    }
    status.textContent = "Checking the source…";
    try {
      await api("POST", "/v1/connectors", { name: name.value.trim(), type: typeSel.value, config });
      status.textContent = `Added ${name.value.trim()}.`;
      load();
    } catch (err) { status.textContent = `Not added: ${err.message}`; }
  } }, h("h2", { text: "Add a connector" }), h("label", { for: "connector-name", text: "Name" }), name,
    h("label", { for: "connector-type", text: "Type" }), typeSel, fields, h("button", { type: "submit", id: "connector-add", text: "Validate and add" }), status);
  async function watch(jobId, row) {
    for (;;) {
      const j = await api("GET", `/v1/jobs/${jobId}`);
      fill(row, h("span", { text: `${j.connector}: ${j.status} · ${j.done}/${j.total || "?"} done, ${j.failed} failed` }),
        h("progress", { max: j.total || 1, value: j.status === "succeeded" ? (j.total || 1) : j.done, "aria-label": `${j.connector} progress` }),
        ...(j.errors || []).map((e) => h("p", { class: "error", text: `${e.path || e.key || ""}: ${e.error}` })), j.error ? h("p", { class: "error", text: j.error }) : null);
      row.dataset.status = j.status;
      if (j.status === "succeeded" || j.status === "failed") return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  async function load() {
    try {
      const cs = (await api("GET", "/v1/connectors")).connectors;
      fill(list, h("table", {}, h("caption", { class: "muted", text: `${cs.length} connectors` }),
        h("thead", {}, h("tr", {}, ...["Name", "Type", "Options", "Credentials", "Action"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ...cs.map((c) => h("tr", {}, h("td", { text: c.name }), h("td", { text: c.type }),
          h("td", { text: Object.entries(c.config).map(([k, v]) => `${k}=${v}`).join(" ") }), h("td", { text: (c.secrets || []).join(", ") }),
          h("td", {}, h("button", { type: "button", "aria-label": `Sync ${c.name} now`, onclick: async () => {
            const row = h("div", { class: "job" });
            jobs.prepend(row);
            try { const j = await api("POST", `/v1/connectors/${c.id}/sync`); await watch(j.job_id, row); } catch (err) { errorBox(row, err); }
          }, text: "Sync now" })))))));
    } catch (err) { errorBox(list, err); }
  }
  main.append(h("h1", { text: "Connectors" }), list, h("h2", { text: "Jobs" }), jobs, form);
  api("GET", "/v1/connector-types").then((r) => {
    types = Object.entries(r.types).map(([type, t]) => ({ type, ...t }));
    fill(typeSel, ...types.map((t) => h("option", { value: t.type, text: `${t.type} — ${t.description.split("\n")[0].slice(0, 80)}` })));
    drawFields();
  }, (err) => errorBox(fields, err));
  load();
}

// ---- admin: prompts, review, audit, identities -------------------------------------------------------------

function table(rows, cols) {
  return h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ...cols.map(([t]) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...cols.map(([, f]) => { const v = f(r); return h("td", {}, v instanceof Node ? v : String(v ?? "")); }))))));
}

function renderPrompts(main) {
  const out = h("div");
  main.append(h("h1", { text: "Prompt templates" }), out);
  const load = () => api("GET", "/v1/prompts").then((ps) => fill(out, ...ps.map((p, i) => {
    const sys = h("textarea", { id: `prompt-${i}-system`, rows: 4 }); sys.value = p.system;
    const user = h("textarea", { id: `prompt-${i}-user`, rows: 4 }); user.value = p.user;
    const st = h("span", { role: "status" });
    return h("section", { class: "panel" }, h("h2", { text: `${p.ref} (${p.origin})` }),
      h("label", { for: `prompt-${i}-system`, text: "System" }), sys, h("label", { for: `prompt-${i}-user`, text: "User" }), user,
      h("button", { type: "button", onclick: () => api("PUT", `/v1/prompts/${encodeURIComponent(p.name)}`, { system: sys.value, user: user.value }).then((n) => { st.textContent = `Saved as ${n.ref}.`; load(); }, (e) => { st.textContent = e.message; }), text: "Save as a new version" }), st);
  })), (err) => errorBox(out, err));
  load();
}

function renderReview(main) {
  const out = h("div");
  main.append(h("h1", { text: "Review queue" }), out);
  const load = () => api("GET", "/v1/review").then((r) => {
    const items = r;
    fill(out, items.length ? table(items, [["When", (i) => i.at], ["Status", (i) => i.status], ["Reasons", (i) => (i.reasons || []).join(", ")],
      ["Question", (i) => i.question || ""], ["Answer", (i) => (i.answer || "").slice(0, 200)],
      ["Action", (i) => h("button", { type: "button", class: "secondary", onclick: () => api("POST", `/v1/review/${i.id}/resolve`, { note: "reviewed in the web UI" }).then(load, (e) => errorBox(out, e)), text: "Resolve" })]])
      : h("p", { class: "muted", text: "Nothing to review." }));
  }, (err) => errorBox(out, err));
  load();
}

function renderAudit(main) {
  const out = h("div");
  main.append(h("h1", { text: "Audit log" }), out);
  api("GET", "/v1/audit").then((r) => {
    const rows = r;
    fill(out, table(rows, [["When", (e) => e.at], ["User", (e) => e.user_id], ["Outcome", (e) => e.outcome], ["Profile", (e) => e.profile],
      ["Tokens", (e) => (e.prompt_tokens || 0) + (e.completion_tokens || 0)], ["Cost", (e) => e.cost], ["Flags", (e) => (e.flags || []).join(", ")]]));
  }, (err) => errorBox(out, err));
}

function renderIdentities(main) {
  const out = h("div");
  const ext = h("input", { id: "link-external", placeholder: "user:jira:557058:ab12", required: true });
  const user = h("input", { id: "link-user", placeholder: "ann@example.com", required: true });
  const st = h("p", { role: "status" });
  const load = () => api("GET", "/v1/identities").then((r) => fill(out, table(r.links, [["Source id", (l) => l.external], ["User", (l) => l.user_id],
    ["Action", (l) => h("button", { type: "button", class: "secondary", onclick: () => api("DELETE", `/v1/identities/${encodeURIComponent(l.external)}`).then(load), text: "Unlink" })]])), (e) => errorBox(out, e));
  main.append(h("h1", { text: "Identity links" }), h("p", { class: "muted", text: "Sources that name users by their own ids: link each id to the user's e-mail." }),
    h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); api("PUT", "/v1/identities", { external: ext.value.trim(), user_id: user.value.trim() }).then(() => { st.textContent = "Linked."; load(); }, (err) => { st.textContent = err.message; }); } },
      h("div", {}, h("label", { for: "link-external", text: "Source user id" }), ext), h("div", {}, h("label", { for: "link-user", text: "User e-mail" }), user), h("button", { type: "submit", text: "Link" })), st, out);
  load();
}

function renderKeys(main) {
  const out = h("div");
  const user = h("input", { id: "key-user", placeholder: "ann@example.com" });
  const groups = h("input", { id: "key-groups", placeholder: "eng, hr" });
  const admin = h("input", { id: "key-admin", type: "checkbox" });
  const shown = h("div", { role: "status", id: "new-key" });
  const load = () => api("GET", "/v1/keys").then((r) => fill(out, table(r.keys, [["Key id", (k) => k.key_id], ["User", (k) => k.user_id || "–"],
    ["Groups", (k) => k.groups.join(", ")], ["Admin", (k) => (k.admin ? "yes" : "no")], ["Created", (k) => k.created_at], ["State", (k) => (k.revoked ? "revoked" : "active")],
    ["Action", (k) => (k.revoked ? "" : h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${k.key_id}`, onclick: () => {
      if (confirm(`Revoke ${k.key_id}? Its next request is refused.`)) api("DELETE", `/v1/keys/${k.key_id}`).then(load, (e) => errorBox(shown, e));
    }, text: "Revoke" }))]])), (e) => errorBox(out, e));
  const form = h("form", { class: "panel", onsubmit: (e) => {
    e.preventDefault();
    api("POST", "/v1/keys", { user_id: user.value.trim() || null, groups: groups.value.split(",").map((g) => g.trim()).filter(Boolean), admin: admin.checked })
      .then((k) => { fill(shown, h("p", { text: "The new key, shown once (only its hash is kept): " }), h("code", { id: "new-key-value", text: k.key })); load(); }, (err) => errorBox(shown, err));
  } }, h("h2", { text: "Create a key" }), h("div", { class: "row" }, h("div", {}, h("label", { for: "key-user", text: "User (e-mail)" }), user),
    h("div", {}, h("label", { for: "key-groups", text: "Groups (comma-separated)" }), groups),
    h("div", {}, h("label", { for: "key-admin", text: "Admin" }), admin), h("button", { type: "submit", text: "Create key" })), shown);
  main.append(h("h1", { text: "API keys" }), out, form);
  load();
}

// ---- admin: evals --------------------------------------------------------------------------------------

async function pngUrl(path) {
  const r = await api("GET", path, undefined, { raw: true });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return URL.createObjectURL(await r.blob());
}

function renderEvals(main) {
  const out = h("div", { id: "eval-runs" });
  const detail = h("section", { id: "eval-detail", "aria-live": "polite" });
  const dataset = h("select", { id: "eval-dataset" });
  const status = h("p", { role: "status", id: "eval-status" });
  const files = ["corpus", "queries", "qrels"].map((n) => h("input", { id: `eval-${n}`, type: "file", name: n }));
  const metric = (run, cfg, m) => { const v = run.report && run.report.configs[cfg] && run.report.configs[cfg][m]; return typeof v === "number" ? v.toFixed(4) : "–"; };
  const show = async (run) => {
    if (!run.report) { fill(detail, h("p", { class: run.error ? "error" : "muted", text: run.error || `${run.dataset}: ${run.status}` })); return; }
    const cols = Object.keys(Object.values(run.report.configs)[0] || {});
    const plot = h("img", { alt: `Metrics per configuration for ${run.dataset}`, width: 800 });
    fill(detail, h("h2", { text: `${run.dataset} (${run.report.split}, ${run.report.queries} queries)` }),
      table(Object.entries(run.report.configs), [["Config", ([c]) => c], ...cols.map((m) => [m, ([, row]) => (typeof row[m] === "number" ? row[m].toFixed(m.startsWith("latency") ? 1 : 4) : row[m])])]), plot);
    pngUrl(`/v1/evals/runs/${run.id}/plot`).then((u) => { plot.src = u; }, () => plot.remove());
  };
  const load = () => api("GET", "/v1/evals").then((r) => {
    fill(dataset, ...r.datasets.map((d) => h("option", { value: d, text: d })));
    fill(out, r.runs.length ? table(r.runs, [["Dataset", (x) => x.dataset], ["Status", (x) => x.status], ["Started", (x) => new Date(x.created_at * 1000).toLocaleString()],
      ["nDCG@10 hybrid", (x) => metric(x, "hybrid", "ndcg@10")], ["nDCG@10 dense", (x) => metric(x, "dense", "ndcg@10")],
      ["Action", (x) => h("button", { type: "button", class: "secondary", onclick: () => show(x), text: `Show ${x.dataset}` })]]) : h("p", { class: "muted", text: "No eval runs yet." }));
    const busy = r.runs.find((x) => x.status === "queued" || x.status === "running");
    if (busy) setTimeout(() => { if (document.getElementById("eval-runs") === out) load(); }, 1000);
    else if (r.runs[0]) show(r.runs[0]);
  }, (e) => errorBox(out, e));
  const started = (run) => { status.textContent = `Started ${run.dataset} (${run.id}).`; load(); };
  const configured = h("form", { class: "panel", onsubmit: (e) => { e.preventDefault(); api("POST", "/v1/evals", { dataset: dataset.value }).then(started, (err) => { status.textContent = err.message; }); } },
    h("h2", { text: "Run a retrieval eval" }), h("label", { for: "eval-dataset", text: "Configured dataset" }), dataset, h("button", { type: "submit", text: "Run on this dataset" }));
  const uploaded = h("form", { class: "panel", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData();
    for (const f of files) { if (!f.files[0]) { status.textContent = `Choose the ${f.name} file.`; return; } data.append(f.name, f.files[0]); }
    api("POST", "/v1/evals/upload", data, { form: true }).then(started, (err) => { status.textContent = err.message; });
  } }, h("h2", { text: "Or upload a BEIR dataset" }),
    ...files.map((f) => h("div", {}, h("label", { for: f.id, text: { corpus: "corpus.jsonl", queries: "queries.jsonl", qrels: "qrels (TSV)" }[f.name] }), f)),
    h("button", { type: "submit", text: "Upload and run" }));
  main.append(h("h1", { text: "Evals" }), out, detail, status, h("div", { class: "row forms" }, configured, uploaded));
  load();
}

// ---- admin: dashboard ----------------------------------------------------------------------------------

function chart(title, points, key, unit) {
  const w = 600, hgt = 140, pad = 24;
  const vals = points.map((p) => p[key] ?? 0);
  const max = Math.max(1, ...vals);
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`); svg.setAttribute("class", "chart"); svg.setAttribute("role", "img");
  const total = vals.reduce((a, b) => a + b, 0);
  svg.setAttribute("aria-label", `${title}: max ${max.toFixed(1)} ${unit}, ${key === "requests" || key === "answers" ? `total ${total}` : `latest ${(vals.filter((v) => v).pop() || 0).toFixed(1)} ${unit}`}`);
  const bw = (w - 2 * pad) / Math.max(1, vals.length);
  vals.forEach((v, i) => {
    const r = document.createElementNS(svgNS, "rect");
    const bh = (v / max) * (hgt - 2 * pad);
    r.setAttribute("x", pad + i * bw); r.setAttribute("y", hgt - pad - bh); r.setAttribute("width", Math.max(1, bw - 1)); r.setAttribute("height", bh);
    r.setAttribute("fill", "#0b5cad");
    svg.append(r);
  });
  const label = document.createElementNS(svgNS, "text");
  label.setAttribute("x", pad); label.setAttribute("y", 14); label.setAttribute("font-size", "12"); label.setAttribute("fill", "#1b1f24");
  label.textContent = `max ${max.toFixed(1)} ${unit}`;
  svg.append(label);
  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  for (const [x, anchor, p] of [[pad, "start", points[0]], [w - pad, "end", points[points.length - 1]]]) {
    if (!p) continue;
    const t = document.createElementNS(svgNS, "text");
    t.setAttribute("x", x); t.setAttribute("y", hgt - 6); t.setAttribute("font-size", "12"); t.setAttribute("fill", "#1b1f24"); t.setAttribute("text-anchor", anchor);
    t.textContent = clock(p.t);
    svg.append(t);
  }
  return h("figure", { "data-series": key, "data-total": String(total) }, h("figcaption", { text: title }), svg);
}

function renderDashboard(main) {
  const win = h("select", { id: "dash-window" }, h("option", { value: "hour", text: "Last hour" }), h("option", { value: "day", text: "Last day" }));
  const out = h("div", { id: "dashboard" });
  const card = (label, value) => h("div", { class: "card" }, h("div", { class: "muted", text: label }), h("div", { class: "v", text: value }));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`);
  const load = () => api("GET", `/v1/dashboard?window=${win.value}`).then((d) => {
    fill(out, 
      h("div", { class: "cards" }, card("Requests", d.series.reduce((a, p) => a + p.requests, 0)), card("Answers", d.answers), card("Refusal rate", pct(d.refusal_rate)),
        card("Cache hit rate", pct(d.cache_hit_rate)), card("Jobs finished", d.jobs.finished), card("Items synced / s", d.jobs.items_per_s)),
      chart("Requests per bucket", d.series, "requests", "req"), chart("Latency p50", d.series, "p50_ms", "ms"), chart("Latency p95", d.series, "p95_ms", "ms"),
      chart("Answers per bucket", d.series, "answers", "answers"),
      h("h2", { text: "Tokens and cost per profile" }), table(Object.entries(d.profiles), [["Profile", ([n]) => n], ["Answers", ([, p]) => p.answers], ["Prompt tokens", ([, p]) => p.prompt_tokens], ["Completion tokens", ([, p]) => p.completion_tokens], ["Cost", ([, p]) => p.cost]]),
      h("h2", { text: "Guardrail and answer flags" }), table(Object.entries(d.flags), [["Flag", ([f]) => f], ["Count", ([, n]) => n]]),
      h("h2", { text: "Endpoints" }), d.endpoints.length ? table(d.endpoints, [["Profile", (e) => e.profile], ["Endpoint", (e) => e.endpoint || e.name], ["Circuit", (e) => e.state], ["In flight", (e) => e.outstanding], ["Served", (e) => e.served], ["Errors", (e) => e.errors]]) : h("p", { class: "muted", text: "No model server has been called yet." }));
  }, (err) => errorBox(out, err));
  win.addEventListener("change", load);
  main.append(h("h1", { text: "Dashboard" }), h("div", { class: "row" }, h("div", {}, h("label", { for: "dash-window", text: "Window" }), win), h("button", { type: "button", onclick: load, text: "Refresh" })), out);
  load();
}

// ---- start --------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("viewer-close").addEventListener("click", () => document.getElementById("viewer").close());
  document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem("citewise.key"); state.key = ""; state.me = null; location.hash = ""; route(); });
  window.addEventListener("hashchange", route);
  if (state.key) { try { state.me = await api("GET", "/v1/me"); } catch { state.key = ""; sessionStorage.removeItem("citewise.key"); } }
  route();
});

// The chat page: send a question, then get the answer by streaming (SSE), long-poll or polling.
// No build step and no library: it must work offline, straight from the backend.
"use strict";

const $ = (id) => document.getElementById(id);
// Relative URLs: the page works under a path prefix too (a proxy serving the backend at /chat/).
const api = "api/v1/chat";
let config = { dashboard_url: null, run_url: null };

function setStatus(status, attempt) {
  const el = $("status");
  el.textContent = status;
  el.dataset.status = status;
  $("attempt").textContent = attempt ? `attempt ${attempt}` : "";
}

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function seconds(ms) {
  return ms == null ? "–" : `${(ms / 1000).toFixed(2)} s`;
}

function recordTiming(mode, requestId, firstMs, totalMs, attempts) {
  const row = document.createElement("tr");
  row.dataset.mode = mode;
  for (const text of [mode, requestId, seconds(firstMs), seconds(totalMs), attempts ?? "–"]) {
    const cell = document.createElement("td");
    cell.textContent = String(text);
    row.appendChild(cell);
  }
  $("timings").querySelector("tbody").prepend(row);
}

async function linkRun(requestId) {
  await configReady;
  // The run appears in the Inngest REST API shortly after the event: ask a few times.
  for (let i = 0; i < 20 && config.run_url; i++) {
    try {
      const reply = await fetch(`${api}/${requestId}/runs`);
      if (reply.ok) {
        const body = await reply.json();
        if (body.runs && body.runs.length) {
          const link = $("run-link");
          link.href = config.run_url.replace("{run_id}", body.runs[0].run_id);
          link.hidden = false;
          return;
        }
      }
    } catch (err) {
      // The runs endpoint may be briefly unreachable; the answer matters more than the link.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function finish(answer, record, mode, requestId, started, firstAt) {
  const total = performance.now() - started;
  if (record.status === "done") {
    answer.textContent = record.content; // the stored result is the answer, whatever streamed
    answer.dataset.state = "done";
    setStatus("done", record.attempts);
  } else {
    answer.textContent = record.error || "the request failed";
    answer.dataset.state = "error";
    setStatus("error", record.attempts);
  }
  recordTiming(mode, requestId, firstAt == null ? total : firstAt - started, total, record.attempts);
}

function viaStream(requestId, answer, started) {
  return new Promise((resolve) => {
    let firstAt = null;
    const source = new EventSource(`${api}/${requestId}/stream`);
    source.addEventListener("status", (e) => {
      const data = JSON.parse(e.data);
      setStatus(data.status, data.attempt);
    });
    source.addEventListener("retry", (e) => {
      const data = JSON.parse(e.data);
      answer.textContent = ""; // the failed attempt's partial text is not the answer
      firstAt = null; // nor is its first token: time to first token counts the attempt that answers
      notice(`Attempt ${data.attempt - 1} failed mid-answer: its text was dropped, attempt ${data.attempt} starts.`);
    });
    source.addEventListener("token", (e) => {
      const data = JSON.parse(e.data);
      if (firstAt == null) firstAt = performance.now();
      answer.dataset.state = "streaming";
      answer.textContent += data.text;
    });
    const end = (e, status) => {
      source.close();
      const data = JSON.parse(e.data);
      resolve({ record: { status, ...data }, firstAt });
    };
    source.addEventListener("done", (e) => end(e, "done"));
    source.addEventListener("error", (e) => {
      if (e.data) {
        end(e, "error"); // the stream's own `error` event: the request failed
      } else {
        notice("The stream dropped; the browser reconnects and resumes (Last-Event-ID).");
      }
    });
  });
}

async function viaLongPoll(requestId) {
  for (;;) {
    const reply = await fetch(`${api}/result/${requestId}?wait=25`);
    const record = await reply.json();
    if (reply.ok && record.status !== "pending") return { record, firstAt: null };
    if (!reply.ok && reply.status !== 503) return { record: { status: "error", error: record.detail }, firstAt: null };
    setStatus("pending", record.attempts);
  }
}

async function viaPolling(requestId) {
  for (;;) {
    const reply = await fetch(`${api}/result/${requestId}`);
    const record = await reply.json();
    if (!reply.ok) return { record: { status: "error", error: record.detail }, firstAt: null };
    if (record.status !== "pending") return { record, firstAt: null };
    setStatus(record.attempts ? "running" : "pending", record.attempts);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function send(event) {
  event.preventDefault();
  const mode = document.querySelector("input[name=mode]:checked").value;
  const answer = $("answer");
  const button = $("send");
  button.disabled = true;
  answer.textContent = "";
  answer.dataset.state = "waiting";
  notice("");
  $("run-link").hidden = true;
  setStatus("pending");
  const started = performance.now();
  try {
    const reply = await fetch(api, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: $("query").value, clean: $("clean").checked }),
    });
    const accepted = await reply.json();
    if (!reply.ok) {
      const detail = typeof accepted.detail === "string" ? accepted.detail : JSON.stringify(accepted.detail);
      finish(answer, { status: "error", error: detail }, mode, "–", started, null);
      return;
    }
    const requestId = accepted.request_id;
    $("request-id").textContent = requestId;
    linkRun(requestId);
    const wait = { stream: viaStream, "long-poll": viaLongPoll, poll: viaPolling }[mode];
    const { record, firstAt } = await wait(requestId, answer, started);
    finish(answer, record, mode, requestId, started, firstAt);
  } catch (err) {
    finish(answer, { status: "error", error: `The backend is unreachable: ${err}` }, mode, "–", started, null);
  } finally {
    button.disabled = false;
  }
}

async function loadConfig() {
  try {
    config = await (await fetch("web/config.json")).json();
  } catch (err) {
    config = { dashboard_url: null, run_url: null };
  }
  const link = $("dashboard-link");
  if (config.dashboard_url) link.href = config.dashboard_url;
  else link.hidden = true;
}

const configReady = loadConfig();
$("ask").addEventListener("submit", send);

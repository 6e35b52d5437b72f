// A TypeScript-SDK 4.x app (plain JavaScript) the engine tests run against: served by the
// SDK's Node handler on PORT at /api/inngest, registering with the engine at ENGINE_URL.
//
// Each file in features/ adds what it tests: `module.exports = ({ inngest, seen }) =>
// ({ functions: [...], routes: { "/path": webHandler } })`. Functions are served at
// /api/inngest; a route is a Web API handler (Request -> Response), e.g. a durable endpoint.
// GET /seen answers what the app saw: `calls` (the engine's calls per function id), the
// dispatch generations the calls carried (header and body), the defers each call listed
// (`bodyDefers`, per function), what the features noted, and what a feature adds itself
// (defers.js: `deferred`, what each deferred run received). A feature may wait in a step
// for `gate(name)`, which POST /open?gate=name opens.
"use strict";

const http = require("node:http");
const { Readable } = require("node:stream");
const { Inngest } = require("inngest");
const { serve, serveEndpoint, endpointAdapter } = require("inngest/node");

const FEATURES = ["./features/checkpointing", "./features/defers", "./features/endpoints"];

const seen = { calls: {}, generations: [], bodyGenerations: [], bodyDefers: {}, notes: {} };
// note(name): count one more of `name` in seen.notes; returns the new count.
const note = (name) => (seen.notes[name] = (seen.notes[name] || 0) + 1);
// gate(name): a promise that the test resolves with POST /open?gate=name.
const gates = {};
const gateOf = (name) => {
  if (!gates[name]) {
    let open;
    const opened = new Promise((resolve) => (open = resolve));
    gates[name] = { opened, open };
  }
  return gates[name];
};
const gate = (name) => gateOf(name).opened;

const inngest = new Inngest({
  id: "ts-app4",
  // Dev mode, unless the test gives a signing key (INNGEST_SIGNING_KEY): then Cloud mode, signed.
  isDev: !process.env.INNGEST_SIGNING_KEY,
  baseUrl: process.env.ENGINE_URL,
  endpointAdapter,
});

const functions = [];
const routes = {};
for (const path of FEATURES) {
  const feature = require(path)({ inngest, seen, note, gate });
  functions.push(...(feature.functions || []));
  for (const [route, handler] of Object.entries(feature.routes || {})) {
    routes[route] = serveEndpoint(handler);
  }
}

const handler = serve({ client: inngest, functions });

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://app");
    if (url.pathname === "/seen") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(seen));
      return;
    }
    if (url.pathname === "/open" && req.method === "POST") {
      gateOf(url.searchParams.get("gate")).open();
      res.writeHead(204);
      res.end();
      return;
    }
    if (routes[url.pathname]) {
      routes[url.pathname](req, res);
      return;
    }
    if (url.pathname !== "/api/inngest") {
      res.writeHead(404);
      res.end();
      return;
    }
    // Count the engine's calls per function, then hand the SDK the same request.
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const fnId = url.searchParams.get("fnId");
      if (req.method === "POST" && fnId) {
        seen.calls[fnId] = (seen.calls[fnId] || 0) + 1;
        seen.generations.push(req.headers["x-inngest-generation-id"] || null);
        let body = {};
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch (_) {}
        // The same generation in the body's ctx, as the real executor stamps both.
        seen.bodyGenerations.push((body.ctx || {}).generation_id ?? null);
        // The defers the call listed (hashed ids), per function.
        const defers = body.defers || {};
        (seen.bodyDefers[fnId] = seen.bodyDefers[fnId] || []).push(Object.keys(defers));
      }
      const copy = Readable.from([raw]);
      Object.assign(copy, { headers: req.headers, method: req.method, url: req.url, socket: req.socket });
      handler(copy, res);
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1");

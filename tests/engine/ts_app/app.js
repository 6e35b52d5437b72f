// A TypeScript-SDK app (plain JavaScript, inngest 3.x) the engine tests run against:
// served by the SDK's Node handler on PORT, registering with the engine at ENGINE_URL.
// GET /seen answers what the functions saw (calls, the onFailure handler's error).
"use strict";

const http = require("node:http");
const { Readable } = require("node:stream");
const { Inngest, NonRetriableError, RetryAfterError } = require("inngest");
const { serve } = require("inngest/node");

const seen = { calls: {}, failures: [], quick: false, useApi: {} };
const count = (name) => {
  seen.calls[name] = (seen.calls[name] || 0) + 1;
};

const inngest = new Inngest({ id: "ts-app", isDev: true, baseUrl: process.env.ENGINE_URL });

const sleeper = inngest.createFunction({ id: "sleeper" }, { event: "ts/sleep" }, async ({ step }) => {
  await step.sleep("nap", "10s");
  return "woke";
});

const rejecter = inngest.createFunction(
  {
    id: "rejecter",
    retries: 3,
    onFailure: async ({ error, event }) => {
      seen.failures.push({ name: error.name, message: error.message, data: event.data });
    },
  },
  { event: "ts/reject" },
  async () => {
    count("rejecter");
    throw new NonRetriableError("bad input");
  },
);

const stepNoRetry = inngest.createFunction(
  { id: "step-no-retry", retries: 3 },
  { event: "ts/step-no-retry" },
  async ({ step }) => {
    return step.run("charge", () => {
      count("charge");
      throw new NonRetriableError("card declined");
    });
  },
);

const stepRetryAfter = inngest.createFunction(
  { id: "step-retry-after", retries: 3 },
  { event: "ts/step-retry-after" },
  async ({ step }) => {
    return step.run("fetch", () => {
      count("fetch");
      if (seen.calls.fetch === 1) throw new RetryAfterError("rate limited", "30s");
      return "page";
    });
  },
);

const heldChild = inngest.createFunction({ id: "held-child" }, { event: "ts/held-child" }, async ({ step }) => {
  const released = await step.waitForEvent("release", { event: "ts/release", timeout: "1h" });
  return released ? "released" : "timed out";
});

const parallel = inngest.createFunction({ id: "parallel" }, { event: "ts/parallel" }, async ({ step }) => {
  return Promise.all([
    step.run("quick", () => {
      seen.quick = true;
      return "quick";
    }),
    step.invoke("call-child", { function: heldChild, data: {} }),
  ]);
});

// Its memo outgrows the engine's inline limit in the tests: later calls go with use_api.
const big = inngest.createFunction({ id: "big" }, { event: "ts/big" }, async ({ step, event }) => {
  const outputs = [];
  for (const name of ["a", "b", "c"]) {
    outputs.push(await step.run(name, () => name.repeat(3000)));
  }
  return [...outputs.map((o) => o.length), event.name];
});

const handler = serve({
  client: inngest,
  functions: [sleeper, rejecter, stepNoRetry, stepRetryAfter, heldChild, parallel, big],
});

http
  .createServer((req, res) => {
    if (req.url === "/seen") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(seen));
      return;
    }
    // Note each call's `use_api` per function, then hand the SDK the same request.
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const fnId = new URL(req.url, "http://app").searchParams.get("fnId");
      if (req.method === "POST" && fnId && raw.length) {
        (seen.useApi[fnId] = seen.useApi[fnId] || []).push(JSON.parse(raw.toString()).use_api);
      }
      const copy = Readable.from([raw]);
      Object.assign(copy, { headers: req.headers, method: req.method, url: req.url, socket: req.socket });
      handler(copy, res);
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1");

// Durable endpoints (inngest 4.x): an HTTP route whose handler runs steps. Its first
// checkpoint (POST /v1/checkpoint) creates the run; a step that cannot finish in the request
// (a sleep) moves the run to the background and the caller is redirected to the engine's
// GET /v1/http/runs/{runId}/output, which answers once the engine has called the route back.
"use strict";

const { step } = require("inngest");

module.exports = ({ inngest, note }) => {
  const hello = inngest.endpoint(async (req) => {
    const name = new URL(req.url).searchParams.get("name") || "world";
    const greeting = await step.run("greet", () => `hello ${name}`);
    const shout = await step.run("shout", () => greeting.toUpperCase());
    // A plain value: the SDK answers it as JSON and checkpoints it (a Response it would
    // checkpoint as null, its body being already sent; so does the Dev Server then record).
    return { greeting, shout };
  });

  const nap = inngest.endpoint(async (req) => {
    // Read again when the engine calls the endpoint back: it replays this request.
    const who = new URL(req.url).searchParams.get("who") || "nobody";
    const before = await step.run("before", () => {
      note("nap-before");
      return "before";
    });
    await step.sleep("nap", "10s");
    const after = await step.run("after", () => `after ${who}`);
    return { before, after };
  });

  return { routes: { "/endpoint/hello": hello, "/endpoint/nap": nap } };
};

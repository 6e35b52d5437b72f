// defer() (inngest 4.x, experimental): a run asks for another function's run to start once it
// has ended. `createDefer` makes the companion function (triggered by inngest/deferred.schedule
// with an expression on its slug); `defer(id, { function, data })` in a handler ships a DeferAdd
// opcode with the next reply or checkpoint, `.abort()` a DeferAbort.
"use strict";

const { NonRetriableError } = require("inngest");
const { createDefer } = require("inngest/experimental");

module.exports = ({ inngest, seen }) => {
  seen.deferred = [];

  // Notes what each deferred run received: its event's data and its parent.
  const followUp = createDefer(inngest, { id: "follow-up" }, async ({ event, parents }) => {
    seen.deferred.push({ data: event.data, parent: parents[0] });
    return { data: event.data };
  });

  // A step, then a defer with the step's result: the follow-up starts once this run completes.
  const parent = inngest.createFunction(
    { id: "defer-parent", triggers: [{ event: "ts4/defer-parent" }] },
    async ({ event, step, defer }) => {
      const doubled = await step.run("double", () => event.data.n * 2);
      defer("tell", { function: followUp, data: { doubled, tag: event.data.tag } });
      return { doubled };
    },
  );

  // Two defers, one aborted: only the other starts.
  const aborts = inngest.createFunction(
    { id: "defer-aborts", triggers: [{ event: "ts4/defer-aborts" }] },
    async ({ event, step, defer }) => {
      const kept = defer("kept", { function: followUp, data: { which: "kept", tag: event.data.tag } });
      const dropped = defer("dropped", { function: followUp, data: { which: "dropped", tag: event.data.tag } });
      await step.run("work", () => "done");
      dropped.abort();
      return { kept: typeof kept.abort === "function" };
    },
  );

  // A run that fails after its defer: the follow-up still starts (the run has ended).
  const fails = inngest.createFunction(
    { id: "defer-fails", retries: 0, triggers: [{ event: "ts4/defer-fails" }] },
    async ({ event, defer }) => {
      defer("cleanup", { function: followUp, data: { which: "cleanup", tag: event.data.tag } });
      throw new NonRetriableError(`gave up on ${event.data.tag}`);
    },
  );

  // A defer, then an error on every attempt: the retry's call lists the defer (`defers`), so
  // the SDK does not send it again; the follow-up starts once, when the last attempt fails.
  const retried = inngest.createFunction(
    { id: "defer-retried", retries: 1, triggers: [{ event: "ts4/defer-retried" }] },
    async ({ event, defer, attempt }) => {
      defer("once", { function: followUp, data: { which: "once", tag: event.data.tag } });
      throw new Error(`attempt ${attempt} of ${event.data.tag} failed`);
    },
  );

  // A defer, then a long sleep: cancelling the run ends it, and the follow-up starts.
  const sleeps = inngest.createFunction(
    { id: "defer-sleeps", triggers: [{ event: "ts4/defer-sleeps" }] },
    async ({ event, step, defer }) => {
      defer("after-cancel", { function: followUp, data: { which: "after-cancel", tag: event.data.tag } });
      await step.sleep("long", "1d");
      return "woke";
    },
  );

  // Without checkpointing the SDK ships a defer with the function's own error
  // ([DeferAdd, StepError] with the id sha1("complete")), handled as the error it would send
  // alone: the attempt is retried, and the next call's `defers` lists the defer.
  const errsUnchecked = inngest.createFunction(
    { id: "defer-errs-unchecked", retries: 1, checkpointing: false, triggers: [{ event: "ts4/defer-errs-unchecked" }] },
    async ({ event, defer, attempt }) => {
      defer("on-error", { function: followUp, data: { which: "on-error", tag: event.data.tag } });
      if (event.data.fatal) throw new NonRetriableError(`fatal ${event.data.tag}`);
      throw new Error(`attempt ${attempt} of ${event.data.tag} failed`);
    },
  );

  // A step the user named "complete" has the id of the function's end; its error is the
  // step's (memoized, caught by the function), not the function's.
  const stepNamedComplete = inngest.createFunction(
    { id: "defer-step-complete", checkpointing: false, triggers: [{ event: "ts4/defer-step-complete" }] },
    async ({ event, step, defer }) => {
      defer("beside", { function: followUp, data: { which: "beside", tag: event.data.tag } });
      try {
        await step.run("complete", () => {
          throw new NonRetriableError("the step failed");
        });
      } catch (err) {
        return `caught: ${err.message}`;
      }
      return "not caught";
    },
  );

  // A defer without data: refused softly (its input is not an object); the run completes.
  const refused = inngest.createFunction(
    { id: "defer-refused", triggers: [{ event: "ts4/defer-refused" }] },
    async ({ defer }) => {
      defer("empty", { function: followUp });
      return "done";
    },
  );

  return {
    functions: [followUp, parent, aborts, fails, retried, sleeps, errsUnchecked, stepNamedComplete, refused],
  };
};

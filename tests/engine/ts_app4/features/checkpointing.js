// Checkpointing (inngest 4.x): with the call's ctx.fn_id the SDK runs the steps it finds in
// one call and reports each to POST /v1/checkpoint/{runId}/async, then ends the run with a
// RunComplete opcode (or replies with what it cannot run itself: a sleep, a failed step).
"use strict";

module.exports = ({ inngest, note, gate }) => {
  const threeSteps = inngest.createFunction(
    { id: "three-steps", triggers: [{ event: "ts4/three-steps" }] },
    async ({ step }) => {
      const a = await step.run("a", () => "A");
      const b = await step.run("b", () => `${a}B`);
      const c = await step.run("c", () => `${b}C`);
      return { letters: c };
    },
  );

  const stepsAroundSleep = inngest.createFunction(
    { id: "steps-around-sleep", triggers: [{ event: "ts4/steps-around-sleep" }] },
    async ({ step }) => {
      const before = await step.run("before", () => "before");
      await step.sleep("nap", "10s");
      const after = await step.run("after", () => "after");
      return [before, after];
    },
  );

  const flakyStep = inngest.createFunction(
    { id: "flaky-step", retries: 2, triggers: [{ event: "ts4/flaky-step" }] },
    async ({ step }) => {
      const first = await step.run("first", () => "first");
      const flaky = await step.run("flaky", () => {
        if (note("flaky") === 1) throw new Error("not yet");
        return "worked";
      });
      return [first, flaky];
    },
  );

  // A parallel group: the SDK plans both steps (no checkpoint: the engine calls each), then
  // the engine sets disable_immediate_execution, as the real executor does.
  const groupThenStep = inngest.createFunction(
    { id: "group-then-step", triggers: [{ event: "ts4/group-then-step" }] },
    async ({ step }) => {
      const [left, right] = await Promise.all([
        step.run("left", () => "L"),
        step.run("right", () => "R"),
      ]);
      return step.run("join", () => left + right);
    },
  );

  // A step that outlasts the engine's call the first time (it waits for the test's gate): the
  // engine gives up on that call and will make it again; the step's checkpoint, sent once
  // the gate opens, carries the given-up call's generation and is refused (409), so the
  // call made again runs the step again.
  const outlastsItsCall = inngest.createFunction(
    { id: "outlasts-its-call", retries: 3, triggers: [{ event: "ts4/outlasts-its-call" }] },
    async ({ step }) => {
      const a = await step.run("a", () => {
        note("a");
        return "A";
      });
      const slow = await step.run("slow", async () => {
        if (note("slow") === 1) await gate("slow");
        return "S";
      });
      return a + slow;
    },
  );

  return { functions: [threeSteps, stepsAroundSleep, flakyStep, groupThenStep, outlastsItsCall] };
};

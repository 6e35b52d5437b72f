// inngest 4.x's own Realtime (`inngest/realtime`): subscribe, and optionally publish, with
// the client of the SDK itself (`inngest.realtime.subscribe` / `.publish`).
//
// Env: INNGEST_BASE_URL (the engine), REALTIME_CHANNEL, REALTIME_TOPICS (comma-separated),
// REALTIME_COUNT (messages to wait for), REALTIME_PUBLISH ("1": after subscribing, publish
// REALTIME_COUNT messages {"n": 0..} to the first topic). Prints JSON lines like
// subscribe.mjs: {"subscribed": true}, then each message, or {"error": "..."}.
// Node 20 needs --experimental-websocket for the WebSocket the client uses (22+ has it).
import { Inngest } from "inngest";
import { channel } from "inngest/realtime";

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const topics = process.env.REALTIME_TOPICS.split(",");
const count = Number(process.env.REALTIME_COUNT || "1");
const inngest = new Inngest({ id: "realtime-4x", isDev: true, baseUrl: process.env.INNGEST_BASE_URL });
const chat = channel({
  name: process.env.REALTIME_CHANNEL,
  topics: Object.fromEntries(topics.map((name) => [name, {}])),
});

let stream;
try {
  stream = await inngest.realtime.subscribe({ channel: chat, topics });
} catch (err) {
  print({ error: String(err?.message ?? err?.type ?? err) });
  process.exit(1);
}
print({ subscribed: true });

if (process.env.REALTIME_PUBLISH === "1") {
  for (let n = 0; n < count; n += 1) await inngest.realtime.publish(chat[topics[0]], { n });
}

let seen = 0;
for await (const message of stream) {
  print({ kind: message.kind, channel: message.channel, topic: message.topic, data: message.data });
  seen += 1;
  if (seen >= count) break;
}
process.exit(0);

// Subscribe with the npm Realtime client (@inngest/realtime) and print what arrives.
//
// Env: INNGEST_BASE_URL (the engine), REALTIME_CHANNEL, REALTIME_TOPICS (comma-separated),
// REALTIME_KEY (a token from POST /v1/realtime/token; without it the client asks for one),
// REALTIME_COUNT (messages to wait for). Prints one JSON line per event: {"subscribed": true}
// once the socket is open, then each message, or {"error": "..."} if subscribing failed.
// Node 20 needs --experimental-websocket for the WebSocket the client uses (22+ has it).
import { subscribe } from "@inngest/realtime";

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const token = {
  channel: process.env.REALTIME_CHANNEL,
  topics: process.env.REALTIME_TOPICS.split(","),
  ...(process.env.REALTIME_KEY ? { key: process.env.REALTIME_KEY } : {}),
};
const count = Number(process.env.REALTIME_COUNT || "1");

let stream;
try {
  stream = await subscribe(token);
} catch (err) {
  print({ error: String(err?.message ?? err?.type ?? err) });
  process.exit(1);
}
print({ subscribed: true });

let seen = 0;
for await (const message of stream) {
  print({ kind: message.kind, channel: message.channel, topic: message.topic, data: message.data });
  seen += 1;
  if (seen >= count) break;
}
process.exit(0);

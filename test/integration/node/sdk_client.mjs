// One messages.create and one messages.stream through the proxy with the official SDK.
// Usage: node sdk_client.mjs BASE_URL MODEL
// Prints one JSON line: {"create": {...}, "stream": {...}} with each answer's id, model and usage.
import Anthropic from "@anthropic-ai/sdk";

const [baseURL, model] = process.argv.slice(2);
const client = new Anthropic({ baseURL, apiKey: "placeholder", maxRetries: 0, timeout: 20000 });

const pick = (m) => ({ id: m.id, model: m.model, stop_reason: m.stop_reason, usage: m.usage,
  text: m.content.filter((b) => b.type === "text").map((b) => b.text).join("") });

try {
  const created = await client.messages.create({
    model, max_tokens: 64, messages: [{ role: "user", content: "Say hello (create)." }],
  });
  const stream = client.messages.stream({
    model, max_tokens: 64, messages: [{ role: "user", content: "Say hello (stream)." }],
  });
  let events = 0;
  stream.on("streamEvent", () => { events += 1; });
  const streamed = await stream.finalMessage();
  console.log(JSON.stringify({ create: pick(created), stream: { ...pick(streamed), events } }));
} catch (e) {
  console.error(`SDK error: ${e?.constructor?.name}: status=${e?.status} ${e?.message}`);
  process.exit(1);
}

// The openai-node half of the real-client oracle (conformance/sdk/node.py runs it: see NodeRun).
//
// It drives the official `openai` npm package, loaded from OAI_SDK_DIR, against the target and prints one
// JSON line per flow: {flow, what, ok, value | error}. Everything comes from environment variables, never
// argv, so the key does not show in process listings. OAI_BASE_URL is the suite's loopback forwarder,
// which sends every request on through the suite's one transport policy (budgets, deadlines, caps, the
// circuit breaker, 429/503 backoff, recording and redaction all happen there). The fetch below only names
// the flow, keeps to the forwarder's origin, never follows a redirect, and turns the policy's refusals
// into the errors a user's fetch would throw.

import { createRequire } from "node:module";
import { join } from "node:path";

const env = process.env;
const requireSdk = createRequire(join(env.OAI_SDK_DIR, "package.json"));
const sdk = requireSdk("openai");
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;

const base = new URL(env.OAI_BASE_URL);
const maxTokens = Number(env.OAI_MAX_TOKENS || 16);
const chatModel = env.OAI_CHAT_MODEL || "";
const embeddingModel = env.OAI_EMBEDDING_MODEL || "";
const flowHeader = env.OAI_FLOW_HEADER || "x-oai-conformance-flow";
const refusedHeader = env.OAI_REFUSED_HEADER || "x-oai-conformance-refused";
const messages = [{ role: "user", content: "Say hello in five words." }]; // probes.CHAT_PROMPT
const inputs = ["first document", "second document"]; // test_sdk.EMBEDDING_INPUTS
// probes.chat_stream.WEATHER_TOOL, TOOL_MAX_TOKENS; probes.chat_tools.TOOL_PROMPT, PARALLEL_MESSAGES
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const toolMaxTokens = Math.max(maxTokens, 48);
const toolMessages = [{ role: "user", content: "What is the weather in Paris? Use the get_weather tool." }];
const parallelMessages = [
  { role: "user", content: 'What is the weather in "Paris" and in "Tokyo"? Call get_weather once for each city.' },
];
// probes.chat_format.JSON_MESSAGES, JSON_SCHEMA_FORMAT, FORMAT_MAX_TOKENS
const jsonMessages = [{ role: "user", content: 'Is water wet? Reply in JSON as {"answer": "yes"} or {"answer": "no"}.' }];
const answerFormat = {
  type: "json_schema",
  json_schema: {
    name: "answer",
    strict: true,
    schema: {
      type: "object",
      properties: { answer: { type: "string", enum: ["yes", "no"] } },
      required: ["answer"],
      additionalProperties: false,
    },
  },
};

class BudgetError extends Error {}
class OriginError extends Error {}

// -- the fetch: to the forwarder, which sends through the suite's policy ---------------------------------

let currentFlow = "";

async function policyFetch(input, init = {}) {
  const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
  if (url.origin !== base.origin) {
    throw new OriginError(`${init.method ?? "GET"} ${url.origin}${url.pathname} is not on the target's origin; not sent`);
  }
  const headers = new Headers(init.headers ?? {});
  headers.set(flowHeader, currentFlow);
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  const refused = response.headers.get(refusedHeader);
  if (!refused) return response;
  const message = (await response.json().catch(() => ({})))?.error?.message ?? refused;
  if (refused === "budget") throw new BudgetError(message);
  // "timed out" in the message: openai-node reports it as APIConnectionTimeoutError, as for its own timeout.
  if (refused === "timeout") throw new Error(message);
  throw new TypeError("fetch failed", { cause: new Error(message) });
}

// -- clients and flows ----------------------------------------------------------------------------------

function client(apiKey) {
  const headers = JSON.parse(env.OAI_HEADERS || "{}");
  return new OpenAI({
    baseURL: env.OAI_BASE_URL,
    apiKey,
    organization: env.OAI_ORGANIZATION || null,
    maxRetries: 0,
    timeout: Number(env.OAI_TIMEOUT_MS || 30000),
    defaultHeaders: headers,
    fetch: policyFetch,
  });
}

const openai = client(env.OAI_API_KEY);

function errorInfo(err) {
  const cause = err?.cause;
  return {
    class: err?.constructor?.name ?? typeof err,
    message: String(err?.message ?? err),
    status: typeof err?.status === "number" ? err.status : null,
    code: err?.code ?? null,
    type: err?.type ?? null,
    param: err?.param ?? null,
    budget: err instanceof BudgetError || cause instanceof BudgetError,
    origin: err instanceof OriginError || cause instanceof OriginError,
  };
}

// A tool call as a user's code reads it: the arguments through JSON.parse, as the function-calling guide does.
function readCall(call) {
  let parsed = null;
  let parseError = null;
  try {
    parsed = JSON.parse(call.function?.arguments);
  } catch (err) {
    parseError = `${err?.constructor?.name ?? "Error"}: ${err?.message ?? err}`;
  }
  return {
    id: call.id ?? null,
    type: call.type ?? null,
    name: call.function?.name ?? null,
    arguments: call.function?.arguments ?? null,
    parsed,
    parse_error: parseError,
  };
}

// User-level code as the openai-node README writes it; what it throws is what a user's app would throw.
const flows = {
  models: {
    what: "for await (const model of client.models.list())",
    async run() {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      return { ids };
    },
  },
  chat: {
    what: "client.chat.completions.create()",
    async run() {
      const completion = await openai.chat.completions.create({
        model: chatModel,
        messages,
        max_tokens: maxTokens,
        temperature: 0,
      });
      return {
        content: completion.choices[0].message.content,
        finish_reason: completion.choices[0].finish_reason,
      };
    },
  },
  chat_stream: {
    what: "for await (const chunk of await client.chat.completions.create({stream: true}))",
    async run() {
      const stream = await openai.chat.completions.create({
        model: chatModel,
        messages,
        max_tokens: maxTokens,
        temperature: 0,
        stream: true,
      });
      let content = "";
      let finishReason = null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        content += chunk.choices[0]?.delta?.content || "";
        finishReason = chunk.choices[0]?.finish_reason || finishReason;
      }
      return { content, finish_reason: finishReason, chunks };
    },
  },
  chat_tools: {
    what: "client.chat.completions.create() with tool_choice naming get_weather, then JSON.parse(call.function.arguments)",
    async run() {
      const completion = await openai.chat.completions.create({
        model: chatModel,
        messages: toolMessages,
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        max_tokens: toolMaxTokens,
        temperature: 0,
      });
      const choice = completion.choices[0];
      return { calls: (choice.message.tool_calls ?? []).map(readCall), finish_reason: choice.finish_reason };
    },
  },
  chat_tools_stream: {
    what: "client.chat.completions.stream() with tools (a prompt asking for two calls), then await stream.finalChatCompletion()",
    async run() {
      const stream = openai.chat.completions.stream({
        model: chatModel,
        messages: parallelMessages,
        tools: [weatherTool],
        max_tokens: toolMaxTokens,
        temperature: 0,
      });
      for await (const _chunk of stream);
      const choice = (await stream.finalChatCompletion()).choices[0];
      return { calls: (choice.message.tool_calls ?? []).map(readCall), finish_reason: choice.finish_reason };
    },
  },
  chat_parse: {
    what: "client.chat.completions.parse() with a json_schema response_format, then message.parsed",
    async run() {
      const completion = await openai.chat.completions.parse({
        model: chatModel,
        messages: jsonMessages,
        response_format: answerFormat,
        max_tokens: Math.max(maxTokens, 48),
        temperature: 0,
      });
      const choice = completion.choices[0];
      return { parsed: choice.message.parsed ?? null, content: choice.message.content, finish_reason: choice.finish_reason };
    },
  },
  responses_stream: {
    what: "client.responses.stream() iterated, then await stream.finalResponse()",
    async run() {
      const stream = openai.responses.stream({
        model: chatModel,
        input: messages[0].content,
        instructions: "Answer in plain English.", // probes.responses.INSTRUCTIONS
        max_output_tokens: Math.max(maxTokens, 16),
        temperature: 0,
        store: false,
      });
      let deltas = "";
      for await (const event of stream) {
        if (event.type === "response.output_text.delta") deltas += event.delta;
      }
      const final = await stream.finalResponse();
      return { deltas, output_text: final.output_text, status: final.status };
    },
  },
  embeddings: {
    what: "client.embeddings.create() (default base64, decoded by the SDK)",
    async run() {
      const decoded = await openai.embeddings.create({ model: embeddingModel, input: inputs });
      const floats = await openai.embeddings.create({ model: embeddingModel, input: inputs, encoding_format: "float" });
      const vectors = (response) => response.data.map((item) => Array.from(item.embedding));
      return { decoded: vectors(decoded), floats: vectors(floats) };
    },
  },
  errors: {
    what: "client.chat.completions.create() with a wrong key, then with an unknown model",
    async run() {
      const attempt = async (sdkClient, model) => {
        try {
          await sdkClient.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 1 });
          return null;
        } catch (err) {
          const info = errorInfo(err);
          // Budget, origin and timeouts are the run's own limits, not an error mapping to judge.
          if (info.budget || info.origin || /Timeout/.test(info.class)) throw err;
          return info;
        }
      };
      const wrongKey = env.OAI_WRONG_KEY ? await attempt(client(env.OAI_WRONG_KEY), chatModel) : undefined;
      const unknownModel = await attempt(openai, env.OAI_UNKNOWN_MODEL);
      return { wrong_key: wrongKey, unknown_model: unknownModel };
    },
  },
};

for (const name of (env.OAI_FLOWS || "").split(",").filter(Boolean)) {
  const flow = flows[name];
  currentFlow = name;
  const line = { flow: name, what: flow.what, ok: true, value: null, error: null };
  try {
    line.value = await flow.run();
  } catch (err) {
    line.ok = false;
    line.error = errorInfo(err);
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

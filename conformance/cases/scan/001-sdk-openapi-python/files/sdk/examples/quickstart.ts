// Token Factory quickstart: create a client with the scopes it needs.
import { TokenFactory } from "@platform/token-factory";

const client = new TokenFactory({
  baseUrl: "https://api.example.test:8443/v1/token-factory",
  scopes: ["token_factory:model:invoke", "token_factory:model:legacy_invoke"],
});

// Not scopes: a time, a longer token, a path, another namespace, a URL.
const startedAt = "12:30:45";
const tag = "token_factory:model:invoke:v2";
const route = "/v1/token_factory:model:invoke";
const other = "billing_hub:invoice:read";
const url = "https://token_factory:model@example.test";

export async function run(): Promise<void> {
  const out = await client.invoke({ model: "llama", prompt: "hi" }, { scope: 'token_factory:model:invoke' });
  console.log(out, startedAt, tag, route, other, url);
}

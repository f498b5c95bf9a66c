/** An OpenAPI 3.1 document generated from the route table, served at /api/openapi.json. */
import { ERROR_CODES } from "../../lib/errors.js";
import type { Route } from "./router.js";

export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([a-zA-Z]+)/g, "{$1}");
    const params = [...r.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = {
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.auth !== "none" ? { security: r.auth === "required" ? [{ bearer: [] }] : [{}, { bearer: [] }] } : {}),
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: { type: "object" } } } } } : {}),
      responses: { "2XX": { description: "Success", content: { "application/json": {} } }, default: { $ref: "#/components/responses/Error" } },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Echostreamhub API", version, description: "See docs/protocol.md for the WebSocket protocol." },
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: { code: { enum: Object.keys(ERROR_CODES) }, message: { type: "string" }, data: { type: "object" }, requestId: { type: "string" } },
            },
          },
        },
      },
      responses: { Error: { description: "A typed error (see the code table)", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } },
    },
  };
}

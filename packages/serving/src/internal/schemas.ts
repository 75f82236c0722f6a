/**
 * JSON schemas of the HTTP API: Fastify validates requests with them, serialises responses, and
 * writes the OpenAPI document from them. The entity's key names the request and response fields
 * (`user_id`, `user_ids` for the lab's repository) and the features are the repository's own.
 */
import type { ColumnType, StoreLayout } from "@streamflow/features";

export const MAX_BATCH_USERS = 1000;

const JSON_TYPES: Record<ColumnType, string> = {
  text: "string",
  date: "string",
  boolean: "boolean",
  integer: "number",
  double: "number",
};

const modelSchema = {
  type: "object",
  description: "The registered model version that produced the prediction",
  required: ["name", "version", "stage", "alias", "run_id"],
  properties: {
    name: { type: "string" },
    version: { type: "string" },
    stage: {
      type: "string",
      description:
        "The version's registry stage when it was loaded (None when it has none)",
    },
    alias: {
      type: ["string", "null"],
      description: "The alias the server follows, if --model-uri names one",
    },
    run_id: { type: ["string", "null"] },
  },
} as const;

export const errorSchema = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: {
      type: "string",
      description:
        "Stable machine-readable code, e.g. user_not_found, invalid_request",
    },
    message: { type: "string" },
  },
  additionalProperties: true,
} as const;

/** The request and response fields that carry entity keys. */
export interface KeyFields {
  /** One key: the entity's join key, `user_id` for the lab's. */
  one: string;
  /** A batch of keys: the join key in the plural, `user_ids` for the lab's. */
  many: string;
}

export function keyFields(layout: StoreLayout): KeyFields {
  const key = layout.entity.joinKey;
  return { one: key, many: `${key}s` };
}

/** Every schema of the API for one store's repository. */
export function apiSchemas(layout: StoreLayout) {
  const { entity } = layout;
  const fields = keyFields(layout);
  const keySchema = {
    type: "string",
    minLength: 1,
    maxLength: entity.maxKeyLength,
    // Control characters (NUL above all: PostgreSQL text cannot hold it) are never part of a key.
    pattern: "^[^\\u0000-\\u001f\\u007f]+$",
    description: `The ${entity.name}'s ${entity.joinKey}, as in the month files ingested`,
  };

  // Every online column by name and type: the serialiser writes known properties without
  // inspecting each value, and a model can only use online columns (checked when it is loaded).
  const featureValuesSchema = {
    type: "object",
    properties: Object.fromEntries(
      layout.featureColumns.map((c) => [
        c.name,
        { type: [JSON_TYPES[c.type], "null"] },
      ]),
    ),
    additionalProperties: false,
  };
  const featureStatusesSchema = {
    type: "object",
    description:
      "PRESENT, NULL_VALUE (stored NULL) or NOT_FOUND (the view has no row)",
    properties: Object.fromEntries(
      layout.featureColumns.map((c) => [
        c.name,
        { type: "string", enum: ["PRESENT", "NULL_VALUE", "NOT_FOUND"] },
      ]),
    ),
    additionalProperties: false,
  };
  const asOfSchema = {
    type: "object",
    description:
      "Per feature view, the snapshot date the values come from (null: the view has no row for the entity)",
    properties: Object.fromEntries(
      layout.views.map((v) => [v.name, { type: ["string", "null"] }]),
    ),
    additionalProperties: false,
  };
  const predictionProperties = {
    [fields.one]: { type: "string" },
    churn_probability: {
      type: "number",
      description: "Share of the forest's trees voting churn, 0..1",
    },
    prediction: {
      type: "integer",
      enum: [0, 1],
      description: "1 when churn_probability > threshold",
    },
    features_used: {
      ...featureValuesSchema,
      description:
        "The model's input features as read online (null = stored NULL or view missing)",
    },
    features_as_of: asOfSchema,
  };
  const notFoundSchema = {
    type: "object",
    required: ["error", fields.one, "missing_feature_views", "message"],
    properties: {
      error: { type: "string", enum: ["user_not_found"] },
      [fields.one]: { type: "string" },
      missing_feature_views: { type: "array", items: { type: "string" } },
      message: { type: "string" },
    },
  };
  return {
    fields,
    notFound: notFoundSchema,
    predictBody: {
      type: "object",
      required: [fields.one],
      additionalProperties: false,
      properties: { [fields.one]: keySchema },
    },
    predictResponse: {
      type: "object",
      required: [
        fields.one,
        "churn_probability",
        "prediction",
        "threshold",
        "model",
        "features_used",
        "features_as_of",
      ],
      properties: {
        ...predictionProperties,
        threshold: { type: "number" },
        model: modelSchema,
      },
    },
    batchBody: {
      type: "object",
      required: [fields.many],
      additionalProperties: false,
      properties: {
        [fields.many]: {
          type: "array",
          minItems: 1,
          maxItems: MAX_BATCH_USERS,
          items: keySchema,
          description: `1 to ${MAX_BATCH_USERS} ${entity.name} keys; duplicates are answered once per occurrence`,
        },
      },
    },
    batchResponse: {
      type: "object",
      required: ["model", "threshold", "results", "predicted", "not_found"],
      properties: {
        model: modelSchema,
        threshold: { type: "number" },
        predicted: { type: "integer" },
        not_found: { type: "integer" },
        results: {
          type: "array",
          description:
            "One entry per requested key, in request order: a prediction, or error user_not_found",
          items: {
            type: "object",
            required: [fields.one],
            properties: {
              ...predictionProperties,
              error: { type: "string", enum: ["user_not_found"] },
              missing_feature_views: {
                type: "array",
                items: { type: "string" },
              },
            },
          },
        },
      },
    },
    featuresParams: {
      type: "object",
      required: [fields.one],
      properties: { [fields.one]: keySchema },
    },
    featuresResponse: {
      type: "object",
      required: [fields.one, "features", "statuses", "as_of"],
      properties: {
        [fields.one]: { type: "string" },
        features: featureValuesSchema,
        statuses: featureStatusesSchema,
        as_of: asOfSchema,
      },
    },
    readyResponse: readyResponseSchema(asOfSchema),
  };
}

export const healthResponseSchema = {
  type: "object",
  required: ["status"],
  properties: { status: { type: "string", enum: ["ok"] } },
} as const;

function readyResponseSchema(asOfSchema: object) {
  return {
    type: "object",
    required: ["ready", "reasons"],
    properties: {
      ready: { type: "boolean" },
      reasons: {
        type: "array",
        items: { type: "string" },
        description: "Why the service is not ready (empty when ready)",
      },
      model: { anyOf: [modelSchema, { type: "null" }] },
      model_uri: { type: "string" },
      model_loaded_at: { type: ["string", "null"] },
      database: {
        type: "object",
        properties: {
          ok: { type: "boolean" },
          engine: { type: "string" },
          location: { type: "string" },
          error: { type: ["string", "null"] },
        },
      },
      online_store: {
        type: "object",
        properties: { materialized_as_of: asOfSchema },
      },
      registry: {
        type: "object",
        properties: {
          reachable: { type: ["boolean", "null"] },
          last_check_at: { type: ["string", "null"] },
          last_error: { type: ["string", "null"] },
        },
      },
    },
  };
}

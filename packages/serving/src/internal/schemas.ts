/** JSON schemas of the HTTP API: Fastify validates requests with them, serialises responses, and writes the OpenAPI document from them. */
import {
  FEATURE_COLUMNS,
  FEATURE_VIEWS,
  type ColumnType,
} from "@streamflow/features";

/** The lab's ids are 10 characters; 64 leaves room for other id schemes and none for abuse. */
export const MAX_USER_ID_LENGTH = 64;
export const MAX_BATCH_USERS = 1000;

export const userIdSchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_USER_ID_LENGTH,
  // Control characters (NUL above all: PostgreSQL text cannot hold it) are never part of an id.
  pattern: "^[^\\u0000-\\u001f\\u007f]+$",
  description: "User id as in the users table, e.g. 7590-VHVEG",
  examples: ["7590-VHVEG"],
} as const;

const JSON_TYPES: Record<ColumnType, string> = {
  text: "string",
  date: "string",
  boolean: "boolean",
  integer: "number",
  double: "number",
};

// Every online column by name and type: the serialiser writes known properties without inspecting
// each value, and a model can only use online columns (checked when it is loaded).
const featureValuesSchema = {
  type: "object",
  properties: Object.fromEntries(
    FEATURE_COLUMNS.map((c) => [
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
    FEATURE_COLUMNS.map((c) => [
      c.name,
      { type: "string", enum: ["PRESENT", "NULL_VALUE", "NOT_FOUND"] },
    ]),
  ),
  additionalProperties: false,
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

const asOfSchema = {
  type: "object",
  description:
    "Per feature view, the snapshot date the values come from (null: the view has no row for the user)",
  properties: Object.fromEntries(
    FEATURE_VIEWS.map((v) => [v.name, { type: ["string", "null"] }]),
  ),
  additionalProperties: false,
};

const predictionProperties = {
  user_id: { type: "string" },
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

export const userNotFoundSchema = {
  type: "object",
  required: ["error", "user_id", "missing_feature_views", "message"],
  properties: {
    error: { type: "string", enum: ["user_not_found"] },
    user_id: { type: "string" },
    missing_feature_views: { type: "array", items: { type: "string" } },
    message: { type: "string" },
  },
} as const;

export const predictBodySchema = {
  type: "object",
  required: ["user_id"],
  additionalProperties: false,
  properties: { user_id: userIdSchema },
} as const;

export const predictResponseSchema = {
  type: "object",
  required: [
    "user_id",
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
} as const;

export const batchBodySchema = {
  type: "object",
  required: ["user_ids"],
  additionalProperties: false,
  properties: {
    user_ids: {
      type: "array",
      minItems: 1,
      maxItems: MAX_BATCH_USERS,
      items: userIdSchema,
      description: `1 to ${MAX_BATCH_USERS} user ids; duplicates are answered once per occurrence`,
    },
  },
} as const;

export const batchResponseSchema = {
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
        "One entry per requested id, in request order: a prediction, or error user_not_found",
      items: {
        type: "object",
        required: ["user_id"],
        properties: {
          ...predictionProperties,
          error: { type: "string", enum: ["user_not_found"] },
          missing_feature_views: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
} as const;

export const featuresParamsSchema = {
  type: "object",
  required: ["user_id"],
  properties: { user_id: userIdSchema },
} as const;

export const featuresResponseSchema = {
  type: "object",
  required: ["user_id", "features", "statuses", "as_of"],
  properties: {
    user_id: { type: "string" },
    features: featureValuesSchema,
    statuses: featureStatusesSchema,
    as_of: asOfSchema,
  },
} as const;

export const healthResponseSchema = {
  type: "object",
  required: ["status"],
  properties: { status: { type: "string", enum: ["ok"] } },
} as const;

export const readyResponseSchema = {
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
} as const;

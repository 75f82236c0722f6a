export type ColumnType = "text" | "date" | "boolean" | "integer" | "double";

/**
 * Longest field of each type. The lab's text values are category names (`Month-to-month`,
 * `Fiber optic`); 256 leaves room for others. No valid number, date or boolean needs more than 64
 * characters (a double's shortest spelling takes at most 24).
 */
export const MAX_FIELD_LENGTH: Readonly<Record<ColumnType, number>> =
  Object.freeze({
    text: 256,
    date: 64,
    boolean: 64,
    integer: 64,
    double: 64,
  });

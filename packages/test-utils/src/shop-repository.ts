import { join } from "node:path";
import { REPO_ROOT } from "./lab-data.ts";

/**
 * The tests' second feature repository (a meal-kit shop: entity `account`, key `account_no`, one
 * Parquet source, label `cancelled`): a shape unlike the lab's, run through the whole lifecycle.
 */
export const SHOP_REPOSITORY_FILE = join(
  REPO_ROOT,
  "packages/test-utils/fixtures/shop.features.yaml",
);

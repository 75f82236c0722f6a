import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { canonicalJson } from "@streamflow/core";
import type { FeatureRepository } from "./feature-repository.ts";

/** The repository as a file would say it with every default written out: what `features show` prints. */
export function repositoryFileForm(
  repo: FeatureRepository,
): Record<string, unknown> {
  return {
    version: repo.version,
    entity: {
      name: repo.entity.name,
      join_key: repo.entity.joinKey,
      max_key_length: repo.entity.maxKeyLength,
    },
    sources: repo.sources.map((s) => ({
      name: s.name,
      file: s.file,
      format: s.format,
      entity_table: s.entityTable,
      columns: s.columns.map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable,
        ...(c.min === undefined ? {} : { min: c.min }),
        ...(c.max === undefined ? {} : { max: c.max }),
        ...(c.allowed === undefined ? {} : { allowed: [...c.allowed] }),
        max_length: c.maxLength,
      })),
    })),
    feature_views: repo.featureViews.map((v) => ({
      name: v.name,
      source: v.source,
      snapshot_table: v.snapshotTable,
      features: [...v.features],
      ttl_days: v.ttlDays ?? null,
    })),
    label: {
      source: repo.label.source,
      column: repo.label.column,
      snapshot_table: repo.label.snapshotTable,
    },
    ...(repo.model.categorical === undefined
      ? {}
      : { model: { categorical: [...repo.model.categorical] } }),
  };
}

export function renderFeatureRepository(repo: FeatureRepository): string {
  return stringify(repositoryFileForm(repo), { lineWidth: 100 });
}

/** Identifies what a repository declares, whatever its file's layout or comments. */
export function repositoryHash(repo: FeatureRepository): string {
  return createHash("sha256")
    .update(canonicalJson(repositoryFileForm(repo)))
    .digest("hex");
}

import type {
  FeatureRepository,
  RepositoryColumn,
  RepositorySource,
} from "./repository/feature-repository.ts";
import { repositoryHash } from "./repository/render-repository.ts";

/** A column as the store reads it: the repository's own declaration (name, type, rules, max length). */
export type ColumnSpec = RepositoryColumn;

/**
 * One feature view as the store runs it: its source's live table, its snapshot table and its
 * features resolved to their column declarations.
 */
export interface FeatureViewSpec {
  readonly name: string;
  /** Live table (the source's name) the view's snapshots are copied from. */
  readonly source: string;
  /** Snapshot table, one row per (key, as_of). */
  readonly snapshotTable: string;
  readonly features: readonly ColumnSpec[];
  /** Oldest snapshot a point-in-time read may use, in days before the cutoff; undefined: no bound. */
  readonly ttlDays: number | undefined;
}

/**
 * What a store holds, derived once from its feature repository: every table, column and rule the
 * ingestion, point-in-time, online and scoring code reads. Nothing outside the repository names a
 * column; code reads it from here.
 */
export interface StoreLayout {
  readonly repository: FeatureRepository;
  /** repositoryHash of the repository: what a store records and a model is checked against. */
  readonly hash: string;
  readonly entity: {
    readonly name: string;
    readonly joinKey: string;
    readonly maxKeyLength: number;
    /** The source every other source's keys must exist in; undefined when none is declared. */
    readonly source: RepositorySource | undefined;
  };
  /** In ingestion order (the entity's own table first). */
  readonly sources: readonly RepositorySource[];
  readonly views: readonly FeatureViewSpec[];
  readonly label: {
    readonly source: string;
    readonly snapshotTable: string;
    readonly column: ColumnSpec;
  };
  /** Every model feature, view by view: the model's whole input, in its order. */
  readonly featureColumns: readonly ColumnSpec[];
  /** The online store: one wide row per entity key. */
  readonly onlineTable: string;
}

/** The column that holds, per online row, the as_of of the snapshot a view's values come from. */
export function viewAsOfColumn(view: { readonly name: string }): string {
  return `${view.name}_as_of`;
}

/** The online table's name for an entity: `online_user_features` for the lab's `user`. */
export function onlineTableName(entityName: string): string {
  return `online_${entityName}_features`;
}

const layouts = new WeakMap<FeatureRepository, StoreLayout>();

/** The layout of a repository; computed once per repository object. */
export function storeLayout(repository: FeatureRepository): StoreLayout {
  const known = layouts.get(repository);
  if (known !== undefined) return known;
  const sourceNamed = (name: string): RepositorySource => {
    const source = repository.sources.find((s) => s.name === name);
    // parseFeatureRepository has checked every reference; a miss is a hand-built repository's bug.
    if (source === undefined) throw new Error(`no source named ${name}`);
    return source;
  };
  const columnOf = (source: RepositorySource, name: string): ColumnSpec => {
    const column = source.columns.find((c) => c.name === name);
    if (column === undefined)
      throw new Error(`source ${source.name} has no column ${name}`);
    return column;
  };
  const views = repository.featureViews.map((v): FeatureViewSpec =>
    Object.freeze({
      name: v.name,
      source: v.source,
      snapshotTable: v.snapshotTable,
      features: Object.freeze(
        v.features.map((f) => columnOf(sourceNamed(v.source), f)),
      ),
      ttlDays: v.ttlDays,
    }),
  );
  const layout: StoreLayout = Object.freeze({
    repository,
    hash: repositoryHash(repository),
    entity: Object.freeze({
      name: repository.entity.name,
      joinKey: repository.entity.joinKey,
      maxKeyLength: repository.entity.maxKeyLength,
      source: repository.sources.find((s) => s.entityTable),
    }),
    sources: repository.sources,
    views: Object.freeze(views),
    label: Object.freeze({
      source: repository.label.source,
      snapshotTable: repository.label.snapshotTable,
      column: columnOf(
        sourceNamed(repository.label.source),
        repository.label.column,
      ),
    }),
    featureColumns: Object.freeze(views.flatMap((v) => v.features)),
    onlineTable: onlineTableName(repository.entity.name),
  });
  layouts.set(repository, layout);
  return layout;
}

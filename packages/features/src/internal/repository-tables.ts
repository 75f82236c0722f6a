import type { ColumnType } from "../repository/column-types.ts";
import { viewAsOfColumn, type StoreLayout } from "../layout.ts";

const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  text: "TEXT",
  integer: "INTEGER",
  double: "DOUBLE PRECISION",
  boolean: "BOOLEAN",
  date: "DATE",
};

export function sqlType(type: ColumnType): string {
  return SQL_TYPES[type];
}

export interface TableColumn {
  readonly name: string;
  readonly sqlType: string;
  readonly notNull: boolean;
}

export type TableRole =
  "source" | "view snapshot" | "label snapshot" | "online";

/** One table a repository asks for, as columns in order after its key (and as_of for snapshots). */
export interface RepositoryTable {
  readonly name: string;
  readonly role: TableRole;
  readonly key: string;
  /** Snapshot tables are keyed (key, as_of). */
  readonly snapshot: boolean;
  readonly columns: readonly TableColumn[];
}

/** Every table a layout's store holds, in creation order. */
export function repositoryTables(layout: StoreLayout): RepositoryTable[] {
  const key = layout.entity.joinKey;
  const column = (c: {
    name: string;
    type: ColumnType;
    nullable: boolean;
  }) => ({
    name: c.name,
    sqlType: sqlType(c.type),
    notNull: !c.nullable,
  });
  return [
    ...layout.sources.map((s) => ({
      name: s.name,
      role: "source" as const,
      key,
      snapshot: false,
      columns: s.columns.map(column),
    })),
    ...layout.views.map((v) => ({
      name: v.snapshotTable,
      role: "view snapshot" as const,
      key,
      snapshot: true,
      columns: v.features.map(column),
    })),
    {
      name: layout.label.snapshotTable,
      role: "label snapshot",
      key,
      snapshot: true,
      columns: [column(layout.label.column)],
    },
    {
      name: layout.onlineTable,
      role: "online",
      key,
      snapshot: false,
      // Every online column may be NULL: a view without a value for a key leaves its columns empty.
      columns: [
        ...layout.views.flatMap((v) => [
          ...v.features.map((f) => ({ ...column(f), notNull: false })),
          { name: viewAsOfColumn(v), sqlType: "DATE", notNull: false },
        ]),
        { name: "updated_at", sqlType: "TIMESTAMPTZ", notNull: true },
      ],
    },
  ];
}

function columnDdl(c: TableColumn): string {
  const base = `${c.name} ${c.sqlType}${c.notNull ? " NOT NULL" : ""}`;
  return c.name === "updated_at" ? `${base} DEFAULT now()` : base;
}

/**
 * CREATE TABLE for one repository table. For the lab's repository these are, statement for
 * statement, the tables the first schema migration created before repositories existed (a test
 * compares the two catalogs), so the stores it built read as the lab's.
 */
export function createTableSql(table: RepositoryTable): string {
  const lines = table.snapshot
    ? [
        `${table.key} TEXT NOT NULL`,
        "as_of DATE NOT NULL",
        ...table.columns.map(columnDdl),
        `PRIMARY KEY (${table.key}, as_of)`,
      ]
    : [`${table.key} TEXT PRIMARY KEY`, ...table.columns.map(columnDdl)];
  const create = `CREATE TABLE ${table.name} (\n  ${lines.join(",\n  ")}\n);`;
  // Training sets start from the labels of one date: the label snapshot is read by as_of alone.
  return table.role === "label snapshot"
    ? `${create}\nCREATE INDEX ${table.name}_as_of ON ${table.name} (as_of);`
    : create;
}

/** What changing a store's repository would lose: a table, a column, or a column's values (retyped). */
export interface RepositoryLoss {
  readonly table: string;
  readonly column: string | undefined;
  readonly change:
    "drop_table" | "drop_column" | "retype_column" | "rekey_table";
  readonly from: string | undefined;
  readonly to: string | undefined;
}

export interface RepositoryChangePlan {
  /** Statements that only add (tables, columns) or loosen (drop a NOT NULL). */
  readonly additive: readonly string[];
  /** What would be lost, and the statements that would lose it. */
  readonly losses: readonly RepositoryLoss[];
  readonly destructive: readonly string[];
  /** Human summary of each additive change, for the command's report. */
  readonly added: readonly string[];
}

/**
 * The statements that turn the tables of `from` into those of `to`. Columns are compared by name
 * and SQL type; validation rules (bounds, allowed values, lengths) live in the repository alone and
 * change nothing here. A column new to an existing table is added without NOT NULL, whatever it
 * declares: rows written before it existed have no value, and ingestion enforces the declaration
 * on every row written after.
 */
export function planRepositoryChange(
  from: StoreLayout,
  to: StoreLayout,
): RepositoryChangePlan {
  const additive: string[] = [];
  const destructive: string[] = [];
  const losses: RepositoryLoss[] = [];
  const added: string[] = [];
  const before = new Map(repositoryTables(from).map((t) => [t.name, t]));
  const after = repositoryTables(to);
  const kept = new Set<string>();
  for (const table of after) {
    const old = before.get(table.name);
    if (old === undefined) {
      additive.push(createTableSql(table));
      added.push(`table ${table.name} (${table.role})`);
      continue;
    }
    kept.add(table.name);
    if (old.key !== table.key || old.snapshot !== table.snapshot) {
      losses.push({
        table: table.name,
        column: undefined,
        change: "rekey_table",
        from: old.key,
        to: table.key,
      });
      destructive.push(`DROP TABLE ${table.name};`, createTableSql(table));
      continue;
    }
    const oldColumns = new Map(old.columns.map((c) => [c.name, c]));
    for (const c of table.columns) {
      const was = oldColumns.get(c.name);
      if (was === undefined) {
        additive.push(
          `ALTER TABLE ${table.name} ADD COLUMN ${c.name} ${c.sqlType};`,
        );
        added.push(`column ${table.name}.${c.name}`);
      } else if (was.sqlType !== c.sqlType) {
        losses.push({
          table: table.name,
          column: c.name,
          change: "retype_column",
          from: was.sqlType.toLowerCase(),
          to: c.sqlType.toLowerCase(),
        });
        destructive.push(
          `ALTER TABLE ${table.name} DROP COLUMN ${c.name};`,
          `ALTER TABLE ${table.name} ADD COLUMN ${c.name} ${c.sqlType};`,
        );
      } else if (was.notNull && !c.notNull) {
        additive.push(
          `ALTER TABLE ${table.name} ALTER COLUMN ${c.name} DROP NOT NULL;`,
        );
        added.push(`NULLs allowed in ${table.name}.${c.name}`);
      }
    }
    const names = new Set(table.columns.map((c) => c.name));
    for (const c of old.columns)
      if (!names.has(c.name)) {
        losses.push({
          table: table.name,
          column: c.name,
          change: "drop_column",
          from: c.sqlType.toLowerCase(),
          to: undefined,
        });
        destructive.push(`ALTER TABLE ${table.name} DROP COLUMN ${c.name};`);
      }
  }
  for (const old of before.values())
    if (!kept.has(old.name)) {
      losses.push({
        table: old.name,
        column: undefined,
        change: "drop_table",
        from: old.role,
        to: undefined,
      });
      destructive.push(`DROP TABLE ${old.name};`);
    }
  return { additive, destructive, losses, added };
}

export function describeLoss(loss: RepositoryLoss): string {
  switch (loss.change) {
    case "drop_table":
      return `table ${loss.table} (${loss.from}) and its rows`;
    case "drop_column":
      return `column ${loss.table}.${loss.column} and its values`;
    case "retype_column":
      return `the values of ${loss.table}.${loss.column} (${loss.from} -> ${loss.to})`;
    case "rekey_table":
      return `table ${loss.table}'s rows (key ${loss.from} -> ${loss.to})`;
  }
}

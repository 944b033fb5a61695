import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ConfigurationError } from "@taskport/core";
import type { Executor } from "./transaction.ts";

/** The schema version this pg-boss package installs (its package.json's `pgboss.schema`). */
export const EXPECTED_SCHEMA_VERSION: number | undefined = (() => {
  try {
    const entry = createRequire(import.meta.url).resolve("pg-boss");
    let dir = dirname(entry);
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; pgboss?: { schema?: number } };
        if (pkg.name === "pg-boss") return pkg.pgboss?.schema;
      } catch {
        // not here: look one folder up
      }
    }
  } catch {
    // resolution failed: skip the check rather than refuse to run
  }
  return undefined;
})();

/** The version recorded in `<schema>.version`, or undefined when pg-boss is not installed there. */
export async function installedSchemaVersion(db: Executor, schema: string): Promise<number | undefined> {
  const { rows } = await db.executeSql("SELECT to_regclass($1) IS NOT NULL AS present", [`${schema}.version`]);
  if (!(rows[0] as { present: boolean } | undefined)?.present) return undefined;
  const result = await db.executeSql(`SELECT version FROM ${schema}.version LIMIT 1`);
  const version = (result.rows[0] as { version: number | string } | undefined)?.version;
  return version === undefined ? undefined : Number(version);
}

/**
 * pg-boss migrates an older schema forward itself, but runs on a newer one without a word, with
 * statements written for tables that may have changed: refuse that with a clear message.
 */
export function versionProblem(schema: string, installed: number | undefined): ConfigurationError | undefined {
  if (installed === undefined || EXPECTED_SCHEMA_VERSION === undefined || installed <= EXPECTED_SCHEMA_VERSION) return undefined;
  return new ConfigurationError(
    "pg-boss",
    `the schema "${schema}" was installed by a newer pg-boss (schema version ${installed}; this pg-boss uses ${EXPECTED_SCHEMA_VERSION}). Upgrade the pg-boss package to the version the other services use, or point this app at another schema.`,
  );
}

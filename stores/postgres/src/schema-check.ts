import type { CheckProblem } from "@taskport/core";
import type { Database } from "./database.ts";
import { installedVersion, quoted } from "./schema.ts";

interface Access {
  readonly user: string;
  readonly schema_exists: boolean;
  readonly may_create_schema: boolean;
  readonly may_use_schema: boolean | null;
  readonly may_write_jobs: boolean | null;
}

/**
 * What `check()` reports, without changing anything: the server answers, the schema is of a version
 * this package knows, and the user may create it (when it is missing) or use its table.
 */
export async function checkSchema(db: Database, schema: string): Promise<CheckProblem[]> {
  try {
    const jobs = `${quoted(schema)}.jobs`;
    const [access] = await db.query<Access>(
      `SELECT current_user AS user,
        n.oid IS NOT NULL AS schema_exists,
        has_database_privilege(current_database(), 'CREATE') AS may_create_schema,
        CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'USAGE') END AS may_use_schema,
        CASE WHEN to_regclass($2) IS NULL THEN NULL ELSE has_table_privilege($2, 'SELECT,INSERT,UPDATE,DELETE') END AS may_write_jobs
      FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = $1`,
      [schema, jobs],
    );
    if (!access) return [];
    const problems: CheckProblem[] = [];
    if (!access.schema_exists && !access.may_create_schema) {
      problems.push({
        message: `[taskport] [postgres-store] the schema "${schema}" does not exist and the user ${access.user} may not create it. Grant it CREATE on the database once, or create the schema for it.`,
      });
    }
    if (access.may_use_schema === false || access.may_write_jobs === false) {
      problems.push({
        message: `[taskport] [postgres-store] the user ${access.user} may not use the schema "${schema}" or write its jobs table. Grant it USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on ${jobs}.`,
      });
    }
    await installedVersion(db, schema);
    return problems;
  } catch (error) {
    return [{ message: (error as Error).message }];
  }
}

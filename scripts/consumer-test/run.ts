/**
 * The consumer test: taskport as a new user gets it. Packs every published workspace package, checks
 * each tarball (publint, Are the Types Wrong, LICENSE and README inside), installs the tarballs with
 * the engine libraries into a throwaway project outside the repository, and there:
 * - checks that npm installed one copy of each engine library and of core (the app's own);
 * - type-checks a small app with moduleResolution nodenext and bundler;
 * - runs it on the memory engine and on BullMQ (Redis), on this Node and on the lowest Node that
 *   `engines` promises (installed from the npm registry's `node` package);
 * - runs the CLI, and checks that installing it brought no test runner.
 *
 * npm run test:consumer   (TASKPORT_KEEP_CONSUMER=1 keeps the project and prints where it is)
 */
import { type ExecFileSyncOptions, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { lowestNode, type PublishedPackage, publishedPackages, tarballName } from "./workspace-packages.ts";

const repo = resolve(import.meta.dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "taskport-consumer-"));
const keep = process.env.TASKPORT_KEEP_CONSUMER === "1";
const bin = (name: string): string => join(repo, "node_modules", ".bin", name);

function step(title: string): void {
  console.log(`\n-- consumer test: ${title}`);
}

function run(command: string, args: readonly string[], options: ExecFileSyncOptions = {}): string {
  try {
    return String(execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options }));
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`.trimEnd(), { cause: error });
  }
}

function pack(packages: readonly PublishedPackage[]): Map<string, string> {
  step(`pack ${packages.length} packages (prepack builds each and strips the development condition)`);
  const dir = join(work, "tarballs");
  mkdirSync(dir);
  const workspaces = packages.flatMap((pkg) => ["--workspace", pkg.location]);
  run("npm", ["pack", ...workspaces, "--pack-destination", dir], { cwd: repo });
  const tarballs = new Map<string, string>();
  for (const pkg of packages) {
    const file = join(dir, tarballName(pkg));
    if (!existsSync(file)) throw new Error(`npm pack made no ${tarballName(pkg)} (made: ${readdirSync(dir).join(", ")})`);
    tarballs.set(pkg.name, file);
  }
  return tarballs;
}

function lintTarballs(tarballs: ReadonlyMap<string, string>): void {
  step("publint, Are the Types Wrong, LICENSE and README in each tarball");
  const license = readFileSync(join(repo, "LICENSE"), "utf8");
  for (const [name, file] of tarballs) {
    const listed = run("tar", ["-tzf", file]).split("\n");
    for (const needed of ["package/LICENSE", "package/README.md", "package/package.json"]) {
      if (!listed.includes(needed)) throw new Error(`${name}: ${needed} is not in the tarball`);
    }
    if (run("tar", ["-xzOf", file, "package/LICENSE"]) !== license) throw new Error(`${name}: its LICENSE differs from the repository's`);
    const manifest = run("tar", ["-xzOf", file, "package/package.json"]);
    if (manifest.includes("@taskport/source")) throw new Error(`${name}: the published package.json keeps the @taskport/source condition`);
    run(bin("publint"), ["run", file, "--strict"]);
    // ESM only, on purpose: node10 and CommonJS resolutions are not offered (Node ≥ 22.12 can require() ESM).
    run(bin("attw"), [file, "--profile", "esm-only", "--no-color", "--format", "ascii"]);
    console.log(`${name}: ok`);
  }
}

/** The engine libraries the adapters take as peers, at the versions the repository tested. */
function engineLibraries(packages: readonly PublishedPackage[]): Map<string, string> {
  const own = new Set(packages.map((pkg) => pkg.name));
  const libraries = new Map<string, string>();
  for (const pkg of packages) {
    for (const name of Object.keys(pkg.peerDependencies)) {
      if (own.has(name) || pkg.peerDependenciesMeta[name]?.optional) continue;
      if (name === "vitest") continue; // the suite's runner: a consumer app has no need of it
      libraries.set(name, installedVersion(name));
      // A library that ships no types (pg) has them on DefinitelyTyped, as a TypeScript app installs them.
      const types = `@types/${name.replace(/^@/, "").replace("/", "__")}`;
      if (existsSync(join(repo, "node_modules", types))) libraries.set(types, installedVersion(types));
    }
  }
  return libraries;
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

function install(tarballs: ReadonlyMap<string, string>, libraries: ReadonlyMap<string, string>): string {
  step("install the tarballs and the app's own engine libraries into a project outside the repository");
  const app = join(work, "app");
  cpSync(join(import.meta.dirname, "app"), app, { recursive: true });
  const scripts = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).allowScripts;
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "taskport-consumer-app", private: true, type: "module", allowScripts: scripts }, null, 2)}\n`,
  );
  const specs = [
    ...[...tarballs.entries()].filter(([name]) => name !== "@taskport/conformance").map(([, file]) => file),
    ...[...libraries].map(([name, version]) => `${name}@${version}`),
    `@types/node@${installedVersion("@types/node")}`,
  ];
  run("npm", ["install", "--no-audit", "--no-fund", ...specs], { cwd: app });
  return app;
}

function assertOneCopy(app: string, names: readonly string[]): void {
  step(`one copy of each engine library and of core (npm ls): ${names.join(", ")}`);
  for (const name of names) {
    const copies = run("npm", ["ls", name, "--all", "--parseable"], { cwd: app })
      .split("\n")
      .filter((line) => line.trim() !== "");
    const expected = join(app, "node_modules", name);
    if (copies.length !== 1 || copies[0] !== expected)
      throw new Error(`${name}: expected one copy at ${expected}, found:\n${copies.join("\n")}`);
  }
  // The CLI takes the conformance suite as an optional peer: installing it must not bring vitest.
  if (existsSync(join(app, "node_modules", "vitest"))) throw new Error("installing @taskport/cli brought vitest with it");
  console.log("one copy each; no vitest");
}

function typecheck(app: string): void {
  step("type-check the app with moduleResolution nodenext (and build it) and bundler");
  run(bin("tsc"), ["-p", join(app, "tsconfig.nodenext.json")]);
  run(bin("tsc"), ["-p", join(app, "tsconfig.bundler.json")]);
  console.log("both compile");
}

/** The `node` package of the npm registry at the lowest version `engines` promises. */
function lowestNodeBinary(version: string): string {
  step(`Node ${version}, the lowest that engines.node promises`);
  const dir = join(work, "lowest-node");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ private: true, allowScripts: { node: true } })}\n`);
  run("npm", ["install", "--no-audit", "--no-fund", `node@${version}`], { cwd: dir });
  const binary = join(dir, "node_modules", "node", "bin", "node");
  const reported = run(binary, ["--version"]).trim();
  if (reported !== `v${version}`) throw new Error(`node@${version} from npm reports ${reported}`);
  return binary;
}

function runApp(app: string, nodes: readonly string[]): void {
  for (const node of nodes) {
    for (const engine of ["memory", "bullmq"]) {
      step(`run the app on ${engine} with ${run(node, ["--version"]).trim()}`);
      console.log(run(node, [join(app, "dist", "main.js"), engine], { cwd: app, timeout: 60_000 }).trim());
    }
  }
}

function runCli(app: string, node: string): void {
  step("the installed CLI");
  const taskport = join(app, "node_modules", "@taskport", "cli", "bin", "taskport.js");
  console.log(`taskport ${run(node, [taskport, "--version"], { cwd: app }).trim()}`);
  const host = process.env.TASKPORT_REDIS_HOST ?? "127.0.0.1";
  const port = process.env.TASKPORT_REDIS_PORT ?? "6379";
  for (const url of ["memory://", `bullmq://${host}:${port}/0`]) {
    console.log(run(node, [taskport, "check", "--url", url], { cwd: app, timeout: 30_000 }).trim());
  }
}

try {
  const packages = publishedPackages(repo);
  const tarballs = pack(packages);
  lintTarballs(tarballs);
  const libraries = engineLibraries(packages);
  const app = install(tarballs, libraries);
  assertOneCopy(app, ["@taskport/core", ...libraries.keys()]);
  typecheck(app);
  const floor = lowestNode(packages.find((pkg) => pkg.name === "@taskport/core")?.engines.node);
  const nodes = process.version === `v${floor}` ? [process.execPath] : [process.execPath, lowestNodeBinary(floor)];
  runApp(app, nodes);
  for (const node of nodes) runCli(app, node);
  console.log(
    `\nconsumer test passed: ${packages.length} packages, Node ${nodes.length > 1 ? `${process.version} and v${floor}` : process.version}`,
  );
} finally {
  if (keep) console.log(`kept the throwaway project in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

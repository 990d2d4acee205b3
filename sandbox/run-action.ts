// Runs the bundled action as the Actions runner does: `node dist/index.js` with INPUT_<NAME>
// variables (hyphens kept, upper case), GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
// Used by the demo, the benchmark and the end-to-end tests.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const DIST = resolve(import.meta.dirname, "../dist/index.js");

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
  /** The messages of ::error annotations, unescaped. */
  errors: string[];
  /** The values the run asked the runner to mask. */
  masked: string[];
  durationMs: number;
}

function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1] as string] = m[3] as string;
  return out;
}

/** The runner's command escaping (%25 %0D %0A) undone. */
function unescapeCommand(s: string): string {
  return s.replace(/%0A/g, "\n").replace(/%0D/g, "\r").replace(/%25/g, "%");
}

export async function runAction(inputs: Record<string, string>, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), "phoidc-"));
  const outputFile = join(dir, "output");
  const summaryFile = join(dir, "summary");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  // A clean environment, as a runner step has: nothing of this process's INPUT_* leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? dir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    ...opts.env,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const started = performance.now();
  // Asynchronous on purpose: the simulators may live in this process and must keep answering.
  const child = spawn(process.execPath, [DIST], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const limit = opts.timeoutMs ?? 55_000;
  const code = await new Promise<number | null>((done, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the action did not finish within ${limit} ms\n${stdout}\n${stderr}`));
    }, limit);
    child.on("close", (c) => {
      clearTimeout(timer);
      done(c);
    });
  });
  const run: ActionRun = {
    code,
    stdout,
    stderr,
    summary: readFileSync(summaryFile, "utf8"),
    outputs: parseOutputs(readFileSync(outputFile, "utf8")),
    errors: [...stdout.matchAll(/^::error[^:]*::(.*)$/gm)].map((m) => unescapeCommand(m[1] as string)),
    masked: [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1] as string),
    durationMs: performance.now() - started,
  };
  rmSync(dir, { recursive: true, force: true });
  return run;
}

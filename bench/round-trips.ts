// `npm run bench`: how long the action takes and how many round trips it waits for in turn.
// Every simulated request is delayed by LATENCY ms, so (run time − cold start) / LATENCY is the
// number of sequential round trips: the figure that parallel reads keep low on slow links.
// Prints figures; not a test.
import { runAction } from "../sandbox/run-action.ts";
import { startSandbox } from "../sandbox/sandbox.ts";

const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 100);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

// Cold start: the bundle loads, reads its inputs, fails on the first one; no network.
const cold: number[] = [];
for (let i = 0; i < REPEAT; i++) cold.push((await runAction({ "pocket-id-url": "not a url" })).durationMs);
const coldMs = median(cold);
console.log(`cold start (load bundle, validate inputs, exit): median ${coldMs.toFixed(0)} ms over ${REPEAT} runs`);

const rows: string[] = [];
for (const scenario of ["fresh apply", "no-op rerun", "verify"] as const) {
  const times: number[] = [];
  let requests = 0;
  for (let i = 0; i < REPEAT; i++) {
    const { pocketId, harbor, inputs, close } = await startSandbox();
    try {
      if (scenario !== "fresh apply") await runAction(inputs);
      const before = pocketId.requests.length + harbor.requests.length;
      for (const sim of [pocketId, harbor]) sim.fault({ path: /./, kind: "delay", ms: LATENCY, times: 1_000 });
      const run = await runAction(scenario === "verify" ? { ...inputs, mode: "verify" } : inputs);
      if (run.code !== 0) throw new Error(`${scenario} failed:\n${run.stdout}`);
      times.push(run.durationMs);
      requests = pocketId.requests.length + harbor.requests.length - before;
    } finally {
      await close();
    }
  }
  const ms = median(times);
  const trips = (ms - coldMs) / LATENCY;
  rows.push(`${scenario.padEnd(12)} ${ms.toFixed(0).padStart(6)} ms  ${String(requests).padStart(3)} requests  ≈ ${trips.toFixed(1)} sequential round trips`);
}
console.log(`with ${LATENCY} ms added to every request (median of ${REPEAT}):`);
for (const r of rows) console.log(`  ${r}`);

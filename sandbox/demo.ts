// `npm run demo`: starts both simulators on loopback and runs the built action against them
// twice, as a workflow would: a fresh setup, then a rerun that must change nothing.
import { type ActionRun, runAction } from "./run-action.ts";
import { startSandbox } from "./sandbox.ts";

const { pocketId, harbor, inputs, close } = await startSandbox();

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit ${run.code} in ${Math.round(run.durationMs)} ms`);
  // The runner consumes its ::add-mask:: commands; so does this demo, rather than print secrets.
  const log = run.stdout
    .split("\n")
    .filter((l) => l && !l.startsWith("::add-mask::"))
    .join("\n");
  console.log(log);
  console.log("--- outputs");
  for (const [name, value] of Object.entries(run.outputs)) console.log(`${name}: ${name === "client-secret" && value ? "*** (masked)" : value}`);
  console.log("--- job summary");
  console.log(run.summary.trim());
}

let failed = false;
try {
  const first = await runAction(inputs);
  show("Run 1: fresh Pocket ID and Harbor", first);
  const writes1 = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };
  const second = await runAction(inputs);
  show("Run 2: the same step again", second);
  const writes2 = { pocketId: pocketId.writes().length - writes1.pocketId, harbor: harbor.writes().length - writes1.harbor };
  console.log("\n=== Result");
  console.log(`Run 1 changed: Pocket ID ${writes1.pocketId} write(s), Harbor ${writes1.harbor} write(s).`);
  console.log(`Run 2 changed: Pocket ID ${writes2.pocketId} write(s), Harbor ${writes2.harbor} write(s) (the OIDC test and the secret probe are reads).`);
  console.log(
    `Harbor now: auth_mode=${String(harbor.config().auth_mode)}, oidc_client_id=${String(harbor.config().oidc_client_id)}, oidc_endpoint=${String(harbor.config().oidc_endpoint)}`,
  );
  console.log(`Pocket ID accepts the secret Harbor holds: ${pocketId.acceptsSecret("harbor", harbor.secret() ?? "")}`);
  failed = first.code !== 0 || second.code !== 0 || writes2.pocketId + writes2.harbor !== 0;
} finally {
  await close();
}
process.exit(failed ? 1 : 0);

// Both simulators with fresh credentials, and the inputs that point the action at them: what the
// demo and the benchmark start from.
import { randomBytes } from "node:crypto";
import { type HarborOptions, type HarborSim, startHarbor } from "./harbor.ts";
import { type PocketIdOptions, type PocketIdSim, startPocketId } from "./pocket-id.ts";

export interface Sandbox {
  pocketId: PocketIdSim;
  harbor: HarborSim;
  /** The required inputs, plus client-id: harbor. */
  inputs: Record<string, string>;
  close(): Promise<void>;
}

export async function startSandbox(opts: { pocketId?: Partial<PocketIdOptions>; harbor?: Partial<HarborOptions> } = {}): Promise<Sandbox> {
  const apiKey = randomBytes(16).toString("hex");
  const adminPassword = `Harbor-${randomBytes(8).toString("hex")}`;
  const pocketId = await startPocketId({ apiKey, ...opts.pocketId });
  const harbor = await startHarbor({ adminPassword, ...opts.harbor });
  return {
    pocketId,
    harbor,
    inputs: {
      "pocket-id-url": pocketId.url,
      "pocket-id-api-key": apiKey,
      "harbor-url": harbor.url,
      "harbor-password": adminPassword,
      "client-id": "harbor",
    },
    close: async () => {
      await Promise.all([pocketId.close(), harbor.close()]);
    },
  };
}

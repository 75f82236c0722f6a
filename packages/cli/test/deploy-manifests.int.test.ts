import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

// The Kubernetes manifests for the distributed pipeline: no cluster here, so what can be checked
// is that they parse, say what they must, and pass only flags the commands accept.

interface Container {
  image: string;
  command?: string[];
  args: string[];
  envFrom: { secretRef: { name: string } }[];
  volumeMounts: { mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes: { persistentVolumeClaim: { claimName: string } }[];
}
type Manifest =
  | {
      kind: "Deployment";
      metadata: { name: string };
      spec: { replicas: number; template: { spec: PodSpec } };
    }
  | {
      kind: "CronJob";
      metadata: { name: string };
      spec: {
        schedule: string;
        concurrencyPolicy: string;
        jobTemplate: { spec: { template: { spec: PodSpec } } };
      };
    };

async function manifests(): Promise<Manifest[]> {
  const text = await readFile(
    join(REPO_ROOT, "deploy/kubernetes/streamflow-pipeline.yaml"),
    "utf8",
  );
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Manifest);
}

async function expectFlagsAccepted(command: string[], line: string) {
  const help = await runCli([...command, "--help"], {}, REPO_ROOT);
  expect(help.exitCode).toBe(0);
  for (const flag of line.match(/--[a-z-]+/g) ?? [])
    expect(help.stdout, `${command.join(" ")} ${flag}`).toContain(flag);
}

describe("deploy/kubernetes/streamflow-pipeline.yaml", () => {
  it("runs 3 worker replicas and a monthly distributed pipeline run, both from the same secret and months", async () => {
    const all = await manifests();
    expect(all.map((m) => m.kind)).toEqual(["Deployment", "CronJob"]);
    const [worker, cron] = all as [
      Extract<Manifest, { kind: "Deployment" }>,
      Extract<Manifest, { kind: "CronJob" }>,
    ];
    expect(worker.spec.replicas).toBe(3);
    const w = worker.spec.template.spec.containers[0]!;
    expect(w.args[0]).toBe("worker");
    await expectFlagsAccepted(["worker"], w.args.join(" "));

    expect(cron.spec.schedule).toMatch(/^\S+ \S+ \S+ \* \*$/);
    expect(cron.spec.concurrencyPolicy).toBe("Forbid");
    const podSpec = cron.spec.jobTemplate.spec.template.spec;
    const c = podSpec.containers[0]!;
    const script = c.args.join("\n");
    const run = /pipeline run ([\s\S]*)$/.exec(script)?.[1] ?? "";
    expect(run).toMatch(/--distributed[\s\S]*--shards 3/);
    await expectFlagsAccepted(["pipeline", "run"], run);

    // The coordinator and its workers must share the store, the registry and the months.
    expect(c.image).toBe(w.image);
    expect(c.envFrom).toEqual(w.envFrom);
    expect(podSpec.volumes).toEqual(worker.spec.template.spec.volumes);
    expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(
      w.volumeMounts.map((m) => m.mountPath),
    );
    expect(script).toContain('--month-dir "/data/$month"');
  });

  it("is checked by this test: a flag the CLI does not have is caught", async () => {
    await expect(
      expectFlagsAccepted(["worker"], "worker --no-such-flag"),
    ).rejects.toThrow(/--no-such-flag/);
  });
});

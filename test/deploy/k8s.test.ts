import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { checkKbArgs, configWith, repo, serverRoutes } from './support.ts';

// Every manifest is rendered (kustomize, built into kubectl) and validated against the Kubernetes
// OpenAPI schemas offline (kubernetes-models); then cross-checked against the app: probe paths
// are real routes, commands are real `kb` commands, env names are real config keys.

const k8s = repo('deploy/k8s');
const overlays = ['production', 'dev'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const models: Record<string, new (d: Doc) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/CronJob': CronJob,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
function render(overlay: string): Doc[] {
  const r = spawnSync('kubectl', ['kustomize', path.join(k8s, 'overlays', overlay)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed:\n${r.stderr}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
}
/** Without kubectl: the base's resource files as they are (no overlay, no generated ConfigMap). */
function baseResources(): Doc[] {
  const kust = YAML.parse(fs.readFileSync(path.join(k8s, 'base/kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kust.resources.flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(k8s, 'base', f), 'utf8')).map((d) => d.toJS()));
}

const localYaml = fs.readFileSync(path.join(k8s, 'base/local.yaml'), 'utf8');
const find = (docs: Doc[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`no ${kind}/${name}`);
  return d;
};
const podSpec = (d: Doc) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.spec : d.spec.template.spec);
const podLabels = (d: Doc) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.metadata.labels : d.spec.template.metadata.labels);
const workloads = (docs: Doc[]) => docs.filter((d) => d.kind === 'Deployment' || d.kind === 'CronJob');
const isKb = (c: Doc) => /(^|\/)kb-assistant(-trainer)?(:|$)/.test(c.image);
const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);

function validateAll(docs: Doc[]) {
  expect(docs.length).toBeGreaterThan(10);
  for (const d of docs) {
    const Model = models[`${d.apiVersion}/${d.kind}`];
    expect(Model, `no schema model for ${d.apiVersion} ${d.kind}`).toBeDefined();
    expect(() => new Model(d).validate(), `${d.kind}/${d.metadata?.name}`).not.toThrow();
  }
}

describe('Kubernetes manifests', () => {
  it('base resources validate against the Kubernetes schemas (always, with or without kubectl)', () => {
    validateAll(baseResources());
  });

  it('a schema violation is caught (the validation is not a no-op)', () => {
    const api = structuredClone(find(baseResources(), 'Deployment', 'kb-api'));
    api.spec.replicas = 'three';
    expect(() => new Deployment(api).validate()).toThrow();
    const pdb = structuredClone(find(baseResources(), 'PodDisruptionBudget', 'kb-api'));
    pdb.spec.maxUnavailable = { count: 1 };
    expect(() => new PodDisruptionBudget(pdb).validate()).toThrow();
    const job = structuredClone(find(baseResources(), 'CronJob', 'kb-ingest'));
    delete job.spec.jobTemplate.spec.template.spec.containers[0].name; // required
    expect(() => new CronJob(job).validate()).toThrow();
    const np = structuredClone(find(baseResources(), 'NetworkPolicy', 'kb-vllm-ingress'));
    np.spec.ingress[0].ports[0].protocol = 'TCPX';
    expect(() => new NetworkPolicy(np).validate()).toThrow();
    // Limitation: the Kubernetes OpenAPI schemas allow unknown fields, so a misspelt optional
    // field is not a schema error; the cross-checks below (probes, commands, env) cover the
    // fields the app depends on.
  });

  describe.each(overlays)('overlay %s (rendered with kubectl kustomize)', (overlay) => {
    const docs = (): Doc[] => {
      if (!kubectl) throw new Error('unreachable');
      return render(overlay);
    };

    it.skipIf(!kubectl)('renders and every resource validates; images and namespace come from the overlay', () => {
      const all = docs();
      validateAll(all);
      const ns = all.find((d) => d.kind === 'Namespace')!.metadata.name;
      for (const d of all.filter((x) => x.kind !== 'Namespace')) expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe(ns);
      const kust = YAML.parse(fs.readFileSync(path.join(k8s, 'overlays', overlay, 'kustomization.yaml'), 'utf8')) as { images?: Array<{ newName: string; newTag: string }> };
      for (const w of workloads(all)) {
        for (const c of podSpec(w).containers.filter(isKb)) {
          if (kust.images) expect(kust.images.map((i) => `${i.newName}:${i.newTag}`)).toContain(c.image);
        }
      }
    });

    it.skipIf(!kubectl)('API: probes on the real routes and port, replicas behind a Service, PDB, HPA, scrape annotations', () => {
      const all = docs();
      const routes = serverRoutes();
      const api = find(all, 'Deployment', 'kb-api');
      const c = podSpec(api).containers[0];
      const config = configWith(localYaml, {});
      expect(c.ports[0].containerPort).toBe(config.server.port);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(routes).toContain(p.httpGet.path);
      const ann = api.spec.template.metadata.annotations;
      expect(ann['prometheus.io/scrape']).toBe('true');
      expect(routes).toContain(ann['prometheus.io/path']);
      expect(Number(ann['prometheus.io/port'])).toBe(config.server.port);
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
      const svc = find(all, 'Service', 'kb-api');
      expect(matches(svc.spec.selector, podLabels(api))).toBe(true);
      expect(matches(find(all, 'PodDisruptionBudget', 'kb-api').spec.selector.matchLabels, podLabels(api))).toBe(true);
      expect(find(all, 'HorizontalPodAutoscaler', 'kb-api').spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'kb-api' });
      // Replica mode: the pod's own data folder (emptyDir), snapshots read-only from the shared volume.
      const env = Object.fromEntries(c.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
      const mounts = Object.fromEntries(c.volumeMounts.map((m: Doc) => [m.mountPath, m]));
      expect(mounts[env.KB_SNAPSHOT__SOURCE]).toMatchObject({ readOnly: true });
      const dataVol = podSpec(api).volumes.find((v: Doc) => v.name === mounts['/app/data'].name);
      expect(dataVol.emptyDir).toBeDefined();
    });

    it.skipIf(!kubectl)('jobs: weekly ingest (Forbid) publishes where the API reads; semiannual finetune on GPU nodes', () => {
      const all = docs();
      const ingest = find(all, 'CronJob', 'kb-ingest');
      expect(ingest.spec.concurrencyPolicy).toBe('Forbid');
      const config = configWith(localYaml, {});
      const ingestMounts = podSpec(ingest).containers[0].volumeMounts.map((m: Doc) => m.mountPath);
      expect(ingestMounts).toContain(config.snapshot.target);
      expect(config.snapshot.publish_after_ingest).toBe(true);
      const api = find(all, 'Deployment', 'kb-api');
      const apiEnv = podSpec(api).containers[0].env.find((e: Doc) => e.name === 'KB_SNAPSHOT__SOURCE').value;
      expect(apiEnv).toBe(config.snapshot.target);
      // Same claim behind both paths.
      const claim = (d: Doc, mountPath: string) => {
        const m = podSpec(d).containers[0].volumeMounts.find((x: Doc) => x.mountPath === mountPath);
        return podSpec(d).volumes.find((v: Doc) => v.name === m.name).persistentVolumeClaim.claimName;
      };
      expect(claim(api, apiEnv)).toBe(claim(ingest, config.snapshot.target));

      const ft = find(all, 'CronJob', 'kb-finetune');
      expect(ft.spec.concurrencyPolicy).toBe('Forbid');
      const spec = podSpec(ft);
      expect(spec.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
      expect(spec.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu' }));
      // Adapters: written under finetune_runs.runs_dir, read by vLLM from the same claim and path.
      const vllm = find(all, 'Deployment', 'kb-vllm');
      const runsDir = config.finetune_runs.runs_dir;
      const adaptersMount = (d: Doc) => podSpec(d).containers[0].volumeMounts.find((m: Doc) => runsDir.startsWith(`${m.mountPath}/`));
      expect(adaptersMount(ft)).toBeDefined();
      expect(adaptersMount(vllm)?.mountPath).toBe(adaptersMount(ft).mountPath);
      expect(claim(vllm, adaptersMount(vllm).mountPath)).toBe(claim(ft, adaptersMount(ft).mountPath));
      expect(podSpec(vllm).containers[0].args).toContain('--enable-lora');
      expect(podSpec(vllm).containers[0].env).toContainEqual({ name: 'VLLM_ALLOW_RUNTIME_LORA_UPDATING', value: 'True' });
      expect(podSpec(vllm).containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
      // The served model name is what the assistant asks for, at the Service kb talks to.
      expect(podSpec(vllm).containers[0].args).toContain(`--served-model-name=${config.assistants['kb-assistant'].model}`);
      const url = new URL(config.upstreams[config.assistants['kb-assistant'].upstream].base_url);
      const vsvc = find(all, 'Service', url.hostname);
      expect(vsvc.spec.ports[0].port).toBe(Number(url.port));
      expect(matches(vsvc.spec.selector, podLabels(vllm))).toBe(true);
    });

    it.skipIf(!kubectl)('commands, env names, secrets, volumes and config maps all resolve', () => {
      const all = docs();
      const secrets = new Map(all.filter((d) => d.kind === 'Secret').map((d) => [d.metadata.name, Object.keys({ ...d.stringData, ...d.data })]));
      const claims = new Set(all.filter((d) => d.kind === 'PersistentVolumeClaim').map((d) => d.metadata.name));
      const configMaps = new Map(all.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d]));
      for (const w of workloads(all)) {
        const spec = podSpec(w);
        for (const v of spec.volumes ?? []) {
          if (v.persistentVolumeClaim) expect(claims, `${w.metadata.name}: claim ${v.persistentVolumeClaim.claimName}`).toContain(v.persistentVolumeClaim.claimName);
          if (v.configMap) expect(configMaps.has(v.configMap.name), `${w.metadata.name}: configMap ${v.configMap.name}`).toBe(true);
        }
        for (const c of spec.containers) {
          const names = new Set(spec.volumes.map((v: Doc) => v.name));
          for (const m of c.volumeMounts ?? []) expect(names, `${w.metadata.name}: mount ${m.name}`).toContain(m.name);
          const env: Record<string, string> = {};
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref) expect(secrets.get(ref.name), `${w.metadata.name}: ${e.name} → ${ref.name}/${ref.key}`).toContain(ref.key);
            env[e.name] = e.value ?? 'secret-value';
          }
          if (!isKb(c)) continue;
          // Commands: args are `kb` args, or a shell line of `node bin/kb.mjs …` commands.
          if (c.command?.[0] === '/bin/sh') {
            const lines = c.args[0].split('&&').map((s: string) => s.trim());
            for (const l of lines) {
              expect(l.startsWith('node bin/kb.mjs ')).toBe(true);
              checkKbArgs(l.slice('node bin/kb.mjs '.length).split(/\s+/));
            }
          } else {
            checkKbArgs(c.args);
          }
          // Env names are real config keys: the config (ConfigMap local.yaml + env) validates, and
          // each KB_ variable changes the key it names.
          const cm = configMaps.get(spec.volumes.find((v: Doc) => v.configMap)?.configMap.name);
          const config = configWith(cm.data['local.yaml'], env) as unknown as Record<string, unknown>;
          for (const [k, v] of Object.entries(env).filter(([k]) => k.startsWith('KB_'))) {
            const keyPath = k.slice(3).toLowerCase().split('__');
            const got = keyPath.reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], config);
            expect(String(got), `${w.metadata.name}: ${k}`).toBe(v);
          }
        }
      }
    });

    it.skipIf(!kubectl)('NetworkPolicy: only the API and the finetune job reach the model server', () => {
      const all = docs();
      const np = find(all, 'NetworkPolicy', 'kb-vllm-ingress');
      const vllm = find(all, 'Deployment', 'kb-vllm');
      expect(matches(np.spec.podSelector.matchLabels, podLabels(vllm))).toBe(true);
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      const allowed = (labels: Record<string, string>) =>
        np.spec.ingress.some((rule: Doc) =>
          rule.from.some((f: Doc) => f.podSelector && !f.namespaceSelector && f.podSelector.matchExpressions.every((e: Doc) => e.operator === 'In' && e.values.includes(labels[e.key]))),
        );
      const by = (name: string, kind: string) => podLabels(find(all, kind, name));
      expect(allowed(by('kb-api', 'Deployment'))).toBe(true);
      expect(allowed(by('kb-finetune', 'CronJob'))).toBe(true);
      expect(allowed(by('kb-ingest', 'CronJob'))).toBe(false);
      expect(allowed({ 'app.kubernetes.io/name': 'something-else', 'app.kubernetes.io/component': 'api' })).toBe(false);
    });
  });

  it('the one-off admin Job validates and runs real kb commands against the ingestion store', () => {
    const job = YAML.parse(fs.readFileSync(path.join(k8s, 'tools/kb-admin-job.yaml'), 'utf8'));
    expect(() => new Job(job).validate()).not.toThrow();
    const c = job.spec.template.spec.containers[0];
    for (const l of c.args[0].split('&&').map((x: string) => x.trim())) checkKbArgs(l.replace(/^node bin\/kb\.mjs /, '').split(/\s+/));
    expect(c.args[0]).toMatch(/snapshot publish$/);
    const claims = job.spec.template.spec.volumes.map((v: Doc) => v.persistentVolumeClaim?.claimName).filter(Boolean);
    const ingest = find(baseResources(), 'CronJob', 'kb-ingest');
    expect(claims.sort()).toEqual(podSpec(ingest).volumes.map((v: Doc) => v.persistentVolumeClaim?.claimName).filter(Boolean).sort());
  });

  it('says when the overlays could not be rendered', (ctx) => {
    if (!kubectl) ctx.skip('kubectl (with built-in kustomize) is not installed: overlays not rendered; base resources were still schema-validated');
    expect(kubectl).toBe(true);
  });
});

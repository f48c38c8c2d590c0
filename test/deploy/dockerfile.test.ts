import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { checkKbArgs, repo, serverRoutes } from './support.ts';

// No Docker daemon on the development machines: the Dockerfile is checked offline against what
// it must match — CI's commands, the real health route, the entry point, the data folder.

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | null;
  body: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const joined = text.replace(/\\\r?\n/g, ' '); // line continuations
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable Dockerfile line: ${line}`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(m[2].trim());
      stages.push({ from: f![1], name: f![2] ?? null, body: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      continue; // global build args
    } else {
      if (!stages.length) throw new Error(`${op} before FROM`);
      stages[stages.length - 1].body.push({ op, args: m[2].trim() });
    }
  }
  return stages;
}

const dockerfile = fs.readFileSync(repo('Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const ops = (s: Stage, op: string) => s.body.filter((i) => i.op === op).map((i) => i.args);
const jsonArgs = (s: Stage, op: string) => ops(s, op).map((a) => JSON.parse(a) as string[]);
/** Instructions a stage inherits from its base stage(s) plus its own. */
const effective = (s: Stage): Instruction[] => {
  const base = stages.find((x) => x.name === s.from);
  return [...(base ? effective(base) : []), ...s.body];
};

describe('Dockerfile', () => {
  it('is multi-stage: native builds in the builder, tests in their own stage, a slim runtime as the default target', () => {
    expect(stages.map((s) => s.name)).toEqual(['builder', 'test', 'prune', 'runtime', 'trainer', null]);
    expect(stage('builder').from).toMatch(/^node:\$\{NODE_VERSION\}-\$\{DEBIAN_RELEASE\}$/);
    expect(stage('runtime').from).toMatch(/-slim$/);
    expect(stages[stages.length - 1].from).toBe('runtime'); // `docker build .` = the runtime image
    // The runtime carries no toolchain: it copies the pruned node_modules from the builder side.
    expect(ops(stage('runtime'), 'RUN').join(' ')).not.toMatch(/npm (ci|install)|apt-get/);
    expect(ops(stage('runtime'), 'COPY')).toContain('--from=prune /app/node_modules ./node_modules');
  });

  it('runs exactly the commands CI runs (.ci/run, package.json scripts)', () => {
    const ci = fs
      .readFileSync(repo('.ci/run'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^npm /.test(l));
    expect(ci.length).toBeGreaterThanOrEqual(2);
    const install = ci.find((l) => l.startsWith('npm ci'))!;
    const test = ci.find((l) => l.startsWith('npm test'))!;
    expect(ops(stage('builder'), 'RUN')).toEqual([install]);
    expect(ops(stage('test'), 'RUN')).toEqual([test]);
    const pkg = JSON.parse(fs.readFileSync(repo('package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts.test).toBeTruthy();
    // The runtime runs TypeScript through tsx, so tsx must survive `npm prune --omit=dev`.
    expect(pkg.dependencies.tsx).toBeTruthy();
    // The lockfile and .npmrc (skips onnxruntime's GPU download) reach `npm ci` before the sources.
    expect(ops(stage('builder'), 'COPY')[0]).toBe('package.json package-lock.json .npmrc ./');
  });

  it('runs as a non-root user with the data folder as a volume and the kb entry point', () => {
    for (const name of ['runtime', 'trainer']) {
      const users = effective(stage(name)).filter((i) => i.op === 'USER');
      expect(users[users.length - 1].args).toBe('node');
    }
    const env = ops(stage('runtime'), 'ENV').join(' ');
    const dataDir = /KB_DATA_DIR=(\S+)/.exec(env)![1];
    expect(jsonArgs(stage('runtime'), 'VOLUME')).toEqual([[dataDir]]);
    const pkg = JSON.parse(fs.readFileSync(repo('package.json'), 'utf8')) as { bin: Record<string, string> };
    const [entry] = jsonArgs(stage('runtime'), 'ENTRYPOINT');
    expect(entry).toEqual(['node', pkg.bin.kb]);
    expect(fs.existsSync(repo(pkg.bin.kb))).toBe(true);
    expect(checkKbArgs(jsonArgs(stage('runtime'), 'CMD')[0])).toBe('serve');
    expect(checkKbArgs(jsonArgs(stage('trainer'), 'CMD')[0])).toBe('finetune schedule');
    // Every source folder the app imports at runtime is copied (tests and benches are not).
    const copied = ops(stage('runtime'), 'COPY').map((c) => c.split(/\s+/)[1].replace('/app/', ''));
    for (const dir of ['bin', 'cli', 'config', 'src', 'serve', 'ingest', 'finetune', 'node_modules']) expect(copied).toContain(dir);
    const defaults = YAML.parse(fs.readFileSync(repo('config/default.yaml'), 'utf8')) as { server: { port: number } };
    expect(ops(stage('runtime'), 'EXPOSE')).toEqual([String(defaults.server.port)]);
  });

  it('health-checks the real liveness route', () => {
    const hc = ops(stage('runtime'), 'HEALTHCHECK')[0];
    const url = /fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|(\d+)\)\+'([^']+)'\)/.exec(hc);
    expect(url).not.toBeNull();
    expect(serverRoutes()).toContain(url![2]);
    expect(url![2]).toBe('/healthz');
    expect(ops(stage('trainer'), 'HEALTHCHECK')).toEqual(['NONE']);
  });

  it('.dockerignore keeps local state out and everything the build needs in', () => {
    const ignore = fs
      .readFileSync(repo('.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'data', '.git', 'config/local.yaml']) expect(ignore).toContain(p);
    const needed = ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'bin', 'cli', 'src', 'serve', 'ingest', 'finetune', 'config', 'test', 'finetune/train/requirements.txt'];
    for (const n of needed) expect(ignore.some((p) => p === n || n.startsWith(`${p}/`))).toBe(false);
  });

  it('the prune stage keeps only this platform\'s onnxruntime binaries and the built addons', () => {
    expect(ops(stage('prune'), 'RUN')[0]).toContain('sh deploy/docker/slim-node-modules.sh node_modules');
    const nm = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-slim-'));
    const touch = (p: string) => {
      fs.mkdirSync(path.dirname(path.join(nm, p)), { recursive: true });
      fs.writeFileSync(path.join(nm, p), 'x');
    };
    const other = process.arch === 'x64' ? 'arm64' : 'x64';
    for (const p of ['darwin/arm64', `linux/${process.arch}`, `linux/${other}`, 'win32/x64']) touch(`onnxruntime-node/bin/napi-v6/${p}/libonnxruntime.so`);
    for (const p of ['build/Release/better_sqlite3.node', 'build/Release/test_extension.node', 'build/Release/obj/a.o', 'build/Release/obj.target/b.o', 'build/Release/sqlite3.a', 'deps/sqlite3.c', 'src/better_sqlite3.cpp', 'lib/database.js']) touch(`better-sqlite3/${p}`);
    for (const p of ['build/Release/addon.node', 'build/Release/obj.target/addon.o', 'src/addon.cc', 'lib/index.js']) touch(`hnswlib-node/${p}`);
    const r = spawnSync('sh', [repo('deploy/docker/slim-node-modules.sh'), nm], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = (fs.readdirSync(nm, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(nm, f)).isFile()).map((f) => f.split(path.sep).join('/')).sort();
    expect(files).toEqual(
      [`onnxruntime-node/bin/napi-v6/linux/${process.arch}/libonnxruntime.so`, 'better-sqlite3/build/Release/better_sqlite3.node', 'better-sqlite3/lib/database.js', 'hnswlib-node/build/Release/addon.node', 'hnswlib-node/lib/index.js'].sort(),
    );
    fs.rmSync(nm, { recursive: true, force: true });
  });
});

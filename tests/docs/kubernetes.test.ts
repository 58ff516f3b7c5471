import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {
  filesIn,
  kubernetesDir,
  kubernetesObjects,
  lines,
  pipelinesDir,
  taskSteps,
  yamlDocuments,
  type KubeObject,
  type YamlObject,
} from './examples';

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: YamlObject }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: YamlObject;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
  securityContext?: YamlObject;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}
interface ServicePort {
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

const objects = kubernetesObjects();

function find(kind: string, file?: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind && (file === undefined || o.file === file));
}
function one(kind: string, file?: string): KubeObject {
  const found = find(kind, file);
  assert.equal(found.length, 1, `one ${kind}${file ? ` in ${file}` : ''}`);
  return found[0] as KubeObject;
}
function podTemplate(workload: KubeObject): PodTemplate {
  const spec = workload.spec ?? {};
  const template = workload.kind === 'ScaledJob' ? (spec.jobTargetRef as YamlObject).template : spec.template;
  return template as PodTemplate;
}
function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
function flagValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}
/** Every value of a repeated flag (buildkitd takes --addr more than once). */
function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1] as string] : []));
}

const daemonWorkloads = (): KubeObject[] => [
  one('Deployment', 'buildkitd-deployment.yaml'),
  one('StatefulSet', 'buildkitd-statefulset.yaml'),
];
const agentWorkloads = (): KubeObject[] => [
  one('Deployment', 'agent-deployment.yaml'),
  one('ScaledJob', 'agent-keda-scaledjob.yaml'),
];
const daemonContainer = (w: KubeObject): Container => {
  const container = podTemplate(w).spec.containers.find((c) => c.name === 'buildkitd');
  assert.ok(container, `${w.file}: a container named buildkitd`);
  return container;
};
const daemonTcpPort = (w: KubeObject): number => {
  const tcp = flagValues(daemonContainer(w).args ?? [], '--addr').find((a) => a.startsWith('tcp://'));
  assert.ok(tcp, `${w.file}: buildkitd listens on tcp://`);
  return Number(new URL(tcp).port);
};

// ----- running the scripts with a kubectl that records what would be applied -----

interface AppliedSecret {
  name: string;
  namespace: string;
  data: Record<string, string>;
}
interface ScriptRun {
  status: number | null;
  stderr: string;
  secrets: AppliedSecret[];
  /** Every kubectl command line the script ran. */
  commandLines: string[][];
}

/** A fake kubectl: `create secret generic ... --dry-run=client -o yaml` prints the Secret, `apply -f -` records it. */
function fakeKubectl(dir: string, log: string): void {
  const source = `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)} + '.argv', JSON.stringify(args) + '\\n');
const flag = (name) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1] : undefined; };
if (args[0] === 'create' && args[1] === 'secret' && args[2] === 'generic') {
  if (flag('--dry-run') === undefined && !args.includes('--dry-run=client')) process.exit(3);
  const data = {};
  for (const a of args) {
    let m = /^--from-file=([^=]+)=(.+)$/.exec(a);
    if (m) data[m[1]] = fs.readFileSync(m[2]).toString('base64');
    m = /^--from-literal=([^=]+)=(.*)$/.exec(a);
    if (m) data[m[1]] = Buffer.from(m[2]).toString('base64');
  }
  const doc = { apiVersion: 'v1', kind: 'Secret', metadata: { name: args[3], namespace: flag('--namespace') }, data };
  process.stdout.write(JSON.stringify(doc) + '\\n');
} else if (args[0] === 'apply' && args[1] === '-f' && args[2] === '-') {
  fs.appendFileSync(${JSON.stringify(log)}, fs.readFileSync(0, 'utf8'));
} else {
  process.stderr.write('fake kubectl: unexpected ' + args.join(' ') + '\\n');
  process.exit(2);
}
`;
  fs.writeFileSync(path.join(dir, 'kubectl'), source, { mode: 0o755 });
}

function runScript(script: string, args: string[], env: Record<string, string>, cwd: string): ScriptRun {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-kubectl-'));
  const log = path.join(bin, 'applied.jsonl');
  fakeKubectl(bin, log);
  const run = spawnSync('bash', [path.join(kubernetesDir, script), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
  });
  const applied = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  const secrets = applied
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const doc = JSON.parse(l) as {
        metadata: { name: string; namespace: string };
        data: Record<string, string>;
      };
      return { name: doc.metadata.name, namespace: doc.metadata.namespace, data: doc.data };
    });
  const argvLog = `${log}.argv`;
  const commandLines = (fs.existsSync(argvLog) ? fs.readFileSync(argvLog, 'utf8') : '')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as string[]);
  fs.rmSync(bin, { recursive: true, force: true });
  return { status: run.status, stderr: run.stderr, secrets, commandLines };
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-certs-'));
let certsRun: ScriptRun | undefined;
let agentRun: ScriptRun | undefined;
const certs = (): ScriptRun =>
  (certsRun ??= runScript('create-certs.sh', [path.join(workDir, 'certs')], {}, workDir));
const agentSecret = (): ScriptRun =>
  (agentRun ??= runScript(
    'create-agent-secret.sh',
    [],
    { AZP_URL: 'https://dev.azure.com/contoso', AZP_TOKEN: 'pat-value' },
    workDir,
  ));
const allSecrets = (): AppliedSecret[] => [...certs().secrets, ...agentSecret().secrets];
const secretFile = (secret: AppliedSecret, key: string): Buffer =>
  Buffer.from(secret.data[key] ?? '', 'base64');
function appliedSecret(name: string, namespace: string): AppliedSecret {
  const secret = allSecrets().find((s) => s.name === name && s.namespace === namespace);
  assert.ok(secret, `a script creates Secret ${namespace}/${name}`);
  return secret;
}

after(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('examples/kubernetes', () => {
  it('parses as YAML, every object with a kind, a name and a declared namespace', () => {
    assert.ok(objects.length >= 10, `found ${objects.length} objects`);
    const namespaces = new Set(find('Namespace').map((n) => n.metadata.name));
    assert.deepEqual([...namespaces].sort(), ['azp', 'buildkit']);
    for (const o of objects) {
      assert.ok(o.apiVersion && o.kind && o.metadata.name, `${o.file}: apiVersion, kind, name`);
      if (o.kind !== 'Namespace') {
        assert.ok(
          namespaces.has(o.metadata.namespace ?? ''),
          `${o.file}: ${o.kind} ${o.metadata.name} namespace`,
        );
      }
    }
  });

  it('selects the pods of every workload by labels its pod template carries', () => {
    for (const w of [...daemonWorkloads(), one('Deployment', 'agent-deployment.yaml')]) {
      const selector = (w.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
      assert.ok(Object.keys(selector).length > 0, `${w.file}: selector`);
      assert.ok(
        matches(selector, podTemplate(w).metadata.labels),
        `${w.file}: selector matches the template`,
      );
    }
  });

  it('runs rootless buildkitd with the security settings it needs and no privilege', () => {
    const images = new Set<string>();
    for (const w of daemonWorkloads()) {
      const c = daemonContainer(w);
      images.add(c.image);
      assert.match(c.image, /^moby\/buildkit:v\d+\.\d+\.\d+-rootless$/, `${w.file}: a pinned rootless image`);
      assert.ok(c.args?.includes('--oci-worker-no-process-sandbox'), `${w.file}: no process sandbox`);
      const sc = c.securityContext ?? {};
      assert.deepEqual(sc.seccompProfile, { type: 'Unconfined' }, `${w.file}: seccomp`);
      assert.deepEqual(sc.appArmorProfile, { type: 'Unconfined' }, `${w.file}: AppArmor`);
      assert.equal(sc.runAsUser, 1000, `${w.file}: the rootless image's user`);
      assert.notEqual(sc.privileged, true, `${w.file}: not privileged`);
      assert.equal(sc.capabilities, undefined, `${w.file}: no added capability`);
      const state = c.volumeMounts?.find((m) => m.mountPath === '/home/user/.local/share/buildkit');
      assert.ok(state, `${w.file}: the daemon's state on a volume`);
    }
    assert.equal(images.size, 1, 'both daemon variants run the same release');
  });

  it('re-owns a persistent cache volume only when its root does not match fsGroup', () => {
    // Without OnRootMismatch the kubelet walks and re-owns every file of the volume at each pod start,
    // which on a daemon's cache of snapshots takes minutes. Secret and emptyDir volumes are not affected.
    const persistent = daemonWorkloads().filter(
      (w) =>
        Array.isArray(w.spec?.volumeClaimTemplates) ||
        (podTemplate(w).spec.volumes ?? []).some((v) => 'persistentVolumeClaim' in v),
    );
    assert.deepEqual(
      persistent.map((w) => w.file),
      ['buildkitd-statefulset.yaml'],
      'the StatefulSet keeps its cache on persistent volumes',
    );
    for (const w of persistent) {
      const sc = podTemplate(w).spec.securityContext ?? {};
      assert.equal(sc.fsGroup, 1000, `${w.file}: fsGroup of the rootless daemon`);
      assert.equal(sc.fsGroupChangePolicy, 'OnRootMismatch', `${w.file}: fsGroupChangePolicy`);
    }
  });

  it('gives every container resource requests and limits', () => {
    for (const w of [...daemonWorkloads(), ...agentWorkloads()]) {
      for (const c of podTemplate(w).spec.containers) {
        for (const kind of ['requests', 'limits'] as const) {
          const r = c.resources?.[kind] ?? {};
          assert.ok(r.cpu && r.memory, `${w.file}/${c.name}: ${kind} cpu and memory`);
        }
      }
    }
  });

  it('probes the daemon with buildctl debug workers on the socket buildkitd listens on', () => {
    for (const w of daemonWorkloads()) {
      const c = daemonContainer(w);
      const socket = flagValues(c.args ?? [], '--addr').find((a) => a.startsWith('unix://'));
      assert.ok(socket, `${w.file}: a unix socket for local clients`);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const command = probe?.exec?.command ?? [];
        assert.deepEqual(command, ['buildctl', '--addr', socket, 'debug', 'workers'], `${w.file}: probe`);
      }
    }
  });

  it('serves port 1234 consistently: buildkitd, container port, Services, NetworkPolicy', () => {
    const policy = one('NetworkPolicy');
    const policyPorts = (policy.spec?.ingress as { ports: ServicePort[] }[]).flatMap((r) => r.ports);
    for (const w of daemonWorkloads()) {
      const c = daemonContainer(w);
      const port = daemonTcpPort(w);
      assert.equal(port, 1234, `${w.file}: buildkitd --addr port`);
      const containerPort = c.ports?.find((p) => p.containerPort === port);
      assert.ok(containerPort?.name, `${w.file}: a named container port ${port}`);
      const service = objects.find((o) => o.kind === 'Service' && o.file === w.file);
      assert.ok(service, `${w.file}: its Service`);
      const ports = service.spec?.ports as ServicePort[];
      assert.deepEqual(
        ports.map((p) => [p.port, p.targetPort]),
        [[port, containerPort.name]],
        `${w.file}: Service port → container port`,
      );
      assert.ok(matches(service.spec?.selector as Record<string, string>, podTemplate(w).metadata.labels));
      assert.ok(
        policyPorts.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP'),
        'policy port',
      );
    }
  });

  it('offers the Deployment and the StatefulSet as alternatives under one headless-or-not Service name', () => {
    const deploymentService = one('Service', 'buildkitd-deployment.yaml');
    const statefulService = one('Service', 'buildkitd-statefulset.yaml');
    assert.equal(deploymentService.metadata.name, statefulService.metadata.name);
    assert.equal(statefulService.spec?.clusterIP, 'None', 'the StatefulSet Service is headless');
    assert.equal(one('StatefulSet').spec?.serviceName, statefulService.metadata.name);
  });

  it('lets only the agent pods, in the agents namespace, reach the daemons', () => {
    const policy = one('NetworkPolicy');
    assert.equal(policy.metadata.namespace, 'buildkit');
    const selector = (policy.spec?.podSelector as { matchLabels: Record<string, string> }).matchLabels;
    for (const w of daemonWorkloads()) assert.ok(matches(selector, podTemplate(w).metadata.labels), w.file);
    assert.deepEqual(policy.spec?.policyTypes, ['Ingress']);
    const rules = policy.spec.ingress as { from: YamlObject[] }[];
    assert.equal(rules.length, 1);
    const peers = rules[0]?.from ?? [];
    assert.equal(peers.length, 1, 'one peer holding both selectors (AND, not OR)');
    const peer = peers[0] as {
      namespaceSelector: { matchLabels: Record<string, string> };
      podSelector: { matchLabels: Record<string, string> };
    };
    for (const w of agentWorkloads()) {
      assert.equal(w.metadata.namespace, peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name']);
      assert.ok(
        matches(peer.podSelector.matchLabels, podTemplate(w).metadata.labels),
        `${w.file}: agent labels`,
      );
    }
  });

  it('creates every Secret the manifests reference, with the keys they read', function () {
    this.timeout(30_000);
    const run = certs();
    assert.equal(run.status, 0, run.stderr);
    assert.equal(agentSecret().status, 0, agentSecret().stderr);
    let references = 0;
    for (const w of [...daemonWorkloads(), ...agentWorkloads()]) {
      const ns = w.metadata.namespace ?? '';
      const spec = podTemplate(w).spec;
      for (const volume of spec.volumes ?? []) {
        if (!volume.secret) continue;
        references++;
        const secret = appliedSecret(volume.secret.secretName, ns);
        for (const c of spec.containers) {
          const mount = c.volumeMounts?.find((m) => m.name === volume.name);
          if (!mount) continue;
          // Every file a flag of the container names under this mount is a key of the Secret.
          for (const arg of c.args ?? []) {
            if (arg.startsWith(`${mount.mountPath}/`)) {
              assert.ok(path.basename(arg) in secret.data, `${w.file}: ${arg} in Secret ${secret.name}`);
            }
          }
        }
      }
      for (const c of spec.containers) {
        for (const env of c.env ?? []) {
          const ref = (env.valueFrom?.secretKeyRef ?? undefined) as { name: string; key: string } | undefined;
          if (!ref) continue;
          references++;
          assert.ok(
            ref.key in appliedSecret(ref.name, ns).data,
            `${w.file}: ${env.name} ← ${ref.name}/${ref.key}`,
          );
        }
      }
    }
    for (const auth of find('TriggerAuthentication')) {
      for (const ref of auth.spec?.secretTargetRef as { name: string; key: string }[]) {
        references++;
        assert.ok(
          ref.key in appliedSecret(ref.name, auth.metadata.namespace ?? '').data,
          `${auth.file}: ${ref.key}`,
        );
      }
    }
    assert.ok(references >= 10, `${references} Secret references checked`);
  });

  it('passes the daemon certificate, key and CA to buildkitd from its Secret', function () {
    this.timeout(30_000);
    for (const w of daemonWorkloads()) {
      const args = daemonContainer(w).args ?? [];
      const secret = appliedSecret('buildkitd-tls', w.metadata.namespace ?? '');
      for (const flag of ['--tlscacert', '--tlscert', '--tlskey']) {
        const file = flagValue(args, flag);
        assert.ok(file && path.basename(file) in secret.data, `${w.file}: ${flag} ${file}`);
      }
    }
  });

  it('issues certificates that verify: daemon names of the Service and every StatefulSet pod, mutual TLS', async function () {
    this.timeout(30_000);
    const daemon = appliedSecret('buildkitd-tls', 'buildkit');
    const client = appliedSecret('buildkit-client-tls', 'azp');
    const ca = new X509Certificate(secretFile(daemon, 'ca.pem'));
    assert.ok(ca.ca, 'a CA certificate');
    assert.deepEqual(secretFile(client, 'ca.pem'), secretFile(daemon, 'ca.pem'), 'one CA for both sides');
    const serverCert = new X509Certificate(secretFile(daemon, 'cert.pem'));
    const clientCert = new X509Certificate(secretFile(client, 'cert.pem'));
    assert.ok(
      serverCert.verify(ca.publicKey) && serverCert.checkIssued(ca),
      'daemon certificate signed by the CA',
    );
    assert.ok(
      clientCert.verify(ca.publicKey) && clientCert.checkIssued(ca),
      'client certificate signed by the CA',
    );
    assert.ok(serverCert.keyUsage.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
    assert.ok(clientCert.keyUsage.includes('1.3.6.1.5.5.7.3.2'), 'clientAuth');
    // Every daemon host name the sample pipelines use must be in the daemon certificate.
    const hosts = new Set<string>();
    for (const file of filesIn(pipelinesDir, /\.ya?ml$/)) {
      for (const step of taskSteps(yamlDocuments(file)[0])) {
        for (const address of lines(step.inputs.buildkitAddress)) hosts.add(new URL(address).hostname);
      }
    }
    assert.ok(hosts.size >= 4, `${hosts.size} host names`);
    for (const host of hosts) assert.ok(serverCert.checkHost(host), `certificate names ${host}`);

    // A real handshake on loopback, the way buildctl meets buildkitd: the daemon requires a client
    // certificate from the CA, the client verifies the daemon's name.
    const server = tls.createServer(
      {
        key: secretFile(daemon, 'key.pem'),
        cert: secretFile(daemon, 'cert.pem'),
        ca: secretFile(daemon, 'ca.pem'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => socket.end('workers\n'),
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const connect = (withClientCert: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          servername: 'buildkitd-2.buildkitd.buildkit.svc.cluster.local',
          ca: secretFile(client, 'ca.pem'),
          ...(withClientCert
            ? { cert: secretFile(client, 'cert.pem'), key: secretFile(client, 'key.pem') }
            : {}),
        });
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('end', () => {
          resolve(data);
        });
        socket.on('error', reject);
      });
    try {
      assert.equal(await connect(true), 'workers\n');
      await assert.rejects(connect(false), 'a client without a certificate is refused');
    } finally {
      server.close();
    }
  });

  it('keeps the private keys and the PAT private: files mode 0600, the PAT never on a command line', function () {
    this.timeout(30_000);
    assert.equal(certs().status, 0);
    for (const key of ['ca-key.pem', 'daemon/key.pem', 'client/key.pem']) {
      const mode = fs.statSync(path.join(workDir, 'certs', key)).mode & 0o777;
      assert.equal(mode, 0o600, key);
    }
    const { commandLines } = agentSecret();
    assert.ok(commandLines.length >= 2, 'kubectl create and apply ran');
    assert.deepEqual(
      commandLines.flat().filter((arg) => arg.includes('pat-value')),
      [],
      'the PAT is on no kubectl command line',
    );
    const secret = appliedSecret('azp-agent', 'azp');
    assert.equal(secretFile(secret, 'AZP_TOKEN').toString(), 'pat-value');
  });

  it('fails the certificate script with a clear message when kubectl is missing', () => {
    // A PATH holding openssl and nothing else.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-nokubectl-'));
    const openssl = spawnSync('bash', ['-c', 'command -v openssl'], { encoding: 'utf8' }).stdout.trim();
    fs.symlinkSync(openssl, path.join(bin, 'openssl'));
    const run = spawnSync(
      '/bin/bash',
      [path.join(kubernetesDir, 'create-certs.sh'), path.join(workDir, 'none')],
      {
        encoding: 'utf8',
        env: { PATH: bin },
      },
    );
    fs.rmSync(bin, { recursive: true, force: true });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /kubectl is required/);
    assert.ok(!fs.existsSync(path.join(workDir, 'none')), 'nothing written');
  });

  it('scales agents with KEDA on the pool the agents join, one job per --once agent', () => {
    const job = one('ScaledJob');
    const trigger = (
      job.spec?.triggers as { type: string; metadata: YamlObject; authenticationRef: { name: string } }[]
    )[0];
    assert.equal(trigger?.type, 'azure-pipelines');
    const auth = one('TriggerAuthentication');
    assert.equal(trigger.authenticationRef.name, auth.metadata.name);
    assert.equal(auth.metadata.namespace, job.metadata.namespace);
    const params = (auth.spec?.secretTargetRef as { parameter: string }[]).map((r) => r.parameter).sort();
    assert.deepEqual(params, ['organizationURL', 'personalAccessToken']);
    for (const w of agentWorkloads()) {
      const agent = podTemplate(w).spec.containers[0];
      assert.equal(agent?.env?.find((e) => e.name === 'AZP_POOL')?.value, trigger.metadata.poolName, w.file);
    }
    assert.deepEqual(podTemplate(job).spec.containers[0]?.args, ['--once']);
    const [deployment, scaled] = agentWorkloads().map((w) => podTemplate(w).spec);
    assert.equal(deployment?.containers[0]?.image, scaled?.containers[0]?.image, 'one agent image');
    assert.deepEqual(deployment?.volumes, scaled?.volumes, 'the same mounts');
  });

  it('builds an agent image with no buildctl, Docker or daemon, running as the pods user', () => {
    const dockerfile = fs.readFileSync(path.join(kubernetesDir, 'agent', 'Dockerfile'), 'utf8');
    const instructions = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'));
    const text = instructions.join('\n');
    assert.doesNotMatch(text, /buildctl|buildkit|docker/i, 'the task installs buildctl itself');
    const user = /^USER (\d+)/m.exec(text)?.[1];
    for (const w of agentWorkloads()) {
      assert.equal(String(podTemplate(w).spec.securityContext?.runAsUser), user, `${w.file}: runAsUser`);
    }
    const entry = /^ENTRYPOINT \["([^"]+)"\]/m.exec(text)?.[1];
    assert.equal(entry, '/azp/start.sh');
    assert.match(text, /^COPY .*start\.sh \/azp\/start\.sh$/m);
    assert.ok(fs.existsSync(path.join(kubernetesDir, 'agent', 'start.sh')));
    const start = fs.readFileSync(path.join(kubernetesDir, 'agent', 'start.sh'), 'utf8');
    assert.match(start, /\.\/run\.sh "\$@"/, 'start.sh passes --once on to the agent');
    assert.match(start, /unset AZP_TOKEN/, 'jobs do not inherit the PAT');
  });

  it('has shell scripts that bash accepts', () => {
    const scripts = filesIn(kubernetesDir, /\.sh$/);
    assert.equal(scripts.length, 3);
    for (const script of scripts) {
      const run = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
      assert.equal(run.status, 0, `${script}: ${run.stderr}`);
    }
  });

  it('documents every file of the folder in its README', () => {
    const readme = fs.readFileSync(path.join(kubernetesDir, 'README.md'), 'utf8');
    for (const file of filesIn(kubernetesDir, /\.(ya?ml|sh)$|^Dockerfile$/)) {
      assert.ok(readme.includes(path.relative(kubernetesDir, file)), `README mentions ${file}`);
    }
  });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  kubernetesDir,
  kubernetesObjects,
  lines,
  pipelinesDir,
  taskSteps,
  yamlDocuments,
  type KubeObject,
} from './examples';

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    nodeSelector?: Record<string, string>;
    containers: { name: string; args?: string[]; ports?: { name: string; containerPort: number }[] }[];
  };
}
const FILE = 'buildkitd-per-arch.yaml';
const objects = kubernetesObjects();
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('examples: native multi-platform builds on AKS', () => {
  const deployments = objects.filter((o) => o.kind === 'Deployment' && o.file === FILE);
  const services = objects.filter((o) => o.kind === 'Service' && o.file === FILE);
  const template = (d: KubeObject): PodTemplate => d.spec?.template as PodTemplate;

  it('runs one daemon Deployment per node pool architecture, each behind a Service selecting only its pods', () => {
    assert.deepEqual(
      deployments.map((d) => [d.metadata.name, template(d).spec.nodeSelector]),
      [
        ['buildkitd-amd64', { 'kubernetes.io/arch': 'amd64' }],
        ['buildkitd-arm64', { 'kubernetes.io/arch': 'arm64' }],
      ],
    );
    for (const d of deployments) {
      const selecting = services.filter((s) =>
        matches(s.spec?.selector as Record<string, string>, template(d).metadata.labels),
      );
      assert.deepEqual(
        selecting.map((s) => s.metadata.name),
        [d.metadata.name],
        `${d.metadata.name}: exactly its own Service selects it`,
      );
      const container = template(d).spec.containers.find((c) => c.name === 'buildkitd');
      assert.ok(container, `${d.metadata.name}: a buildkitd container`);
      assert.ok(container.args?.includes('tcp://0.0.0.0:1234'), 'buildkitd listens on 1234');
      const ports = selecting[0]?.spec?.ports as { port: number; targetPort: string }[];
      assert.deepEqual(
        ports.map((p) => [p.port, p.targetPort]),
        [[1234, container.ports?.[0]?.name]],
      );
    }
  });

  it('lets the NetworkPolicy admit the agents to these daemons too', () => {
    const policy = objects.find((o) => o.kind === 'NetworkPolicy');
    const selector = (policy?.spec?.podSelector as { matchLabels: Record<string, string> }).matchLabels;
    for (const d of deployments) assert.ok(matches(selector, template(d).metadata.labels), d.metadata.name);
  });

  it('the multi-arch sample lists one daemon per platform it builds, by the Services of the per-arch file', () => {
    const pipeline = yamlDocuments(path.join(pipelinesDir, 'multi-arch-cache.yml'))[0];
    const [step] = taskSteps(pipeline).filter((s) => s.task === 'BuildKitBuild@1');
    assert.ok(step);
    const addresses = lines(step.inputs.buildkitAddress);
    const expected = services.map(
      (s) => `tcp://${s.metadata.name}.${s.metadata.namespace ?? ''}.svc.cluster.local:1234`,
    );
    assert.deepEqual(addresses, expected);
    const platforms = String(step.inputs.platforms).split(',');
    assert.deepEqual(
      platforms,
      deployments.map((d) => `linux/${template(d).spec.nodeSelector?.['kubernetes.io/arch'] ?? '?'}`),
    );
  });

  it('names the per-arch Services in the certificate script and the file in the README', () => {
    const script = fs.readFileSync(path.join(kubernetesDir, 'create-certs.sh'), 'utf8');
    assert.match(script, /ARCHES:-amd64 arm64/);
    assert.match(script, /DNS:\$SERVICE-\$arch\.\$BUILDKIT_NAMESPACE\.svc\.\$CLUSTER_DOMAIN/);
    assert.ok(fs.readFileSync(path.join(kubernetesDir, 'README.md'), 'utf8').includes(FILE));
  });
});

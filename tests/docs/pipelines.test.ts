import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { taskDefinition } from '../support/repo';
import {
  filesIn,
  isObject,
  kubernetesObjects,
  lines,
  pipelinesDir,
  stepProblems,
  taskSteps,
  yamlDocuments,
  type TaskStep,
  type YamlObject,
} from './examples';

const task = taskDefinition();
const outputs = new Set(task.outputVariables.map((o) => o.name));

interface Sample {
  file: string;
  pipeline: YamlObject;
  text: string;
  builds: TaskStep[];
}

function samples(): Sample[] {
  return filesIn(pipelinesDir, /\.ya?ml$/).map((full) => {
    const docs = yamlDocuments(full);
    assert.equal(docs.length, 1, `${full}: one document`);
    const pipeline = docs[0];
    assert.ok(isObject(pipeline), `${full}: a mapping`);
    return {
      file: path.basename(full),
      pipeline,
      text: fs.readFileSync(full, 'utf8'),
      builds: taskSteps(pipeline).filter((s) => s.task === 'BuildKitBuild@1'),
    };
  });
}
function sample(file: string): Sample {
  const found = samples().find((s) => s.file === file);
  assert.ok(found, `examples/pipelines/${file}`);
  return found;
}
function onlyBuild(s: Sample): TaskStep {
  assert.equal(s.builds.length, 1, `${s.file}: one BuildKitBuild@1 step`);
  return s.builds[0] as TaskStep;
}

/** The per-pod addresses of the StatefulSet in examples/kubernetes, in ordinal order. */
function statefulSetAddresses(): string[] {
  const objects = kubernetesObjects();
  const set = objects.find((o) => o.kind === 'StatefulSet');
  assert.ok(set?.spec, 'a StatefulSet');
  const serviceName = String(set.spec.serviceName);
  const service = objects.find(
    (o) => o.kind === 'Service' && o.metadata.name === serviceName && o.file === set.file,
  );
  const port = (service?.spec?.ports as { port: number }[] | undefined)?.[0]?.port;
  assert.ok(port, 'the headless Service port');
  const replicas = Number(set.spec.replicas);
  const ns = set.metadata.namespace ?? '';
  return Array.from(
    { length: replicas },
    (_, i) => `tcp://${set.metadata.name}-${i}.${serviceName}.${ns}.svc.cluster.local:${port}`,
  );
}

describe('examples/pipelines', () => {
  it('has every sample the docs promise, each parsing as one YAML document', () => {
    assert.deepEqual(
      samples().map((s) => s.file),
      [
        'acr-service-principal.yml',
        'acr-workload-identity.yml',
        'branch-cache.yml',
        'deploy-by-digest.yml',
        'docker-registry.yml',
        'mtls-secure-files.yml',
        'multi-arch-cache.yml',
        'no-daemon.yml',
        'several-daemons.yml',
      ],
    );
  });

  it('uses in every BuildKitBuild@1 step only inputs task.json declares, with valid values', () => {
    let steps = 0;
    for (const s of samples()) {
      assert.ok(s.builds.length > 0, `${s.file}: a BuildKitBuild@1 step`);
      for (const step of s.builds) {
        steps++;
        assert.deepEqual(stepProblems(step.inputs, task), [], s.file);
      }
    }
    assert.ok(steps >= 8);
  });

  it('has a validator that catches unknown inputs, bad values and missing inputs', () => {
    const problems = stepProblems(
      {
        azureSubscription: 'c',
        dockerRegistryServiceConnection: 'd',
        repositry: 'team/app',
        push: 'yes',
        provenance: 'full',
        cacheMode: '$(mode)',
        tlsCert: 'a.pem',
      },
      task,
    );
    assert.deepEqual(problems.sort(), [
      'acr is required with azureSubscription',
      'azureSubscription and containerRegistry are alternatives',
      'provenance: full is not one of none, min, max',
      'push: yes is no boolean',
      'repository is required',
      'tlsCert and tlsKey go together',
      'unknown input repositry',
    ]);
  });

  it('covers each way of reaching a registry: workload identity, service principal, Docker Registry', () => {
    assert.ok(onlyBuild(sample('acr-workload-identity.yml')).inputs.azureSubscription);
    assert.ok(onlyBuild(sample('acr-service-principal.yml')).inputs.azureSubscription);
    const docker = onlyBuild(sample('docker-registry.yml')).inputs;
    assert.ok(docker.containerRegistry && !docker.azureSubscription && !docker.acr);
  });

  it('lists the StatefulSet per-pod addresses as the lines of buildkitAddress in the several-daemons sample', () => {
    const step = onlyBuild(sample('several-daemons.yml'));
    const addresses = lines(step.inputs.buildkitAddress);
    assert.equal(addresses.length, 3);
    assert.deepEqual(addresses, statefulSetAddresses());
  });

  it('points every other cluster sample at the Deployment Service, on the port it serves', () => {
    const objects = kubernetesObjects();
    const service = objects.find((o) => o.kind === 'Service' && o.file === 'buildkitd-deployment.yaml');
    assert.ok(service?.spec);
    const port = (service.spec.ports as { port: number }[])[0]?.port;
    const expected = `tcp://${service.metadata.name}.${service.metadata.namespace ?? ''}.svc.cluster.local:${port}`;
    for (const s of samples()) {
      if (['several-daemons.yml', 'no-daemon.yml', 'multi-arch-cache.yml'].includes(s.file)) continue;
      for (const step of s.builds) assert.deepEqual(lines(step.inputs.buildkitAddress), [expected], s.file);
    }
  });

  it('reads the client certificate where the agent pods mount it, on the pool those agents join', () => {
    const objects = kubernetesObjects();
    const agent = objects.find((o) => o.kind === 'Deployment' && o.file === 'agent-deployment.yaml');
    const pod = (agent?.spec?.template as { spec: YamlObject } | undefined)?.spec;
    const container = (pod?.containers as YamlObject[] | undefined)?.[0] ?? {};
    const env = container.env as { name: string; value?: string }[];
    const pool = env.find((e) => e.name === 'AZP_POOL')?.value;
    const volumes = pod?.volumes as { name: string; secret?: { secretName: string } }[];
    const tlsVolume = volumes.find((v) => v.secret?.secretName === 'buildkit-client-tls');
    const mounts = container.volumeMounts as { name: string; mountPath: string }[];
    const mountPath = mounts.find((m) => m.name === tlsVolume?.name)?.mountPath;
    assert.ok(pool && mountPath);
    let checked = 0;
    for (const s of samples()) {
      for (const step of s.builds) {
        const files = ['tlsCaCert', 'tlsCert', 'tlsKey'].map((k) => {
          const value = step.inputs[k];
          return typeof value === 'string' ? value : '';
        });
        if (!files.every((f) => f.startsWith('/'))) continue;
        checked++;
        const mounted: string[] = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => `${mountPath}/${f}`);
        assert.deepEqual(files, mounted, `${s.file}: the files of the Secret buildkit-client-tls`);
        assert.equal(s.pipeline.pool, pool, `${s.file}: runs on the agents that mount them`);
      }
    }
    assert.ok(checked >= 5, `${checked} samples use the mounted certificates`);
  });

  it('takes $(name.secureFilePath) only from a DownloadSecureFile@1 step of that name that runs before', () => {
    const s = sample('mtls-secure-files.yml');
    const step = onlyBuild(s);
    let references = 0;
    for (const input of ['tlsCaCert', 'tlsCert', 'tlsKey']) {
      const name = /^\$\((\w+)\.secureFilePath\)$/.exec(String(step.inputs[input]))?.[1];
      assert.ok(name, `${input} comes from a secure file`);
      const download = step.siblings.findIndex((x) => x.task === 'DownloadSecureFile@1' && x.name === name);
      assert.ok(download >= 0 && download < step.index, `${input}: step ${name} downloads it first`);
      references++;
    }
    assert.equal(references, 3);
  });

  it('references only output variables the task declares, of BuildKitBuild steps named that way', () => {
    let references = 0;
    for (const s of samples()) {
      const names = new Set(s.builds.map((b) => b.name).filter((n): n is string => n !== undefined));
      const otherNames = new Set(
        taskSteps(s.pipeline)
          .filter((t) => t.task !== 'BuildKitBuild@1')
          .map((t) => t.name),
      );
      const refs = [
        ...s.text.matchAll(/\$\((\w+)\.(\w+)\)/g),
        ...s.text.matchAll(/outputs\['(\w+)\.(\w+)'\]/g),
      ].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
      for (const [step, variable] of refs) {
        if (/^(Build|System|Agent|Pipeline|Release)$/.test(step) || otherNames.has(step)) continue;
        references++;
        assert.ok(names.has(step), `${s.file}: ${step} names a BuildKitBuild@1 step`);
        assert.ok(outputs.has(variable), `${s.file}: ${variable} is an output of the task`);
      }
    }
    assert.ok(references >= 5, `${references} output references`);
  });

  it('deploys $(build.imageRefWithDigest) in a later step of the deploy sample', () => {
    const s = sample('deploy-by-digest.yml');
    const step = onlyBuild(s);
    assert.equal(step.name, 'build');
    assert.match(s.text, /outputs\['build\.imageRefWithDigest'\]/);
    const stages = s.pipeline.stages as { stage: string; dependsOn?: string }[];
    assert.deepEqual(
      stages.map((x) => [x.stage, x.dependsOn]),
      [
        ['Build', undefined],
        ['Deploy', 'Build'],
      ],
    );
  });

  it('keeps the no-daemon sample the smallest: a Linux agent, a registry and a repository, nothing else', () => {
    const s = sample('no-daemon.yml');
    const step = onlyBuild(s);
    assert.deepEqual(Object.keys(step.inputs).sort(), ['acr', 'azureSubscription', 'repository']);
    assert.deepEqual(s.pipeline.pool, { vmImage: 'ubuntu-latest' });
  });

  it('builds several platforms with the default (branch and platform scoped) registry cache in the multi-arch sample', () => {
    const inputs = onlyBuild(sample('multi-arch-cache.yml')).inputs;
    assert.deepEqual(String(inputs.platforms).split(','), ['linux/amd64', 'linux/arm64']);
    assert.equal(inputs.cache, 'registry');
    // The task composes branch and platform refs itself: a hand-written ref would pin them.
    for (const name of ['cacheRef', 'cacheFrom', 'cacheTo']) assert.equal(inputs[name], undefined, name);
  });
});

import * as assert from 'node:assert/strict';
import {
  agentProxySettings,
  childEnvironments,
  daemonHosts,
  noProxyEntry,
  proxyEnvironment,
  proxyUrlWithCredentials,
  withoutOpenTelemetry,
  type AgentProxySettings,
} from '../../tasks/BuildKitBuild/src/process/childEnvironment';
import { makeContext } from '../support/fakeContext';

const proxy = (overrides: Partial<AgentProxySettings> = {}): AgentProxySettings => ({
  url: 'http://proxy.corp:3128',
  username: undefined,
  password: undefined,
  bypass: [],
  ...overrides,
});

describe('child environment: the agent proxy as HTTP(S)_PROXY and NO_PROXY (pure)', () => {
  const bypassTable: [string, string | undefined][] = [
    ['localhost', 'localhost'],
    ['example\\.com', 'example.com'],
    ['^registry\\.corp\\.local$', 'registry.corp.local'],
    ['.*\\.corp\\.local', '.corp.local'],
    ['*\\.zeiss\\.org', '.zeiss.org'],
    ['https?://git\\.corp', 'git.corp'],
    ['http://nexus\\.corp:8081', 'nexus.corp:8081'],
    ['10\\.1\\.1\\.0/26', '10.1.1.0/26'],
    ['127\\.0\\.0.*', undefined],
    ['10\\.1\\.1\\.\\d{1,3}', undefined],
    ['(foo|bar)\\.corp', undefined],
    ['', undefined],
  ];
  for (const [pattern, expected] of bypassTable) {
    it(`bypass ${JSON.stringify(pattern)} → ${String(expected)}`, () => {
      assert.equal(noProxyEntry(pattern), expected);
    });
  }

  it('percent-encodes the credentials, so that %, @ and : in a password survive URL parsing', () => {
    const url = proxyUrlWithCredentials(proxy({ username: 'dom\\user', password: 'p%40ss:w@rd/#?' }));
    assert.equal(url, 'http://dom%5Cuser:p%2540ss%3Aw%40rd%2F%23%3F@proxy.corp:3128');
    const parsed = new URL(url);
    assert.equal(decodeURIComponent(parsed.password), 'p%40ss:w@rd/#?');
    assert.equal(decodeURIComponent(parsed.username), 'dom\\user');
    assert.equal(parsed.host, 'proxy.corp:3128');
    assert.equal(proxyUrlWithCredentials(proxy()), 'http://proxy.corp:3128');
    assert.equal(proxyUrlWithCredentials(proxy({ username: 'u' })), 'http://u@proxy.corp:3128');
  });

  it('merges NO_PROXY: the task environment, the convertible bypass entries, the daemons; lists the rest', () => {
    const result = proxyEnvironment(
      proxy({ bypass: ['\\.corp\\.local', '10\\.1\\.\\d+', 'localhost'] }),
      { no_proxy: 'localhost,.svc' },
      ['buildkitd.buildkit.svc.cluster.local'],
    );
    assert.deepEqual(result.vars, {
      HTTP_PROXY: 'http://proxy.corp:3128',
      HTTPS_PROXY: 'http://proxy.corp:3128',
      http_proxy: 'http://proxy.corp:3128',
      https_proxy: 'http://proxy.corp:3128',
      NO_PROXY: 'localhost,.svc,.corp.local,buildkitd.buildkit.svc.cluster.local',
      no_proxy: 'localhost,.svc,.corp.local,buildkitd.buildkit.svc.cluster.local',
    });
    assert.deepEqual(result.skipped, ['10\\.1\\.\\d+']);
  });

  it('the daemons buildctl reaches over tcp stay direct (gRPC would otherwise tunnel through HTTPS_PROXY)', () => {
    assert.deepEqual(
      daemonHosts([
        'tcp://buildkitd:1234',
        'unix:///run/buildkit/buildkitd.sock',
        'tcp://[fd00::1]:1234',
        '',
      ]),
      ['buildkitd', 'fd00::1'],
    );
  });

  it('drops every OTEL_* variable and keeps the rest', () => {
    assert.deepEqual(
      withoutOpenTelemetry({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
        otel_service_name: 'x',
        PATH: '/bin',
      }),
      { PATH: '/bin' },
    );
  });

  it('reads Agent.Proxy* (a broken bypass list counts as empty); nothing without Agent.ProxyUrl', () => {
    const variables: Record<string, string> = {
      'Agent.ProxyUrl': 'http://proxy.corp:3128',
      'Agent.ProxyUsername': 'builder',
      'Agent.ProxyPassword': 'pw',
      'Agent.ProxyBypassList': '["a\\\\.corp"]',
    };
    assert.deepEqual(
      agentProxySettings((name) => variables[name]),
      proxy({ username: 'builder', password: 'pw', bypass: ['a\\.corp'] }),
    );
    variables['Agent.ProxyBypassList'] = '[not json';
    assert.deepEqual(agentProxySettings((name) => variables[name])?.bypass, []);
    assert.equal(
      agentProxySettings(() => undefined),
      undefined,
    );
  });
});

describe('child environment: once per run', () => {
  it('masks the password as given and as encoded, warns about bypass entries it cannot pass on', () => {
    const ctx = makeContext({
      variables: {
        'Agent.ProxyUrl': 'http://127.0.0.1:3128',
        'Agent.ProxyUsername': 'builder',
        'Agent.ProxyPassword': 'p%ss word',
        'Agent.ProxyBypassList': '["10\\\\.0\\\\.\\\\d+"]',
      },
      env: { PATH: '/bin', OTEL_TRACES_EXPORTER: 'otlp', NO_PROXY: 'localhost' },
    });
    const children = childEnvironments(ctx, ['tcp://buildkitd:1234']);
    assert.deepEqual(ctx.recorded.secrets, ['p%ss word', 'p%25ss%20word']);
    assert.deepEqual(ctx.recorded.warnings, [ctx.loc('ChildProxyBypassSkipped', '10\\.0\\.\\d+')]);
    const url = 'http://builder:p%25ss%20word@127.0.0.1:3128';
    assert.equal(children.buildctl.HTTPS_PROXY, url);
    assert.equal(children.buildctl.NO_PROXY, 'localhost,buildkitd');
    assert.equal(children.buildctl.OTEL_TRACES_EXPORTER, 'otlp');
    assert.equal(children.daemon.HTTPS_PROXY, url);
    assert.equal(children.daemon.OTEL_TRACES_EXPORTER, undefined);
    assert.equal(children.daemon.PATH, '/bin');
    assert.deepEqual(Object.keys(children.proxy).sort(), [
      'HTTPS_PROXY',
      'HTTP_PROXY',
      'NO_PROXY',
      'http_proxy',
      'https_proxy',
      'no_proxy',
    ]);
  });

  it('without a proxy: the task environment as it is for buildctl, without OTEL_* for the daemon', () => {
    const ctx = makeContext({ env: { PATH: '/bin', OTEL_SDK_DISABLED: 'false' } });
    const children = childEnvironments(ctx, []);
    assert.deepEqual(children.buildctl, { PATH: '/bin', OTEL_SDK_DISABLED: 'false' });
    assert.deepEqual(children.daemon, { PATH: '/bin' });
    assert.deepEqual(children.proxy, {});
    assert.deepEqual(ctx.recorded.secrets, []);
  });
});

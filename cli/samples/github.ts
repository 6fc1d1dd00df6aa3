import { createHash } from 'node:crypto';
import type { ProviderDeclaration } from '../../functions/providers.js';
import { declaredSampler } from './declared.js';
import type { ProviderSampler, SampleOptions } from './types.js';

const HOOK_ID = 471_962_118;
const REPOSITORY = {
  id: 812_345_670,
  node_id: 'R_kgDOMGvZxg',
  name: 'storefront',
  full_name: 'acme/storefront',
  private: true,
  owner: { login: 'acme', id: 9_919, type: 'Organization' },
  html_url: 'https://github.com/acme/storefront',
  default_branch: 'main',
};
const SENDER = { login: 'octocat', id: 583_231, type: 'User' };
const FILES = ['README.md', 'src/checkout.ts', 'src/cart.ts'] as const;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** A body of `event`, as GitHub sends it for a repository webhook. */
function payload(event: string, { sequence, now, uuid }: SampleOptions): Record<string, unknown> {
  switch (event) {
    case 'ping':
      // Sent once when a webhook is created; `zen` is one of GitHub's sayings.
      return {
        zen: 'Keep it logically awesome.',
        hook_id: HOOK_ID,
        hook: {
          type: 'Repository',
          id: HOOK_ID,
          name: 'web',
          active: true,
          events: ['push', 'pull_request'],
          config: { content_type: 'json', insecure_ssl: '0' },
          updated_at: now.toISOString(),
          created_at: now.toISOString(),
        },
        repository: REPOSITORY,
        sender: SENDER,
      };
    case 'push': {
      const before = sha1(`${uuid()}-before`);
      const after = sha1(`${uuid()}-after`);
      const commit = {
        id: after,
        tree_id: sha1(after),
        message: `Update ${FILES[sequence % FILES.length]} (#${100 + sequence})`,
        timestamp: now.toISOString(),
        url: `${REPOSITORY.html_url}/commit/${after}`,
        author: { name: 'Mona Lisa Octocat', email: 'mona@example.com', username: 'octocat' },
        added: [],
        removed: [],
        modified: [FILES[sequence % FILES.length]],
      };
      return {
        ref: 'refs/heads/main',
        before,
        after,
        repository: REPOSITORY,
        pusher: { name: 'octocat', email: 'mona@example.com' },
        sender: SENDER,
        created: false,
        deleted: false,
        forced: false,
        compare: `${REPOSITORY.html_url}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
        commits: [commit],
        head_commit: commit,
      };
    }
    default:
      // Another event: its usual envelope (action, repository, sender) around an object.
      return {
        action: 'created',
        [event]: { id: 100_000 + sequence, node_id: uuid(), created_at: now.toISOString() },
        repository: REPOSITORY,
        sender: SENDER,
      };
  }
}

/**
 * GitHub (docs.github.com, "Webhook events and payloads"): `push` by default (`ping` and
 * any other event with `--topic`), with `X-GitHub-Event`, a `X-GitHub-Delivery` GUID that
 * a redelivery keeps, and `X-Hub-Signature-256: sha256=<hex HMAC of the body>`.
 */
export function githubSampler(declaration: ProviderDeclaration): ProviderSampler<string> {
  return declaredSampler(declaration, {
    sampleBody: (options) => JSON.stringify(payload(options.topic ?? 'push', options)),
    headerType: (options) => options.topic ?? 'push',
    extraHeaders: () => ({
      'user-agent': 'GitHub-Hookshot/8c2f5ab',
      'x-github-hook-id': String(HOOK_ID),
      'x-github-hook-installation-target-type': 'repository',
      'x-github-hook-installation-target-id': String(REPOSITORY.id),
    }),
  });
}

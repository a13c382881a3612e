// A real OpenID Connect provider for Gatehouse's tests: panva's oidc-provider (pinned in scripts/node/package.json)
// with its development login and consent pages, one client and one account, on 127.0.0.1 only.
//
// Run with Node 22:  node oidc-provider.mjs   (the test starts it and kills it)
//   GATEHOUSE_NODE_MODULES  where the pinned packages are installed (scripts/lib/test-tools.sh)
//   PORT                    the port to listen on (0: any free port)
//   CLIENT_ID               the client Gatehouse is; CLIENT_SECRET, when set, makes it confidential (else public)
//   REDIRECT_URI            the client's redirect URI; when not set, the first line of stdin (so a test can start
//                           the provider first, learn its port, then start the gateway and send its callback URL)
//   ACCOUNT_SUB, ACCOUNT_NAME, ACCOUNT_EMAIL (empty: no email claim), ACCOUNT_EMAIL_VERIFIED (true|false),
//   ACCOUNT_GROUPS (a JSON array, or a JSON string), GROUPS_CLAIM (default groups): the one user
//   ACCESS_TOKEN_TTL        seconds an access token lasts (default 60)
//   CLAIMS_IN_ID_TOKEN      true: every claim is in the ID token too (default: only in userinfo, as the spec says
//                           for response_type=code)
// Prints "port <n>" once it listens, then "listening <issuer>" once it serves OpenID Connect.
//
// Refresh tokens are always issued and rotate on every use; reusing a spent one revokes the whole grant, as real
// providers do. Revocation (RFC 7009) and introspection (RFC 7662) are on, so a test can revoke a grant or check
// which refresh token is the current one.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = process.env;
const modules = env.GATEHOUSE_NODE_MODULES;
if (!modules) {
  console.error('GATEHOUSE_NODE_MODULES is not set');
  process.exit(2);
}

const { default: Provider } = await import(pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const port = Number(env.PORT ?? '0');
const groupsClaim = env.GROUPS_CLAIM || 'groups';
const account = {
  sub: env.ACCOUNT_SUB,
  name: env.ACCOUNT_NAME,
  email: env.ACCOUNT_EMAIL || undefined,
  email_verified: env.ACCOUNT_EMAIL_VERIFIED === undefined ? undefined : env.ACCOUNT_EMAIL_VERIFIED === 'true',
  groups: env.ACCOUNT_GROUPS ? JSON.parse(env.ACCOUNT_GROUPS) : undefined,
};

// The issuer needs the port, so listen first and build the provider once it is known.
const { createServer } = await import('node:http');
let callback = (req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => callback(req, res));
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
console.log(`port ${server.address().port}`);

const redirectUri = env.REDIRECT_URI || await firstLineOfStdin();
const client = {
  client_id: env.CLIENT_ID,
  redirect_uris: [redirectUri],
  // RP-Initiated Logout: the provider sends the browser back here after signing the user out.
  post_logout_redirect_uris: [redirectUri.replace(/\/callback$/, '/signed_out')],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  ...(env.CLIENT_SECRET
    ? { client_secret: env.CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' }
    : { token_endpoint_auth_method: 'none' }),
};

const provider = new Provider(issuer, {
  clients: [client],
  async findAccount(ctx, id) {
    if (id !== account.sub) return undefined;
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, name: account.name, email: account.email, email_verified: account.email_verified };
        if (account.groups !== undefined) claims[groupsClaim] = account.groups;
        return claims;
      },
    };
  },
  claims: {
    openid: ['sub', groupsClaim],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: env.CLAIMS_IN_ID_TOKEN !== 'true',
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: Number(env.ACCESS_TOKEN_TTL ?? '60'),
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 86400,
    Grant: 86400,
    Session: 86400,
    Interaction: 3600,
  },
});

callback = provider.callback();
console.log(`listening ${issuer}`);

async function firstLineOfStdin() {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  throw new Error('REDIRECT_URI is not set and stdin ended');
}

// A real third-party MCP client: the MCP TypeScript SDK (pinned in scripts/node) with its own OAuth support
// (RFC 9728 discovery, RFC 8414 metadata, dynamic registration or a Client ID Metadata Document, PKCE, refresh).
// Only the user's part is scripted: where a browser would show Gatehouse's sign-in and consent pages, this
// posts the forms, the way TESTING.md describes a headless flow.
//
// Environment: SDK_DIR (the @modelcontextprotocol/sdk folder), SERVER_URL (the MCP URL behind Gatehouse), EMAIL,
// PASSWORD, REDIRECT_URL (loopback; nothing listens there: the code is read from the Location header),
// CLIENT_METADATA_URL (optional: use that https client_id instead of registering), TOOL (to call), TOOL_ARGS (JSON).
// Prints one JSON object per line; the test reads them.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const sdk = (file) => import(pathToFileURL(path.join(process.env.SDK_DIR, 'dist', 'esm', file)).href);
const { Client } = await sdk('client/index.js');
const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
const { auth, UnauthorizedError } = await sdk('client/auth.js');

const serverUrl = new URL(process.env.SERVER_URL);
const report = (object) => process.stdout.write(JSON.stringify(object) + '\n');

function decodeHtml(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The user in front of the browser: signs in, allows the client, and hands the code back. */
async function actAsUser(authorizationUrl) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const go = async (url, init = {}) => {
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie: cookie() } });
    for (const setCookie of response.headers.getSetCookie()) {
      const pair = setCookie.split(';')[0];
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  const form = (fields) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  let response = await go(authorizationUrl);
  if (response.status !== 302) throw new Error(`authorize answered ${response.status}: ${await response.text()}`);
  let location = new URL(response.headers.get('location'), authorizationUrl);
  if (location.pathname === '/.gatehouse/sign_in') {
    const page = await (await go(location)).text();
    const csrf = decodeHtml(/name="csrf_token" value="([^"]+)"/.exec(page)[1]);
    const back = decodeHtml(/name="redirect_uri" value="([^"]*)"/.exec(page)[1]);
    response = await go(new URL('/.gatehouse/sign_in', authorizationUrl),
      form({ csrf_token: csrf, redirect_uri: back, email: process.env.EMAIL, password: process.env.PASSWORD }));
    if (response.status !== 302) throw new Error(`sign-in answered ${response.status}`);
    response = await go(new URL(response.headers.get('location'), authorizationUrl));
  }

  if (response.status === 200) {
    const page = await response.text();
    report({ step: 'consent', page_names_client: page.includes(process.env.EXPECT_CLIENT_NAME ?? '') });
    const fields = [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [decodeHtml(m[1]), decodeHtml(m[2])]);
    fields.push(['gatehouse_consent', 'allow']);
    response = await go(new URL('/.gatehouse/oauth/authorize', authorizationUrl), form(fields));
  }

  location = new URL(response.headers.get('location'));
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  report({ step: 'authorized', iss: location.searchParams.get('iss') });
  return code;
}

class HeadlessProvider {
  constructor() {
    this.stored = {};
    this.pendingCode = undefined;
  }
  get redirectUrl() { return process.env.REDIRECT_URL; }
  get clientMetadata() {
    return {
      client_name: 'TS SDK test client',
      redirect_uris: [process.env.REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  get clientMetadataUrl() { return process.env.CLIENT_METADATA_URL || undefined; }
  clientInformation() { return this.stored.client; }
  saveClientInformation(info) { this.stored.client = info; report({ step: 'client', client_id: info.client_id }); }
  tokens() { return this.stored.tokens; }
  saveTokens(tokens) { this.stored.tokens = tokens; }
  saveCodeVerifier(verifier) { this.stored.verifier = verifier; }
  codeVerifier() { return this.stored.verifier; }
  async redirectToAuthorization(url) { this.pendingCode = await actAsUser(url); }
}

const provider = new HeadlessProvider();
const connect = async () => {
  const client = new Client({ name: 'gatehouse-ts-sdk-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
  try {
    await client.connect(transport);
    return client;
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || provider.pendingCode === undefined) throw error;
    await transport.finishAuth(provider.pendingCode);
    provider.pendingCode = undefined;
    const retry = new Client({ name: 'gatehouse-ts-sdk-test', version: '1.0.0' });
    await retry.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
    return retry;
  }
};

const callTool = async (client) => {
  const result = await client.callTool({ name: process.env.TOOL, arguments: JSON.parse(process.env.TOOL_ARGS ?? '{}') });
  return result.content?.[0]?.text;
};

try {
  const client = await connect();
  const { tools } = await client.listTools();
  report({ step: 'tools', names: tools.map((t) => t.name) });
  report({ step: 'call', text: await callTool(client) });
  const before = provider.stored.tokens;
  await client.close();

  // With a refresh token stored, auth() refreshes instead of sending the user through authorization again.
  const outcome = await auth(provider, { serverUrl });
  const after = provider.stored.tokens;
  report({ step: 'refreshed', outcome, access_changed: after.access_token !== before.access_token, refresh_rotated: after.refresh_token !== before.refresh_token });
  const again = await connect();
  report({ step: 'call-after-refresh', text: await callTool(again) });
  await again.close();
  report({ step: 'done' });
} catch (error) {
  report({ step: 'error', message: String(error?.stack ?? error) });
  process.exitCode = 1;
}

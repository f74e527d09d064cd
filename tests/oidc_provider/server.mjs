// A real OpenID Provider for the single sign-on tests: panva's oidc-provider (a certified implementation) with its
// development sign-in form, which takes any login name and any password.
//
//   node server.mjs          (settings from the environment, see below)
//
// PORT               where it listens (127.0.0.1); the issuer is http://127.0.0.1:PORT
// CLIENT_ID / CLIENT_SECRET   the console's client; REDIRECT_URIS and POST_LOGOUT_REDIRECT_URIS, comma-separated
// OTHER_CLIENT_ID    a second client (another application at the same provider), for the wrong-audience test
//
// Groups come from the login name, so every test can sign in as a fresh user of the kind it needs:
//   admin-*     ["release-admins", "engineering"]      eng-*       ["engineering"]
//   outsider-*  ["contractors"]                         nogroups-*  no groups claim at all
// PUT /_test/groups/<login> with a JSON list changes one user's groups (a user who moves between groups).
// Each start makes a new signing key (a restart on the same port is a key rotation).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const list = (value) => (value || '').split(',').filter(Boolean);

const changedGroups = new Map();

function groupsOf(login) {
  if (changedGroups.has(login)) return changedGroups.get(login);
  if (login.startsWith('admin-')) return ['release-admins', 'engineering'];
  if (login.startsWith('eng-')) return ['engineering'];
  if (login.startsWith('outsider-')) return ['contractors'];
  return undefined; // nogroups-* and anyone else: no groups claim
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID || 'release-console',
      client_secret: process.env.CLIENT_SECRET || 'release-console-test-secret',
      redirect_uris: list(process.env.REDIRECT_URIS),
      post_logout_redirect_uris: list(process.env.POST_LOGOUT_REDIRECT_URIS),
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    {
      client_id: process.env.OTHER_CLIENT_ID || 'other-app',
      client_secret: 'other-app-test-secret',
      redirect_uris: ['http://127.0.0.1/other-app/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [signingKey] },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // the requested claims (groups) go into the ID token, as Dex and Keycloak do
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async loadExistingGrant(ctx) { // first-party clients: no consent screen
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    grant.addOIDCClaims(['preferred_username', 'name', 'email', 'groups']);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        const groups = groupsOf(sub);
        return {
          sub,
          preferred_username: sub,
          name: sub,
          email: `${sub}@example.test`,
          ...(groups === undefined ? {} : { groups }),
        };
      },
    };
  },
});
provider.proxy = false;

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url === '/favicon.ico') return res.writeHead(204).end(); // browsers ask; the provider has none
  const match = req.method === 'PUT' && req.url.match(/^\/_test\/groups\/([^/?]+)$/);
  if (!match) return callback(req, res);
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    changedGroups.set(decodeURIComponent(match[1]), JSON.parse(body));
    res.writeHead(204).end();
  });
  return undefined;
});
server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

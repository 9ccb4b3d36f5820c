// A real OpenID provider for the federation tests: panva's oidc-provider (certified), on
// loopback, port chosen by the OS. The configuration comes as JSON in UPSTREAM_CONFIG:
// {clients: [...], accounts: {id: claims}}. Prints "listening <port>" once it serves.
// Its own devInteractions login page accepts any password for an account id.
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.UPSTREAM_CONFIG);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: config.clients,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    cookies: { keys: ['federation-test-only-cookie-key'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(ctx, id) {
      const claims = config.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    async loadExistingGrant(ctx) {
      // consent is not what these tests are about: every scope asked for is granted
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});

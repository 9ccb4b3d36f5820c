// The benchmark's peer (make bench): panva's node-oidc-provider in one Node process with its
// in-memory adapter, configured for the two paths it is compared on: a client-credentials
// client whose tokens are ES256 JWTs for a resource (as ours are), and a resource server that
// introspects them. Client secrets and the port come from the environment; it prints
// "PEER_READY <port>" once listening. Installed by bench/peer.py into var/bench/peer/.
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PEER_PORT);
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.PEER_RESOURCE;
const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const jwk = { ...signing.export({ format: "jwk" }), alg: "ES256", use: "sig", kid: "peer-es256" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "bench-m2m",
      client_secret: process.env.PEER_M2M_SECRET,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: "api:read",
      id_token_signed_response_alg: "ES256",
    },
    {
      client_id: "bench-rs",
      client_secret: process.env.PEER_RS_SECRET,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: "ES256",
    },
  ],
  jwks: { keys: [jwk] },
  scopes: ["api:read"],
  cookies: { keys: [process.env.PEER_COOKIE_KEY] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      // Its JWTs cannot be introspected ("Structured JWT Tokens cannot be introspected"), so
      // the token the resource server introspects is an opaque one, asked for with
      // resource=<PEER_RESOURCE>opaque (stored in the adapter, looked up by introspection).
      getResourceServerInfo: (ctx, indicator) =>
        indicator === `${resource}opaque`
          ? { scope: "api:read", audience: indicator, accessTokenTTL: 3600, accessTokenFormat: "opaque" }
          : {
              scope: "api:read",
              audience: resource,
              accessTokenTTL: 3600,
              accessTokenFormat: "jwt",
              jwt: { sign: { alg: "ES256" } },
            },
    },
  },
});
provider.proxy = false;

provider.listen(port, "127.0.0.1", () => {
  console.log(`PEER_READY ${port}`);
});

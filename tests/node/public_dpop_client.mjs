// A public client (a SPA or a native app: no secret) built on panva's oauth4webapi, holding a
// DPoP key (RFC 9449): the pushed authorization request carries a proof, which binds the code
// to the key (§10); the code exchange and each refresh prove the key, as the refresh tokens of
// a public client are bound to it (§5). JSON in on stdin, out on stdout; the key comes in as a
// JWK so that each step (a process of its own) holds the same one.
import * as oauth from 'oauth4webapi'
import { as, input, insecure } from './peer.mjs'

const client = { client_id: input.client_id, token_endpoint_auth_method: 'none' }
const clientAuth = oauth.None()
const { d, ...publicJwk } = input.dpop_jwk
const algorithm = { name: 'ECDSA', namedCurve: 'P-256' }
const DPoP = oauth.DPoP(client, {
  privateKey: await crypto.subtle.importKey('jwk', input.dpop_jwk, algorithm, false, ['sign']),
  publicKey: await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']),
})

async function answer (call) {
  try {
    return await call()
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      return { error: error.error, error_description: error.error_description }
    }
    throw error
  }
}

if (input.step === 'push') {
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const params = new URLSearchParams({
    response_type: 'code',
    redirect_uri: input.redirect_uri,
    scope: 'openid offline_access',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const response = await oauth.pushedAuthorizationRequest(
    as, client, clientAuth, params, { DPoP, ...insecure })
  const pushed = await oauth.processPushedAuthorizationResponse(as, client, response)
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', pushed.request_uri)
  console.log(JSON.stringify({ authorize: url.href, state, verifier }))
} else if (input.step === 'redeem') {
  const params = oauth.validateAuthResponse(as, client, new URL(input.callback), input.state)
  console.log(JSON.stringify(await answer(async () => oauth.processAuthorizationCodeResponse(
    as, client,
    await oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, input.redirect_uri, input.verifier, { DPoP, ...insecure }),
  ))))
} else {
  console.log(JSON.stringify(await answer(async () => oauth.processRefreshTokenResponse(
    as, client,
    await oauth.refreshTokenGrantRequest(
      as, client, clientAuth, input.refresh_token, { DPoP, ...insecure }),
  ))))
}

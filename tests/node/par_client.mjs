// A client built on panva's oauth4webapi (a certified, strict RP library): pushed authorization
// request (RFC 9126) with private_key_jwt, then the code exchange with a DPoP key (RFC 9449) and
// userinfo with the DPoP-bound token. JSON in on stdin, out on stdout.
import * as oauth from 'oauth4webapi'
import { as, input, insecure } from './peer.mjs'

const client = { client_id: input.client_id }
const key = await crypto.subtle.importKey(
  'jwk', input.private_jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
const clientAuth = oauth.PrivateKeyJwt({ key, kid: input.private_jwk.kid })

if (input.step === 'push') {
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const params = new URLSearchParams({
    response_type: 'code',
    redirect_uri: input.redirect_uri,
    scope: 'openid',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const response = await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, insecure)
  const pushed = await oauth.processPushedAuthorizationResponse(as, client, response)
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', pushed.request_uri)
  console.log(JSON.stringify({ authorize: url.href, state, nonce, verifier, expires_in: pushed.expires_in }))
} else {
  const params = oauth.validateAuthResponse(as, client, new URL(input.callback), input.state)
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, clientAuth, params, input.redirect_uri, input.verifier, { DPoP, ...insecure })
  const result = await oauth.processAuthorizationCodeResponse(
    as, client, response, { expectedNonce: input.nonce, requireIdToken: true })
  const claims = oauth.getValidatedIdTokenClaims(result)
  const info = await oauth.processUserInfoResponse(as, client, claims.sub,
    await oauth.userInfoRequest(as, client, result.access_token, { DPoP, ...insecure }))
  console.log(JSON.stringify({
    token_type: result.token_type, claims, userinfo: info, access_token: result.access_token,
  }))
}

// What every client script here starts with: the JSON input on stdin and the server's
// discovery document as oauth4webapi validates it (http on loopback allowed).
import * as oauth from 'oauth4webapi'

export const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (chunk) => { data += chunk })
  process.stdin.on('end', () => resolve(data))
}))
export const insecure = { [oauth.allowInsecureRequests]: true } // the test server is http on loopback
const issuer = new URL(input.issuer)
export const as = await oauth.processDiscoveryResponse(
  issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }))

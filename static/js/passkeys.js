// Passkey (WebAuthn) ceremonies for the pages that carry data-passkey-register or
// data-passkey-authenticate. The server sends the options and checks the answers.
"use strict";

(function () {
  function toBytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: toBytes(c.id) }));
  }

  async function post(url, container, body) {
    const token = container.querySelector("input[name=csrfmiddlewaretoken]").value;
    const next = container.dataset.next;
    const target = next ? url + "?next=" + encodeURIComponent(next) : url;
    const response = await fetch(target, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json();
    if (!response.ok) { throw new Error(data.error || "Something went wrong."); }
    return data;
  }

  function showError(container, message) {
    const box = container.querySelector("[data-passkey-error]");
    box.textContent = message;
    box.hidden = false;
  }

  async function register(container) {
    const options = await post(container.dataset.begin, container);
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = withIds(options.excludeCredentials);
    const credential = await navigator.credentials.create({ publicKey: options });
    const nameInput = document.getElementById("passkey-name");
    const result = await post(container.dataset.finish, container, {
      name: nameInput ? nameInput.value : "",
      credential: {
        id: credential.id,
        rawId: toB64url(credential.rawId),
        type: credential.type,
        response: {
          clientDataJSON: toB64url(credential.response.clientDataJSON),
          attestationObject: toB64url(credential.response.attestationObject),
          transports: credential.response.getTransports ? credential.response.getTransports() : [],
        },
        clientExtensionResults: credential.getClientExtensionResults(),
        authenticatorAttachment: credential.authenticatorAttachment,
      },
    });
    window.location.assign(result.redirect);
  }

  async function authenticate(container) {
    const options = await post(container.dataset.begin, container);
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = withIds(options.allowCredentials);
    const credential = await navigator.credentials.get({ publicKey: options });
    const response = credential.response;
    const result = await post(container.dataset.finish, container, {
      credential: {
        id: credential.id,
        rawId: toB64url(credential.rawId),
        type: credential.type,
        response: {
          clientDataJSON: toB64url(response.clientDataJSON),
          authenticatorData: toB64url(response.authenticatorData),
          signature: toB64url(response.signature),
          userHandle: response.userHandle ? toB64url(response.userHandle) : null,
        },
        clientExtensionResults: credential.getClientExtensionResults(),
        authenticatorAttachment: credential.authenticatorAttachment,
      },
    });
    window.location.assign(result.redirect);
  }

  function wire(selector, buttonId, ceremony) {
    const container = document.querySelector(selector);
    const button = document.getElementById(buttonId);
    if (!container || !button) { return; }
    if (!window.PublicKeyCredential) {
      showError(container, "This browser does not support passkeys.");
      button.disabled = true;
      return;
    }
    button.addEventListener("click", () => {
      ceremony(container).catch((err) => showError(container, err.message || String(err)));
    });
  }

  wire("[data-passkey-register]", "passkey-register-button", register);
  wire("[data-passkey-authenticate]", "passkey-button", authenticate);
})();

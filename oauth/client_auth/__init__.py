"""Client authentication: client secrets (``secret``: the keyed hasher, HTTP Basic and
``client_secret_post`` for our own machine endpoints), ``private_key_jwt`` (RFC 7523) and the
limits on failed client authentication at the token endpoint (``limits``)."""

"""Automated response to abuse: failed sign-ins and client authentications from one IP across
many accounts block that IP for a while (``detection`` counts, ``tasks`` block, ``selectors``
answer the fast check, ``guard`` is what views call)."""

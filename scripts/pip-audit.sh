#!/bin/sh
# Check the locked dependencies against the public advisory database (PyPI's vulnerability
# data). Needs internet access. It never reports a clean result it did not get: when the
# service cannot be reached, or cannot answer for some pinned versions, it says so plainly.
# Exit status: pip-audit's own (non-zero on a known vulnerability); an incomplete check exits
# 0 with the warning, or 1 when AUDIT_REQUIRE_ONLINE=1.
set -u
venv="${VENV:-.venv}"
lock="${1:-requirements.lock}"
incomplete() {
    echo "pip-audit: INCOMPLETE - $1" >&2
    [ "${AUDIT_REQUIRE_ONLINE:-0}" = "1" ] && exit 1
    exit 0
}
if ! "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('https://pypi.org/pypi/pip/json', timeout=10)" 2>/dev/null; then
    incomplete "cannot reach the advisory database at https://pypi.org (no network?); nothing in $lock was checked."
fi
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
"$venv/bin/pip-audit" --progress-spinner off --disable-pip --no-deps -r "$lock" >"$report" 2>&1
status=$?
cat "$report"
[ "$status" -ne 0 ] && exit "$status"
pinned=$(grep -c '^[A-Za-z0-9]' "$lock")
skipped=$(grep -c 'could not be audited' "$report")
if [ "$skipped" -gt 0 ]; then
    incomplete "$skipped of $pinned locked packages could not be looked up in the advisory database; they were NOT checked (see the list above)."
fi

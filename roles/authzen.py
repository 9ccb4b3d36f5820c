"""OpenID AuthZEN Authorization API 1.0: request checking and batch semantics (no HTTP here).

- Access Evaluation (§6): ``subject`` {type, id}, ``action`` {name}, ``resource`` {type, id},
  optional ``context``; the answer is ``{"decision": bool}``.
- Access Evaluations (§7): top-level ``subject``/``action``/``resource``/``context`` are
  defaults that each item of ``evaluations`` may override; ``options.evaluations_semantic`` is
  ``execute_all`` (default), ``deny_on_first_deny`` or ``permit_on_first_permit`` (stop after the
  first deny/permit, which is the last answer returned). Without items (absent or empty) the
  request is a single evaluation and so is the answer. An item that is not a complete
  evaluation is answered in place with ``decision: false`` and a ``context.error`` (§7.2.1);
  a body that is malformed as a whole is a ``RequestError`` (400).
Subject types are ``token``, ``user`` and ``client`` (``roles.decisions``); an unknown type,
subject or inactive token, or a token not meant for the calling client, is simply a deny.
``subject.properties.ip_address`` (the AuthZEN spec's own example property) states where the
holder of a ``token`` subject is: an API key with a source allow-list is denied without it
(``apikeys.policy``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from roles import decisions

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
MAX_EVALUATIONS = 200
MAX_ID_LENGTH = 8192
ENTITIES = {"subject": ("type", "id"), "action": ("name",), "resource": ("type", "id")}


class RequestError(ValueError):
    """The body is not an AuthZEN request; the message says what is wrong."""


class Evaluation(NamedTuple):  # built on every decision: a frozen dataclass costs 3× more
    subject_type: str
    subject_id: str
    action: str
    resource_type: str
    resource_id: str
    subject_ip: str | None  # subject.properties.ip_address


def _entity(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise RequestError(f"'{name}' must be an object")
    for key in ENTITIES[name]:
        member = value.get(key)
        if not isinstance(member, str) or not member or len(member) > MAX_ID_LENGTH:
            raise RequestError(
                f"'{name}.{key}' must be a non-empty string of at most {MAX_ID_LENGTH} characters"
            )
    if not isinstance(value.get("properties", {}), dict):
        raise RequestError(f"'{name}.properties' must be an object")
    return value


def parse_evaluation(body: dict[str, Any]) -> Evaluation:
    subject, action, resource = (_entity(body, name) for name in ENTITIES)
    if not isinstance(body.get("context", {}), dict):
        raise RequestError("'context' must be an object")
    subject_ip = subject.get("properties", {}).get("ip_address")
    if subject_ip is not None and not isinstance(subject_ip, str):
        raise RequestError("'subject.properties.ip_address' must be a string")
    return Evaluation(
        subject["type"],
        subject["id"],
        action["name"],
        resource["type"],
        resource["id"],
        subject_ip,
    )


class Evaluator:
    """Decides evaluations for the calling client, resolving each distinct subject once per
    request."""

    def __init__(self, caller_client_id: str | None) -> None:
        self._caller = caller_client_id
        self._principals: dict[tuple[str, str, str | None], decisions.Principal | None] = {}

    def decide(self, evaluation: Evaluation) -> bool:
        key = (evaluation.subject_type, evaluation.subject_id, evaluation.subject_ip)
        if key not in self._principals:
            self._principals[key] = decisions.principal_for(*key, caller_client_id=self._caller)
        return decisions.evaluate(
            self._principals[key],
            evaluation.action,
            evaluation.resource_type,
            evaluation.resource_id,
        )


def evaluate(body: Any, *, caller_client_id: str | None) -> dict[str, Any]:
    """§6: one evaluation."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    return {"decision": Evaluator(caller_client_id).decide(parse_evaluation(body))}


def evaluate_batch(body: Any, *, caller_client_id: str | None) -> dict[str, Any]:
    """§7: a batch, with defaults and the requested semantics."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    items = body.get("evaluations")
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise RequestError("'options' must be an object")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise RequestError(f"'options.evaluations_semantic' must be one of {', '.join(SEMANTICS)}")
    if items is None or items == []:
        return evaluate(body, caller_client_id=caller_client_id)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RequestError("'evaluations' must be an array of objects")
    if len(items) > MAX_EVALUATIONS:
        raise RequestError(f"at most {MAX_EVALUATIONS} evaluations per request")
    defaults = {k: body[k] for k in (*ENTITIES, "context") if k in body}
    evaluator = Evaluator(caller_client_id)
    results: list[dict[str, Any]] = []
    for item in items:
        try:
            decision = evaluator.decide(parse_evaluation({**defaults, **item}))
            results.append({"decision": decision})
        except RequestError as exc:
            decision = False
            error = {"status": 400, "message": str(exc)}
            results.append({"decision": False, "context": {"error": error}})
        if (semantic == "deny_on_first_deny" and not decision) or (
            semantic == "permit_on_first_permit" and decision
        ):
            break
    return {"evaluations": results}

"""Stripe's objects as the pinned `stripe` package types them, and checks against those types.

stripe==16.1.0 is generated from Stripe's OpenAPI description of the API version it pins,
`stripe.api_version`: each resource class (`stripe.checkout.Session`, `stripe.Charge`, ...)
annotates every field of the object with its type, nested objects as nested `StripeObject`
classes. `problems()` holds a JSON object to those annotations, read with
`typing.get_type_hints`:

- every annotated field must be present, `null` only where the annotation is `Optional`,
  except those Stripe leaves out of the objects the sandbox models (OMITTED, SPARSE,
  TYPED below), which must be absent;
- a field the class does not annotate must not be there;
- `int`, `bool`, `str`, `float` are JSON's; `Decimal` is Stripe's decimal string; `List[X]`
  an array; `Dict[str, X]` and `UntypedStripeObject[X]` (metadata) objects of X;
  `ListObject[X]` Stripe's list object; `ExpandableField[X]` (`Union[str, X]`) an id or the
  expanded X; `Any` anything;
- `Literal[...]` is an enum. The library widens most to `Union[Literal[...], str]` so that
  values added in later API versions still load; the objects checked here are of the pinned
  version, so they must hold one of the listed values.

Error bodies follow `stripe.ErrorObject`, whose fields Stripe leaves out when null (the
library's own words, in `ErrorObject._refresh_from`).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from decimal import Decimal
from functools import cache
from types import NoneType, UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

import stripe
from stripe._request_options import RequestOptions
from stripe._stripe_object import UntypedStripeObject

RESOURCES: dict[str, type[stripe.StripeObject]] = {
    cls.OBJECT_NAME: cls
    for cls in (stripe.checkout.Session, stripe.Charge, stripe.Refund, stripe.Dispute, stripe.Event)
}
ID_FORMATS = {
    "checkout.session": r"cs_test_a1[A-Za-z0-9]{56}",
    "charge": r"ch_[A-Za-z0-9]{24}",
    "refund": r"re_[A-Za-z0-9]{24}",
    "dispute": r"dp_[A-Za-z0-9]{24}",
    "event": r"evt_[A-Za-z0-9]{24}",
}
# ErrorObject.type is a plain `str`; its docstring names the values.
ERROR_TYPES = ("api_error", "card_error", "idempotency_error", "invalid_request_error")

# Which annotated fields Stripe leaves out of an object instead of sending null. The package
# types such a field Optional, as it does a nullable one, so it cannot tell the two apart; but
# a field it does not type Optional is always sent (test_stripe_conformance checks that every
# field named here is Optional). Stripe's OpenAPI description does not require these, and
# Stripe includes them only when asked (`expand[]`) or when something the sandbox never does
# applies, as each reason says. In the sandbox's objects they must be absent; every other
# annotated field must be present.
_EXPAND = "not included unless expanded; the sandbox expands nothing"
_SET = "only when the session was created with this parameter"
OMITTED: dict[type[stripe.StripeObject], dict[str, str]] = {
    stripe.checkout.Session: {
        "line_items": _EXPAND,
        "allowed_payment_method_types": _SET,
        "excluded_payment_method_types": _SET,
        "branding_settings": _SET,
        "name_collection": _SET,
        "optional_items": _SET,
        "tax_id_collection": _SET,
        "presentment_details": "only when Adaptive Pricing converted the currency",
        "redirect_on_completion": "only for ui_mode embedded_page (the sandbox's is hosted)",
        "return_url": "only for ui_mode embedded_page or elements",
    },
    stripe.checkout.Session.TotalDetails: {"breakdown": _EXPAND},
    stripe.Charge: {
        "refunds": _EXPAND + " (not included by default since API version 2022-11-15)",
        "authorization_code": "not in Stripe's example charge; the card's is in "
        "payment_method_details.card",
        "level3": "only when Level III data was sent",
        "presentment_details": "only when Adaptive Pricing converted the currency",
        "radar_options": "only when created with radar_options",
        "transfer": "only for destination charges (Connect)",
    },
    stripe.Charge.FraudDetails: {
        "stripe_report": "only once Stripe reports the charge",
        "user_report": "only once you report the charge",
    },
    stripe.Charge.Outcome: {"rule": "only when a Radar rule matched"},
    stripe.Charge.PaymentMethodDetails.Card: {
        "capture_before": "only for manual capture",
        "description": "internal use only",
        "iin": "internal use only",
        "issuer": "internal use only",
        "moto": "only for payments marked MOTO",
        "setup_credential_usage": "only when passed with setup_future_usage",
        "stored_credential_usage": "only when passed for an off-session payment",
    },
    stripe.Refund: {
        "description": "non-card refunds only",
        "failure_balance_transaction": "failed refunds only",
        "failure_reason": "failed refunds only",
        "instructions_email": "only for methods without native refunds",
        "next_action": "only when the customer must act",
        "pending_reason": "pending refunds only",
        "presentment_details": "only when Adaptive Pricing converted the currency",
    },
    stripe.Refund.DestinationDetails.Card: {
        "reference": "only once the acquirer's reference is available (the sandbox's is pending)",
    },
    stripe.Dispute: {
        "network_reason_code": "not in Stripe's example dispute; the network's "
        "code is in payment_method_details.card"
    },
    stripe.Event: {
        "account": "Connect accounts' events only",
        "context": "only when fetching needs an authentication context",
    },
    stripe.Event.Data: {"previous_attributes": "*.updated events only"},
}
# Hashes that hold a key only for what applies: the payment methods given options, the
# enhanced-evidence programmes the dispute qualifies for (the sandbox's: none).
SPARSE: dict[type[stripe.StripeObject], str] = {
    stripe.checkout.Session.PaymentMethodOptions: "only for methods given options",
    stripe.Dispute.Evidence.EnhancedEvidence: "only for programmes the dispute qualifies for",
    stripe.Dispute.EvidenceDetails.EnhancedEligibility: "only for programmes it qualifies for",
}
# "An additional hash is included on `payment_method_details` with a name matching this
# value" (the docstring of Charge.PaymentMethodDetails.type; Refund.DestinationDetails.type
# says the same of `destination_details`, and a dispute's works alike): of the per-method
# hashes only that one is sent.
TYPED: tuple[type[stripe.StripeObject], ...] = (
    stripe.Charge.PaymentMethodDetails,
    stripe.Refund.DestinationDetails,
    stripe.Dispute.PaymentMethodDetails,
)


def omitted(cls: type[stripe.StripeObject], value: dict[str, Any]) -> dict[str, str]:
    """Field -> why Stripe leaves it out of this value of cls."""
    left_out = dict(OMITTED.get(cls, {}))
    if cls in SPARSE:
        left_out.update(dict.fromkeys(fields(cls), SPARSE[cls]))
    if cls in TYPED:
        kind = value.get("type")
        left_out.update(
            {
                name: f"only the hash named by type ({kind!r}) is sent"
                for name in fields(cls)
                if name not in ("type", kind)
            }
        )
    return left_out


# -- reading the annotations ----------------------------------------------------------------


@cache
def deferred_imports(module_name: str) -> dict[str, Any]:
    """The names a generated module imports under `if TYPE_CHECKING:` (its forward refs).

    The classes refer to other resources by name in strings, e.g.
    `ExpandableField["Customer"]`, importing them only for type checkers; this imports them.
    """
    tree = ast.parse(inspect.getsource(sys.modules[module_name]))
    names: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    module = importlib.import_module(statement.module)
                    for alias in statement.names:
                        names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


@cache
def fields(cls: type) -> dict[str, Any]:
    """Wire name -> resolved type of every field the class annotates (not ClassVars, not the
    library's private attributes); names Python reserves are mapped back (`from_` -> `from`)."""
    localns = {**deferred_imports(cls.__module__), **vars(cls)}
    hints = get_type_hints(cls, localns=localns, include_extras=True)
    remap: dict[str, str] = getattr(cls, "_field_remappings", {})
    return {
        remap.get(name, name): hint
        for name, hint in hints.items()
        if not name.startswith("_") and get_origin(hint) is not ClassVar
    }


def type_name(hint: Any) -> str:
    """A readable annotation: `Optional[Session.AutomaticTax]`, `int`."""
    if isinstance(hint, type) and get_origin(hint) is None:
        return hint.__qualname__
    return re.sub(
        r"\b(?:typing|typing_extensions|decimal|stripe)\.(?:[a-z_][a-z0-9_]*\.)*", "", repr(hint)
    )


# -- checking values against them -----------------------------------------------------------


def check(value: Any, hint: Any, where: str) -> list[str]:
    """Every way value (parsed JSON) is not of the annotated type; [] when it is."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return []
    if origin in (Union, UnionType):
        return _check_union(value, hint, where)
    if value is None:
        return [] if hint is NoneType else [f"{where}: null, but {type_name(hint)} is not Optional"]
    if origin is Literal:
        return [] if _listed(value, args) else [_unlisted(value, args, where)]
    if origin is list:
        if not isinstance(value, list):
            return [_wrong(value, hint, where)]
        return [p for i, item in enumerate(value) for p in check(item, args[0], f"{where}[{i}]")]
    if origin in (dict, UntypedStripeObject):
        return _check_map(value, hint, where)
    if origin is stripe.ListObject:
        return _check_list_object(value, args[0], where)
    if isinstance(hint, type) and issubclass(hint, stripe.StripeObject):
        return check_object(value, hint, where)
    return [] if _scalar_fits(value, hint) else [_wrong(value, hint, where)]


def check_object(value: Any, cls: type[stripe.StripeObject], where: str) -> list[str]:
    """A JSON object against a StripeObject class: fields present, known and of their type."""
    if not isinstance(value, dict):
        return [_wrong(value, cls, where)]
    found: list[str] = []
    annotated, left_out = fields(cls), omitted(cls, value)
    for name, hint in annotated.items():
        at = f"{where}.{name}" if where else name
        if name in left_out:
            if name in value:
                found.append(f"{at}: present, but Stripe leaves it out: {left_out[name]}")
        elif name not in value:
            found.append(f"{at}: missing ({cls.__qualname__}.{name}: {type_name(hint)})")
        else:
            found += check(value[name], hint, at)
    for name in sorted(set(value) - set(annotated)):
        at = f"{where}.{name}" if where else name
        found.append(f"{at}: unknown field, {cls.__qualname__} has no {name}")
    return found


def _check_union(value: Any, hint: Any, where: str) -> list[str]:
    options = [arg for arg in get_args(hint) if arg is not NoneType]
    if value is None:
        nullable = len(options) < len(get_args(hint))
        return [] if nullable else [f"{where}: null, but {type_name(hint)} is not Optional"]
    literals = [arg for arg in options if get_origin(arg) is Literal]
    if literals and all(arg is str or arg in literals for arg in options):
        listed = [v for arg in literals for v in get_args(arg)]  # the pinned version's values
        return [] if _listed(value, listed) else [_unlisted(value, listed, where)]
    fitting = [arg for arg in options if _kind_fits(value, arg)]
    if not fitting:
        return [_wrong(value, hint, where)]
    if isinstance(value, dict) and "object" in value:  # an expanded resource says which
        named = [arg for arg in fitting if getattr(arg, "OBJECT_NAME", None) == value["object"]]
        fitting = named or fitting
    tried = [check(value, arg, where) for arg in fitting]
    return [] if [] in tried else min(tried, key=len)


def _check_map(value: Any, hint: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [_wrong(value, hint, where)]
    item = get_args(hint)[-1] if get_args(hint) else Any
    return [p for key, sub in value.items() for p in check(sub, item, f"{where}.{key}")]


def _check_list_object(value: Any, item: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [_wrong(value, stripe.ListObject, where)]
    shape = {"object": Literal["list"], "data": list[item], "has_more": bool, "url": str}
    found = [f"{where}.{name}: missing" for name in shape if name not in value]
    found += [f"{where}.{name}: unknown field of a list" for name in set(value) - set(shape)]
    return found + [
        p
        for name, sub in shape.items()
        if name in value
        for p in check(value[name], sub, f"{where}.{name}")
    ]


def _listed(value: Any, allowed: Any) -> bool:
    return any(value == v and type(value) is type(v) for v in allowed)


def _unlisted(value: Any, allowed: Any, where: str) -> str:
    shown = ", ".join(map(repr, allowed[:8])) + (", ..." if len(allowed) > 8 else "")
    return f"{where}: {value!r} is not one of [{shown}]"


def _scalar_fits(value: Any, hint: Any) -> bool:
    if hint is float:
        return type(value) in (int, float)
    if hint is Decimal:  # Stripe's decimal_string
        return isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    return type(value) is hint


def _kind_fits(value: Any, hint: Any) -> bool:
    """Whether value is the JSON kind (string, number, object, ...) the type takes."""
    origin = get_origin(hint) or hint
    if origin is Literal:
        return any(type(value) is type(v) for v in get_args(hint))
    if origin in (dict, UntypedStripeObject, stripe.ListObject) or (
        isinstance(origin, type) and issubclass(origin, stripe.StripeObject)
    ):
        return isinstance(value, dict)
    if origin is list:
        return isinstance(value, list)
    return hint is Any or _scalar_fits(value, hint)


def _wrong(value: Any, hint: Any, where: str) -> str:
    shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
    return f"{where}: {shown} is not {type_name(hint)}"


# -- what the tests call --------------------------------------------------------------------


def problems(obj: dict[str, Any], name: str) -> list[str]:
    """Every way obj breaks the pinned package's type of the object `name` (`charge`, ...,
    or `error` for an error body), plus an id that does not look like Stripe's."""
    if name == "error":
        return error_problems(obj)
    found = check_object(obj, RESOURCES[name], "")
    if name in ID_FORMATS and not re.fullmatch(ID_FORMATS[name], str(obj.get("id"))):
        found.append(f"id {obj.get('id')} does not look like Stripe's")
    return found


def event_problems(event: dict[str, Any]) -> list[str]:
    """The event itself, its API version, and the object it carries against that object's
    own class (`Event.Data.object` is typed only as an untyped object)."""
    found = problems(event, "event")
    if event.get("api_version") != stripe.api_version:
        found.append(
            f"api_version {event.get('api_version')!r}, but stripe=={stripe.VERSION} "
            f"pins {stripe.api_version!r}"
        )
    inner = event.get("data", {}).get("object", {})
    if inner.get("object") not in RESOURCES:
        return [*found, f"data.object: no resource {inner.get('object')!r} here"]
    return found + [f"data.object.{p}" for p in problems(inner, inner["object"])]


def error_problems(body: dict[str, Any]) -> list[str]:
    """An error body, `{"error": {...}}`: Stripe omits an ErrorObject's null fields, so each
    field may be missing but none may be null, except `type`, which is never null."""
    if set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"<root>: {sorted(body)} is not an error body {{'error': ...}}"]
    error, annotated = body["error"], fields(stripe.ErrorObject)
    found = [
        f"error.{name}: unknown field, ErrorObject has no {name}"
        for name in sorted(set(error) - set(annotated))
    ]
    for name, value in error.items():
        if name in annotated and value is None:
            found.append(f"error.{name}: null; Stripe leaves a null field out of an error")
        elif name in annotated:
            found += check(value, annotated[name], f"error.{name}")
    if error.get("type") not in ERROR_TYPES:
        found.append(f"error.type: {error.get('type')!r} is not one of {list(ERROR_TYPES)}")
    return found


# -- request parameters -------------------------------------------------------------------


@cache
def request_params(params_class: type) -> dict[str, Any]:
    """Name -> type of each parameter a generated `...Params` TypedDict takes, less the
    request options every method takes (api_key, idempotency_key, ...)."""
    own = {
        name: hint
        for name, hint in params_class.__annotations__.items()
        if name not in RequestOptions.__annotations__
    }
    holder = type(
        params_class.__name__, (), {"__annotations__": own, "__module__": params_class.__module__}
    )
    return get_type_hints(holder, localns=deferred_imports(params_class.__module__))

"""API errors, translated once from the client's ApiException so the rest of rollwave never sees it.

KubeError
 +- NotFound        404: the object (or its kind) does not exist
 +- Conflict        409: stale resourceVersion, or it already exists
 +- Invalid         422: the server refused the object; `.message` says which field
 +- Forbidden       403: RBAC
 +- Unavailable     5xx, timeouts and connection errors: worth a retry
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException


class KubeError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


class Invalid(KubeError):
    pass


class Forbidden(KubeError):
    pass


class Unavailable(KubeError):
    pass


def translate(err: ApiException) -> KubeError:
    message = err.reason or "error"
    if err.body:
        try:
            message = json.loads(err.body).get("message", message)
        except (ValueError, AttributeError):
            message = str(err.body)[:500]
    status = err.status
    kind: type[KubeError] = {404: NotFound, 409: Conflict, 422: Invalid, 403: Forbidden}.get(
        status or 0, KubeError
    )
    if status is None or status >= 500 or status == 429:
        kind = Unavailable
    return kind(message, status=status)


P = ParamSpec("P")
R = TypeVar("R")


def translated(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: the wrapped call raises KubeError subclasses instead of client exceptions."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ApiException as err:
            raise translate(err) from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise Unavailable(f"API server unreachable: {err}") from err

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper

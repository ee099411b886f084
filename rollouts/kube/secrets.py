"""Secrets read for analysis arguments (`valueFrom.secretKeyRef`). Blocking calls; callers run them in a thread.

Only one key is read and decoded; the value is returned to the caller, which must mask it in every message.
"""

from __future__ import annotations

import base64
import binascii

from kubernetes.client import CoreV1Api

from rollouts.kube import errors


@errors.translated
def read_key(core: CoreV1Api, *, namespace: str, name: str, key: str) -> str:
    """The decoded value of `key` in Secret `namespace/name`.

    Raises `errors.NotFound` when the Secret is missing (the API server's words: `secrets "db" not found`)
    or has no such key (`secret "db" has no key "token"`).
    """
    secret = core.read_namespaced_secret(name, namespace)
    data = secret.data or {}
    if key not in data:
        raise errors.NotFound(f'secret "{name}" has no key "{key}"', status=404)
    try:
        raw = base64.b64decode(data[key] or "", validate=True)
    except (binascii.Error, ValueError) as err:
        raise errors.Invalid(f'secret "{name}" key "{key}" is not valid base64: {err}') from err
    # Argo reads the bytes as a Go string; invalid UTF-8 is replaced rather than refused.
    return raw.decode("utf-8", errors="replace")

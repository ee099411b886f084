"""Where shared material lives relative to this checkout (CI clones the repo with ../shared beside it)."""

from __future__ import annotations

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
ARGO_EXAMPLES = pathlib.Path(
    os.environ.get("ROLLWAVE_ARGO_EXAMPLES", REPO.parent / "shared" / "argo-examples")
)

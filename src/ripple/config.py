"""Where ripple keeps its state, and the few process-wide settings read once at start.

Precedence, lowest first: defaults < environment (``RIPPLE_STATE``) < explicit argument (the CLI's
``--state``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_DIR = ".ripple"
STATE_ENV = "RIPPLE_STATE"
#: The region and account that ARNs and event records carry. Handlers written for AWS parse ARNs, so
#: they get well-formed ones; the values themselves mean nothing locally.
REGION = os.environ.get("RIPPLE_REGION", "us-east-1")
ACCOUNT_ID = os.environ.get("RIPPLE_ACCOUNT_ID", "000000000000")


def state_path(state: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the state folder: ``state`` if given, else ``$RIPPLE_STATE``, else ``./.ripple``.

    The path is made absolute (against the current directory) but not created.
    """
    if state is None or str(state) == "":
        state = os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR
    return Path(state).expanduser().absolute()

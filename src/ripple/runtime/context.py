"""The ``context`` object a handler receives: Lambda's attributes and methods, with Lambda's types.

Mirrors awslambdaric's ``LambdaContext`` (aws-semantics.md §7.2), including its quirk that
``memory_limit_in_mb`` is a string, so code written for Lambda behaves identically.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


class CognitoIdentity:
    """``context.identity``: always an object; both fields ``None`` unless the caller sent them."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None):
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """``context.client_context.client``: the mobile client that invoked the function."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, data: dict[str, Any]) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    """``context.client_context``: present only when the caller passed one (synchronous invokes)."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


_STATIC_ENV = (
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
)  # fmt: skip
_static: tuple[str | None, ...] | None = None


def _static_attributes() -> tuple[str | None, ...]:
    # The sandbox's environment is set once before Init; reading os.environ five times per invocation
    # was a fifth of the worker's share of a warm invocation.
    global _static
    if _static is None:
        _static = tuple(os.environ.get(name) for name in _STATIC_ENV)
    return _static


class LambdaContext:
    """What Lambda passes as the handler's second argument.

    Static attributes come from the sandbox's environment variables, exactly as in awslambdaric; the
    per-invocation ones from the request.
    """

    def __init__(
        self,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._deadline_ms = deadline_ms
        ident = identity or {}
        self.identity = CognitoIdentity(ident.get("cognitoIdentityId"), ident.get("cognitoIdentityPoolId"))
        self.client_context = ClientContext(client_context) if client_context else None
        (self.function_name, self.function_version, self.memory_limit_in_mb, self.log_group_name,
         self.log_stream_name) = _static_attributes()  # fmt: skip

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation times out; never negative."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        """Write ``msg`` to the invocation's log, as is (no newline added)."""
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity},tenant_id={self.tenant_id}])"
        )

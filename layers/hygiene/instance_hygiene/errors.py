"""What an AWS error was: the code (and message) of a botocore ClientError or BotoCoreError.

Inspects an exception only (no client, no call), so pure modules that explain a failure may use it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(error: Exception) -> str:
    """The API's error code (`ThrottlingException`), or the exception's class name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "error")
    return type(error).__name__


def error_message(error: Exception) -> str:
    """The API's error message, or the exception's text."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or "")
    return str(error)


def error_text(error: Exception) -> str:
    """`Code: Message` for a ClientError, `ClassName: text` otherwise."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"

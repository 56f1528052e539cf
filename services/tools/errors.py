"""A tool refusal as an exception: raised anywhere in a handler, answered as a ToolError."""

from __future__ import annotations

from fixline_proto.tools import ErrorCode, ToolError


class ToolFailure(Exception):
    def __init__(self, code: ErrorCode, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def to_result(self) -> ToolError:
        return ToolError(code=self.code, message=self.message, retryable=self.retryable)


def not_found(what: str, ident: str) -> ToolFailure:
    return ToolFailure("not_found", f"no {what} with id {ident!r}")

"""Errors as HTTP answers: a ``WTBError`` is a 4xx whose body names its type and says what
to do; a request the schema refuses is a 422 in the same shape. Anything else is a defect:
a 500 that is logged with its traceback.

Body: ``{"error": {"type": "ExecutionNotFoundError", "message": "..."}}`` — the
``langgraph-sdk`` client reads ``error.message`` into its exception.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from wtb_core.errors import WTBError
from wtb_core.server.error_kinds import ErrorKind, error_kind

log = logging.getLogger(__name__)

_STATUS = {
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.INVALID_STATE: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INVALID_INPUT: 422,
}


def status_of(error: WTBError) -> int:
    """404 for what does not exist, 409 for a call the resource's state refuses, 503 when
    storage failed or every worker is busy, 422 for every other bad input."""
    return _STATUS[error_kind(error)]


class ErrorDetail(BaseModel):
    type: str = Field(description="The error's class, e.g. ExecutionNotFoundError")
    message: str = Field(description="What was wrong and what to do")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "A token is needed"),
        (403, "The origin or the operation is not allowed"),
        (404, "No such project, execution, checkpoint, batch or route"),
        (409, "The resource's state refuses the call"),
        (421, "The Host header names another server"),
        (422, "The request is malformed or its values are not accepted"),
        (503, "Storage failed, or every worker is busy"),
    )
}
"""Declared on every route, so the OpenAPI document lists the answers a client may get."""


def error_body(kind: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"type": kind, "message": message}}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) + " (see /docs for the request schema)"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(WTBError)
    async def _wtb_error(request: Request, exc: WTBError) -> JSONResponse:
        return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("ValidationError", _validation_message(exc)), 422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "NotFound" if exc.status_code == 404 else "HTTPError"
        return JSONResponse(error_body(kind, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _defect(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error serving %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("InternalError", f"{type(exc).__name__}: {exc} (a defect; see the log)"),
            500,
        )

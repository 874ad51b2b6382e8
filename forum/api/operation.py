"""An API endpoint and what the OpenAPI document says about it, declared side by side."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from forum.api.parsing import BodySpec
from forum.i18n import _

Handler = Callable[[Request], Awaitable[Response]]
Auth = Literal["required", "optional", "none"]


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: str | None  # a component schema name; None for 204 No Content
    status: int = 200
    body: BodySpec | None = None
    auth: Auth = "optional"
    query: tuple[str, ...] = ()  # documented query parameters, by name
    errors: tuple[int, ...] = ()  # the 4xx statuses worth listing besides the default
    description: str = ""
    may_hold: bool = False  # a post that may be kept for approval: 202 AwaitingApproval
    upload: str | None = None  # a multipart/form-data body: its component schema name
    download: tuple[str, ...] = ()  # a file answer: the media types it may have


@dataclass(frozen=True)
class ApiEndpoint:
    handler: Handler
    operation: Operation

    @property
    def name(self) -> str:
        return self.handler.__name__

    async def __call__(self, request: Request) -> Response:
        return await self.handler(request)


def operation(
    summary: str,
    *,
    tag: str,
    response: str | None,
    status: int = 200,
    body: BodySpec | None = None,
    auth: Auth = "optional",
    query: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    description: str = "",
    may_hold: bool = False,
    upload: str | None = None,
    download: tuple[str, ...] = (),
) -> Callable[[Handler], ApiEndpoint]:
    """Declare a handler's contract; the result is routed and documented as one unit."""
    described = Operation(
        summary=summary,
        tag=tag,
        response=response,
        status=status,
        body=body,
        auth=auth,
        query=query,
        errors=errors,
        description=description,
        may_hold=may_hold,
        upload=upload,
        download=download,
    )

    def wrap(handler: Handler) -> ApiEndpoint:
        return ApiEndpoint(handler, described)

    return wrap


class ApiRoute(Route):
    """One path with one endpoint per method. Any other method gets a JSON 405 whose Allow
    header names the methods the path has (Starlette's own 405 loses it on the way out)."""

    def __init__(self, path: str, **endpoints: ApiEndpoint) -> None:
        self.endpoints = endpoints
        super().__init__(path, self._dispatch, methods=list(endpoints), name=path)

    async def _dispatch(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self.endpoints[method](request)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            message = _("This path does not accept that method.")
            response = JSONResponse(
                {"error": {"code": "method_not_allowed", "message": message}},
                status_code=405,
                headers={"Allow": ", ".join(sorted(self.methods))},
            )
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)

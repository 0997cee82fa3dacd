"""Webhooks into budget jobs: `BudgetTrigger`, the ASGI app of the distributed mode.

With many workers a delivery writes no rows itself (the one-process receiver of
`tripletex_async.webhooks` does): it queues its budget's sync job, the same job the
planner queues, coalesced by the budget's queueing lock. However many deliveries
arrive while the job waits, it runs once; one arriving while the job runs queues one
more, which procrastinate's lock keeps behind the running one and which then syncs
what changed meanwhile. Triggered jobs go after continuations and before the night's
plan (`WEBHOOK_PRIORITY`).

Subscribe each budget's companies to ``{url}/{budget_id}`` (`subscription_specs`,
`ensure_subscriptions`): the budget id is an HMAC of the tokens, never a token.
Deliveries are verified like the receiver's (`WebhookAuth`: the subscription's auth
header and HMAC signature) before anything is looked up.

Answers: 200 ``queued`` or ``coalesced``; 401 not Tripletex's; 404 no such budget; 405
not a POST; 413 too large; 503 the database is unreachable (Tripletex retries).
"""

from __future__ import annotations

import logging
import re

import msgspec
import procrastinate
from procrastinate import exceptions as procrastinate_errors

from ..sinks._common import check_name
from ..webhooks._asgi import Receive, Scope, Send, read_body, request_headers, respond
from ..webhooks._verify import WebhookAuth
from .jobs import WorkerSettings, _defer

__all__ = ["WEBHOOK_PRIORITY", "BudgetTrigger"]

#: After continuations (10), before the budgets the planner queues (0).
WEBHOOK_PRIORITY = 5

_BUDGET_ID = re.compile(r"[0-9a-f]{32}")
_log = logging.getLogger("tripletex_async.workers")


class BudgetTrigger:
    """Queues a budget's job for each verified delivery to ``.../{budget_id}`` (see the
    module's text). Serve it with any ASGI server: its ``lifespan`` opens and closes
    ``app`` (unless ``manage_app=False``: the application opens it), or mount it in
    Starlette or FastAPI.
    """

    def __init__(
        self,
        app: procrastinate.App,
        settings: WorkerSettings,
        *,
        auth: WebhookAuth,
        max_body: int = 1 << 20,
        manage_app: bool = True,
    ) -> None:
        self._app = app
        self._auth = auth
        self._max_body = max_body
        self._manage = manage_app
        self._budgets = f"{check_name(settings.store_schema, 'schema name')}.budgets"

    def __repr__(self) -> str:
        return f"<BudgetTrigger {self._budgets}>"

    async def trigger(self, budget_id: str) -> str | None:
        """Queue ``budget_id``'s job: ``queued``, ``coalesced`` (one was waiting
        already), or ``None`` when no such budget is registered."""
        known = await self._app.connector.execute_query_one_async(
            f"SELECT count(*) AS n FROM {self._budgets} WHERE id = %(id)s",
            id=budget_id,
        )
        if not known or not known["n"]:
            return None
        queued = await _defer(self._app, [budget_id], priority=WEBHOOK_PRIORITY)
        return "queued" if queued else "coalesced"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._http(scope, receive)
            if status:
                await respond(send, status, msgspec.json.encode(body))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._manage:
                    await self._app.open_async()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._manage:
                    await self._app.close_async()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
        if scope.get("method") != "POST":
            return 405, {"error": "method not allowed"}
        body = await read_body(receive, self._max_body)
        if body is None:
            return 0, {}  # the client went away
        if len(body) > self._max_body:
            return 413, {"error": "payload too large"}
        if self._auth.refusal(request_headers(scope), body) is not None:
            _log.warning("webhook_refused reason=unauthorized")
            return 401, {"error": "unauthorized"}
        budget_id = str(scope.get("path", "")).rstrip("/").rpartition("/")[2]
        if not _BUDGET_ID.fullmatch(budget_id):
            return 404, {"error": "no budget in the path"}
        try:
            outcome = await self.trigger(budget_id)
        except procrastinate_errors.ConnectorException as exc:
            _log.warning("webhook_trigger_failed error=%s", type(exc).__name__)
            return 503, {"error": "the queue is unreachable"}
        if outcome is None:
            _log.warning("webhook_unknown_budget budget_id=%s", budget_id)
            return 404, {"error": "no such budget"}
        return 200, {"status": outcome}

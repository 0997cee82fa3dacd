"""Webhooks: subscriptions, a verified ASGI receiver, and the nightly reconcile.

Keep a sink current between syncs::

    auth = WebhookAuth(hmac_secret=Secret(os.environ["WEBHOOK_SECRET"]))
    async with TripletexClient() as client, EventQueue("webhooks.db") as queue:
        for company in companies:
            specs = subscription_specs("https://example.com/tripletex", auth)
            await ensure_subscriptions(client.company(company), specs, registry=queue)
    app = create_app("sqlite:///tripletex.db", client, auth=auth, queue_path="webhooks.db")

then serve ``app`` with any ASGI server (or `serve`), and run `reconcile` nightly.
"""

from .._exports import claim as _claim
from ._ensure import EnsureReport as EnsureReport
from ._ensure import ensure_subscriptions as ensure_subscriptions
from ._events import SUBJECTS as SUBJECTS
from ._events import WEBHOOK_RESOURCES as WEBHOOK_RESOURCES
from ._events import subscription_specs as subscription_specs
from ._queue import EventQueue as EventQueue
from ._queue import QueuedEvent as QueuedEvent
from ._queue import QueueError as QueueError
from ._receiver import WebhookReceiver as WebhookReceiver
from ._reconcile import reconcile as reconcile
from ._serve import create_app as create_app
from ._serve import serve as serve
from ._subscriptions import EventType as EventType
from ._subscriptions import Registration as Registration
from ._subscriptions import Secret as Secret
from ._subscriptions import Subscription as Subscription
from ._subscriptions import SubscriptionRegistry as SubscriptionRegistry
from ._subscriptions import Subscriptions as Subscriptions
from ._subscriptions import SubscriptionSpec as SubscriptionSpec
from ._verify import WebhookAuth as WebhookAuth

__all__ = [
    "SUBJECTS",
    "WEBHOOK_RESOURCES",
    "EnsureReport",
    "EventQueue",
    "EventType",
    "QueueError",
    "QueuedEvent",
    "Registration",
    "Secret",
    "Subscription",
    "SubscriptionRegistry",
    "SubscriptionSpec",
    "Subscriptions",
    "WebhookAuth",
    "WebhookReceiver",
    "create_app",
    "ensure_subscriptions",
    "reconcile",
    "serve",
    "subscription_specs",
]

_claim(globals(), __all__, __name__)

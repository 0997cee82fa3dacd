"""tripletex_async: an asynchronous, high-throughput client and sync engine for Tripletex."""

from ._client import CompanyView as CompanyView
from ._client import TripletexClient as TripletexClient
from ._clock import Clock as Clock
from ._clock import LoopClock as LoopClock
from ._clock import SystemClock as SystemClock
from ._config import ENVIRONMENTS as ENVIRONMENTS
from ._config import Credentials as Credentials
from ._config import Limits as Limits
from ._config import RetryPolicy as RetryPolicy
from ._connection import Connection as Connection
from ._connection import ConnectionStatistics as ConnectionStatistics
from ._connection import Tally as Tally
from ._envelopes import Client as Client
from ._envelopes import ListPage as ListPage
from ._envelopes import LoggedInUserInfo as LoggedInUserInfo
from ._envelopes import Ref as Ref
from ._envelopes import Value as Value
from ._errors import APIError as APIError
from ._errors import AuthenticationError as AuthenticationError
from ._errors import ClosedError as ClosedError
from ._errors import CompanySelectionError as CompanySelectionError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ConflictError as ConflictError
from ._errors import DecodeError as DecodeError
from ._errors import EndpointError as EndpointError
from ._errors import LeaseError as LeaseError
from ._errors import LeaseHeldError as LeaseHeldError
from ._errors import LeaseLostError as LeaseLostError
from ._errors import NotFoundError as NotFoundError
from ._errors import PermissionDeniedError as PermissionDeniedError
from ._errors import RateLimitedError as RateLimitedError
from ._errors import ResultSetTooLargeError as ResultSetTooLargeError
from ._errors import RevisionError as RevisionError
from ._errors import ServerError as ServerError
from ._errors import TimeoutError as TimeoutError
from ._errors import TransportError as TransportError
from ._errors import TripletexError as TripletexError
from ._errors import ValidationError as ValidationError
from ._errors import ValidationMessage as ValidationMessage
from ._lease import Fence as Fence
from ._lease import Holder as Holder
from ._lease import Lease as Lease
from ._lease import LeaseStore as LeaseStore
from ._ratelimit import AdaptiveBudget as AdaptiveBudget
from ._ratelimit import BudgetSnapshot as BudgetSnapshot
from ._ratelimit import RateLimiter as RateLimiter
from ._report import ResourceReport as ResourceReport
from ._report import SyncReport as SyncReport
from ._resources import DEFAULT_RESOURCES as DEFAULT_RESOURCES
from ._resources import RESOURCES as RESOURCES
from ._resources import Resource as Resource
from ._sync import SyncOptions as SyncOptions
from ._sync import default_date_range as default_date_range
from ._sync import sync as sync
from ._windows import Window as Window
from .sinks import Sink as Sink
from .sinks import SinkError as SinkError

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RESOURCES",
    "ENVIRONMENTS",
    "RESOURCES",
    "APIError",
    "AdaptiveBudget",
    "AuthenticationError",
    "BudgetSnapshot",
    "Client",
    "Clock",
    "ClosedError",
    "CompanySelectionError",
    "CompanyView",
    "ConfigurationError",
    "ConflictError",
    "Connection",
    "ConnectionStatistics",
    "Credentials",
    "DecodeError",
    "EndpointError",
    "Fence",
    "Holder",
    "Lease",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "LeaseStore",
    "Limits",
    "ListPage",
    "LoggedInUserInfo",
    "LoopClock",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "Ref",
    "Resource",
    "ResourceReport",
    "ResultSetTooLargeError",
    "RetryPolicy",
    "RevisionError",
    "ServerError",
    "Sink",
    "SinkError",
    "SyncOptions",
    "SyncReport",
    "SystemClock",
    "Tally",
    "TimeoutError",
    "TransportError",
    "TripletexClient",
    "TripletexError",
    "ValidationError",
    "ValidationMessage",
    "Value",
    "Window",
    "default_date_range",
    "sync",
]

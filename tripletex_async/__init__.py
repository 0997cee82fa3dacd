"""tripletex_async: an asynchronous, high-throughput client and sync engine for Tripletex."""

import logging as _logging

from ._exports import claim as _claim
from .client._client import CompanyView as CompanyView
from .client._client import TripletexClient as TripletexClient
from .client._clock import Clock as Clock
from .client._clock import LoopClock as LoopClock
from .client._clock import SystemClock as SystemClock
from .client._config import ENVIRONMENTS as ENVIRONMENTS
from .client._config import Credentials as Credentials
from .client._config import Limits as Limits
from .client._config import RetryPolicy as RetryPolicy
from .client._connection import Connection as Connection
from .client._connection import ConnectionStatistics as ConnectionStatistics
from .client._connection import Tally as Tally
from .client._envelopes import ClientCompany as ClientCompany
from .client._envelopes import ListPage as ListPage
from .client._envelopes import LoggedInUserInfo as LoggedInUserInfo
from .client._envelopes import Ref as Ref
from .client._envelopes import Value as Value
from .client._errors import APIError as APIError
from .client._errors import AuthenticationError as AuthenticationError
from .client._errors import ClosedError as ClosedError
from .client._errors import CompanySelectionError as CompanySelectionError
from .client._errors import ConfigurationError as ConfigurationError
from .client._errors import ConflictError as ConflictError
from .client._errors import DecodeError as DecodeError
from .client._errors import EndpointError as EndpointError
from .client._errors import LeaseError as LeaseError
from .client._errors import LeaseHeldError as LeaseHeldError
from .client._errors import LeaseLostError as LeaseLostError
from .client._errors import NotFoundError as NotFoundError
from .client._errors import PermissionDeniedError as PermissionDeniedError
from .client._errors import RateLimitedError as RateLimitedError
from .client._errors import RequestTimeoutError as RequestTimeoutError
from .client._errors import ResultSetTooLargeError as ResultSetTooLargeError
from .client._errors import RevisionError as RevisionError
from .client._errors import ServerError as ServerError
from .client._errors import TokensRefusedError as TokensRefusedError
from .client._errors import TransportError as TransportError
from .client._errors import TripletexError as TripletexError
from .client._errors import ValidationError as ValidationError
from .client._errors import ValidationMessage as ValidationMessage
from .client._log import LOGGER_NAME as _LOGGER_NAME
from .client._ratelimit import AdaptiveBudget as AdaptiveBudget
from .client._ratelimit import BudgetSnapshot as BudgetSnapshot
from .client._ratelimit import RateLimiter as RateLimiter
from .engine._report import ResourceReport as ResourceReport
from .engine._report import SyncReport as SyncReport
from .engine._resources import DEFAULT_RESOURCES as DEFAULT_RESOURCES
from .engine._resources import RESOURCES as RESOURCES
from .engine._resources import Resource as Resource
from .engine._sync import SyncOptions as SyncOptions
from .engine._sync import default_date_range as default_date_range
from .engine._sync import sync as sync
from .engine._windows import Window as Window
from .models import DateText as DateText
from .sinks import Sink as Sink
from .sinks import SinkError as SinkError
from .sinks._lease import Fence as Fence
from .sinks._lease import Holder as Holder
from .sinks._lease import Lease as Lease
from .sinks._lease import LeaseStore as LeaseStore

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RESOURCES",
    "ENVIRONMENTS",
    "RESOURCES",
    "APIError",
    "AdaptiveBudget",
    "AuthenticationError",
    "BudgetSnapshot",
    "ClientCompany",
    "Clock",
    "ClosedError",
    "CompanySelectionError",
    "CompanyView",
    "ConfigurationError",
    "ConflictError",
    "Connection",
    "ConnectionStatistics",
    "Credentials",
    "DateText",
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
    "RequestTimeoutError",
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
    "TokensRefusedError",
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

# Quiet unless the application configures logging: without a handler of ours, Python's
# last-resort handler would print our warnings to stderr (the logging HOWTO's advice for
# libraries).
_logging.getLogger(_LOGGER_NAME).addHandler(_logging.NullHandler())

_claim(globals(), __all__, __name__)

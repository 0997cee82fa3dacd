"""Task groups raise exception groups; callers of this library expect our own errors."""

from __future__ import annotations

__all__ = ["first_error", "sole_exception"]


def sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one real error of a task group that stopped on it (the other tasks were
    cancelled and left nothing), or the group itself when several tasks failed."""
    leaves = _leaves(group)
    return leaves[0] if len(leaves) == 1 else group


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Like `sole_exception`, but when several tasks of one piece of work failed at once
    with ordinary errors (two pages of one window, say), the first of them in the
    group's order: its caller handles errors by kind, and a group would slip past every
    handler. A group with an interrupt among its errors stays a group."""
    leaves = _leaves(group)
    if len(leaves) == 1 or all(isinstance(leaf, Exception) for leaf in leaves):
        return leaves[0]
    return group


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The errors of ``group`` and its nested groups, in order."""
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves

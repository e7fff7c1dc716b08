"""What a backward function saved for the backward pass, read without side effects.

Each ``_saved_*`` attribute of an autograd node (and ``saved_tensors`` and the
``ctx`` attributes of a custom ``autograd.Function``) is read once. A value
that a ``saved_tensors_hooks`` pair packed (for instance
``torch.utils.checkpoint(..., use_reentrant=False)``) is not read: unpacking
would run the user's hook, or the checkpointed forward again. The raw
``SavedTensor`` objects (``_raw_saved_*``) tell, without unpacking.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["plain", "read_saved", "small_copy"]

_saved_names_cache: dict[type, tuple[tuple[str, str | None], ...]] = {}


def _saved_attributes(fn: object) -> tuple[tuple[str, str | None], ...]:
    """``(attribute, its raw SavedTensor attribute or None)`` for each ``_saved_*`` of ``fn``'s class."""
    kind = type(fn)
    names = _saved_names_cache.get(kind)
    if names is None:
        every = dir(fn)
        names = tuple((n, "_raw" + n if "_raw" + n in every else None) for n in every if n.startswith("_saved_"))
        _saved_names_cache[kind] = names
    return names


def _hooked(fn: object, raw_attribute: str) -> str:
    """What unpacking a saved value would run, if ``saved_tensors_hooks`` packed it; "" if nothing.

    Reads the raw ``SavedTensor`` objects (``_raw_saved_*``), which never unpacks.
    """
    try:
        raw = getattr(fn, raw_attribute, None)
    except RuntimeError:  # freed: reading the value says so
        return ""
    for saved in raw if isinstance(raw, (list, tuple)) else [raw]:
        hook = getattr(saved, "unpack_hook", None)
        if hook is not None:
            if getattr(hook, "__module__", "") == "torch.utils.checkpoint":
                return "recomputed on backward"
            return "unpacked by saved_tensors_hooks"
    return ""


def read_saved(fn: object) -> Iterable[tuple[str, Any, str]]:
    """(attribute, value, state) for each value ``fn`` saved.

    state is "" (read), "freed", "stale", or what a ``saved_tensors_hooks``
    unpack would do (then the value is not read: reading it would run the
    hook, and for ``checkpoint(..., use_reentrant=False)`` the user's forward).
    None values (nothing was saved) are left out.
    """
    for attribute, raw in _saved_attributes(fn):
        hooked = _hooked(fn, raw) if raw else ""
        if hooked:
            yield attribute, None, hooked
            continue
        try:
            value = getattr(fn, attribute)
        except RuntimeError as error:
            text = str(error)
            if "freed" in text or "second time" in text:
                yield attribute, None, "freed"
            elif "inplace" in text:
                yield attribute, None, "stale"
            continue
        if value is not None:
            yield attribute, value, ""
    if isinstance(fn, torch.autograd.function.BackwardCFunction):  # a custom autograd.Function
        hooked = _hooked(fn, "_raw_saved_tensors")
        if hooked:
            yield "saved_tensors", None, hooked
        else:
            try:
                saved = fn.saved_tensors
            except RuntimeError as error:
                yield "saved_tensors", None, "stale" if "inplace" in str(error) else "freed"
            else:
                for i, tensor in enumerate(saved):
                    if tensor is not None:
                        yield f"saved_tensors[{i}]", tensor, ""
        for attribute, value in vars(fn).items():
            if not attribute.startswith("_"):
                yield f"ctx.{attribute}", value, ""


def plain(value: object) -> bool:
    """A value small enough to keep in the graph: a number, a string, or a tuple/list of numbers."""
    if isinstance(value, (bool, int, float, complex, str)):
        return True
    return isinstance(value, (tuple, list)) and len(value) <= 16 and all(isinstance(v, (int, float)) for v in value)


def small_copy(tensor: torch.Tensor) -> torch.Tensor | None:
    """A detached copy of a small strided tensor (not a view: that would keep its base alive), else None."""
    if tensor.layout != torch.strided or tensor.is_nested or tensor.numel() > 6:
        return None
    return tensor.detach().clone()

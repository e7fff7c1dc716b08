"""Arguments of build_graph and draw: the output tensors, explicit names, and the caller's variable names."""

from __future__ import annotations

import inspect

import torch

from gradlab._messages import bilingual

__all__ = ["caller_names", "check_names", "flatten_outputs"]

_HERE = __file__.removesuffix("_names.py")  # gradlab's own folder: its frames (draw, trace_backward) are skipped


_CONTAINER_LIMIT = 1000  # longer lists and dicts are not searched for names


def _contents(var: str, value: object) -> list[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` for the tensors directly inside a list, tuple or dict: ``params[0]``, ``d["w"]``."""
    if isinstance(value, (list, tuple)) and len(value) <= _CONTAINER_LIMIT:
        return [(f"{var}[{i}]", item) for i, item in enumerate(value) if isinstance(item, torch.Tensor)]
    if isinstance(value, dict) and len(value) <= _CONTAINER_LIMIT:
        return [
            (f"{var}[{key!r}]" if not isinstance(key, str) else f'{var}["{key}"]', item)
            for key, item in value.items()
            if isinstance(item, torch.Tensor) and isinstance(key, (str, int))
        ]
    return []


def caller_names(keep: list[object]) -> tuple[dict[int, str], dict[int, str]]:
    """Variable names of tensors (by ``id``) and of their grad_fns, innermost frame first.

    In each frame a variable's own name comes first, then a module's
    parameters (``model.0.weight``), then the tensors inside a list, tuple or
    dict (``params[0]``, ``d["w"]``).

    Only used inside one call, while the frames (and ``keep``, which holds the
    grad_fn objects) keep the objects alive, so the ``id`` keys cannot be
    reused. Names starting with ``_`` are skipped.
    """
    tensors: dict[int, str] = {}
    functions: dict[int, str] = {}

    def add(name: str, tensor: torch.Tensor) -> None:
        tensors.setdefault(id(tensor), name)
        fn = tensor.grad_fn
        if fn is not None:
            keep.append(fn)
            functions.setdefault(id(fn), name)

    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    try:
        while frame is not None:
            variables = [(var, value) for var, value in list(frame.f_locals.items()) if isinstance(var, str)]
            variables = [(var, value) for var, value in variables if not var.startswith("_")]
            for var, value in variables:
                if isinstance(value, torch.Tensor):
                    add(var, value)
            for var, value in variables:
                if isinstance(value, torch.nn.Module):
                    for pname, param in value.named_parameters():
                        tensors.setdefault(id(param), f"{var}.{pname}")
                else:
                    for name, tensor in _contents(var, value):
                        add(name, tensor)
            frame = frame.f_back
    finally:
        del frame
    return tensors, functions


def flatten_outputs(outputs: tuple[object, ...]) -> list[torch.Tensor]:
    items: list[object] = []
    for item in outputs:
        if isinstance(item, (list, tuple)):
            items.extend(item)
        else:
            items.append(item)
    if not items:
        raise TypeError(
            bilingual(
                "没有传入要画的张量。",
                "No tensor was given, so there is no graph to build.",
                todo_zh="传入输出张量，例如 gradlab.draw(mse) 或 gradlab.build_graph(loss)。",
                todo_en="Pass the output tensor, e.g. gradlab.draw(mse) or gradlab.build_graph(loss).",
            )
        )
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"第 {i} 个参数应该是张量，但收到的是 {type(item).__name__}。",
                    f"Argument {i} must be a tensor, not {type(item).__name__}.",
                    todo_zh="传入 PyTorch 张量（例如损失 mse）；数字请先用 torch.tensor(...) 变成张量。",
                    todo_en="Pass PyTorch tensors (e.g. the loss mse); turn numbers into tensors with torch.tensor(...) first.",
                )
            )
        if item.grad_fn is None and not item.requires_grad:
            raise ValueError(
                bilingual(
                    f"第 {i} 个张量没有计算图：它不需要梯度（requires_grad=False），也没有 grad_fn，没有东西可画。",
                    f"Tensor {i} has no graph: it does not require grad (requires_grad=False) and has no grad_fn, "
                    "so there is nothing to draw.",
                    todo_zh="是不是忘了 requires_grad_()？在计算之前对参数调用 w.requires_grad_()，然后重新计算，再画图。"
                    "（在 torch.no_grad() 里算出的张量也没有计算图。）",
                    todo_en="Did you forget requires_grad_()? Call w.requires_grad_() on the parameter BEFORE the "
                    "computation, recompute, then draw again. (Tensors computed inside torch.no_grad() have no graph either.)",
                )
            )
    return items  # type: ignore[return-value]


def check_names(names: object) -> dict[int, str]:
    if names is None:
        return {}
    if not isinstance(names, dict):
        raise TypeError(
            bilingual(
                f"names 应该是字典 {{名字: 张量}}，但收到的是 {type(names).__name__}。",
                f"names must be a dict {{name: tensor}}, not {type(names).__name__}.",
                todo_zh='例如 names={"w": w, "x": x}。',
                todo_en='For example names={"w": w, "x": x}.',
            )
        )
    by_id: dict[int, str] = {}
    for key, value in names.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"names 的每一项都应该是 名字(str): 张量，但 {key!r} 对应的是 {type(value).__name__}。",
                    f"Each entry of names must be name (str): tensor, but {key!r} maps to {type(value).__name__}.",
                    todo_zh='例如 names={"w": w}。',
                    todo_en='For example names={"w": w}.',
                )
            )
        by_id.setdefault(id(value), key)
    return by_id

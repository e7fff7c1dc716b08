"""Arguments of build_graph and draw: the output tensors, explicit names, and the caller's variable names."""

from __future__ import annotations

import inspect

import torch

from gradlab._messages import bilingual

__all__ = ["caller_names", "check_names", "flatten_outputs"]

_HERE = __file__.removesuffix("_names.py")
_OUR_FILES = frozenset(_HERE + f for f in ("_names.py", "graph.py", "render.py"))


def caller_names(keep: list[object]) -> tuple[dict[int, str], dict[int, str]]:
    """Variable names of tensors (by ``id``) and of their grad_fns, innermost frame first.

    Only used inside one call, while the frames (and ``keep``, which holds the
    grad_fn objects) keep the objects alive, so the ``id`` keys cannot be
    reused. Names starting with ``_`` are skipped.
    """
    tensors: dict[int, str] = {}
    functions: dict[int, str] = {}
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename in _OUR_FILES:
        frame = frame.f_back
    try:
        while frame is not None:
            for var, value in list(frame.f_locals.items()):
                if not isinstance(var, str) or var.startswith("_"):
                    continue
                if isinstance(value, torch.Tensor):
                    tensors.setdefault(id(value), var)
                    fn = value.grad_fn
                    if fn is not None:
                        keep.append(fn)
                        functions.setdefault(id(fn), var)
                elif isinstance(value, torch.nn.Module):
                    for pname, param in value.named_parameters():
                        tensors.setdefault(id(param), f"{var}.{pname}")
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

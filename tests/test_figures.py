"""The committed figures are exactly what the code draws now (``make images``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlab.figures import FIGURES, build_all

SRC_IMAGES = Path(__file__).resolve().parents[1] / "src_images"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("figures")
    build_all(folder)
    return folder


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_committed_figure_is_up_to_date(rebuilt: Path, name: str):
    committed = SRC_IMAGES / name
    assert committed.exists(), f"{committed} is missing: run `make images`"
    assert committed.read_bytes() == (rebuilt / name).read_bytes(), f"{name} is stale: run `make images` and commit"


def test_every_image_in_src_images_is_built_by_code():
    committed = {p.name for p in SRC_IMAGES.iterdir() if p.suffix in {".png", ".svg", ".jpg", ".gif"}}
    assert committed <= set(FIGURES), f"images with no code that draws them: {committed - set(FIGURES)}"


def test_figures_have_no_chinese_text():
    for name in FIGURES:
        if name.endswith(".svg"):
            text = (SRC_IMAGES / name).read_text(encoding="utf-8")
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), name

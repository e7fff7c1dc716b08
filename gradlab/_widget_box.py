"""The explorers' and the stepper's box: the live widget, and a static picture for viewers without one.

An explorer or the stepper, displayed, gives one output with three parts: the live
widget (``application/vnd.jupyter.widget-view+json``), its text (``text/plain``) and
a static SVG picture (``image/svg+xml``). JupyterLab and Colab draw the live widget;
GitHub, nbviewer and the book site, which have no widget frontend, show the picture.

ipywidgets 8 displays a widget through ``_repr_mimebundle_``. ipywidgets 7 (Colab ships
7.7.1) has no such method: its ``Widget._ipython_display_`` publishes the live view and
the text itself, and IPython then never asks for the bundle. :class:`PictureBox`
declines that on ipywidgets 7 (``NotImplementedError``, which IPython takes as "ask
the formatters instead"), so both versions display the same bundle.

This module imports ipywidgets; ``import gradlab`` does not import it.
"""

from __future__ import annotations

import ipywidgets as widgets

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# ipywidgets 8 builds a widget's output here; ipywidgets 7 has no such method.
_OWN_BUNDLE = getattr(widgets.Widget, "_repr_mimebundle_", None)


def live_view(widget: widgets.Widget, **kwargs: object) -> dict[str, object]:
    """What ipywidgets itself displays for ``widget``: its text and its live view (none once closed).

    Example:
        >>> bundle = live_view(widgets.IntSlider())
        >>> sorted(bundle)
        ['application/vnd.jupyter.widget-view+json', 'text/plain']
        >>> sorted(bundle[WIDGET_VIEW])
        ['model_id', 'version_major', 'version_minor']
    """
    if _OWN_BUNDLE is not None:  # ipywidgets 8
        return dict(_OWN_BUNDLE(widget, **kwargs) or {})
    bundle: dict[str, object] = {"text/plain": repr(widget)}  # ipywidgets 7, as its _ipython_display_ builds it
    if widget._view_name is not None and widget.comm is not None:
        bundle[WIDGET_VIEW] = widget.get_view_spec()
    return bundle


class PictureBox(widgets.VBox):
    """A VBox displayed as its live view, its summary (``text/plain``) and a static SVG picture."""

    def static_svg(self) -> str:
        """The picture shown where there is no widget frontend (GitHub, nbviewer, the book site)."""
        raise NotImplementedError

    def _summary(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        bundle = live_view(self, **kwargs)
        bundle["text/plain"] = self._summary()
        bundle["image/svg+xml"] = self.static_svg()
        return bundle

    if _OWN_BUNDLE is None:  # ipywidgets 7

        def _ipython_display_(self, **kwargs: object) -> None:
            """Let IPython display :meth:`_repr_mimebundle_` (the live view with the picture) instead."""
            raise NotImplementedError

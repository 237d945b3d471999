"""The gradient colour scale (log10 of the gradient's magnitude) and its legend."""
import math

import numpy as np

# NOTE: below VANISHING a gradient no longer moves float32 weights in any useful way; above
# EXPLODING one SGD step overshoots. Both are conventions, so draw_graph takes them as
# arguments; these are only the defaults.
VANISHING = 1e-6
EXPLODING = 1e3

# A log10 scale in five bands: blue (vanishing) -> greens (healthy) -> orange -> red (exploding).
_NONFINITE = "#b15dd6"  # purple: NaN or Inf


def bands(vanishing=VANISHING, exploding=EXPLODING):
    """The colour bands as (upper bound of |grad|, colour, legend text), checked in order."""
    lo, hi = math.log10(vanishing), math.log10(exploding)
    # whole decades, so the legend reads cleanly: "small" is the lower third of the healthy
    # range, "large" its last decade before `exploding`
    a = 10.0 ** round(lo + (hi - lo) / 3)
    b = max(a, 10.0 ** (math.ceil(hi) - 1))
    return [
        (vanishing, "#6baed6", f"< {vanishing:g}  vanishing"),
        (a, "#c7e9c0", f"{vanishing:g} .. {a:g}  small"),
        (b, "#41ab5d", f"{a:g} .. {b:g}  normal"),
        (exploding, "#fdae6b", f"{b:g} .. {exploding:g}  large"),
        (math.inf, "#ef3b2c", f"> {exploding:g}  exploding"),
    ]


def magnitude(grad):
    """The size of a gradient used for colouring: the largest |element| (NaN if any is NaN)."""
    array = np.asarray(grad)
    if array.size == 0:
        return 0.0
    if not np.isfinite(array).all():
        return math.nan if np.isnan(array).any() else math.inf
    return float(np.max(np.abs(array)))


def grad_color(grad, vanishing=VANISHING, exploding=EXPLODING):
    """The fill colour for a gradient (an array or a number), on the log scale of `bands`.

    >>> grad_color(1e-9), grad_color(0.5), grad_color(1e6)
    ('#6baed6', '#41ab5d', '#ef3b2c')
    """
    m = magnitude(grad)
    if math.isnan(m):
        return _NONFINITE
    for upper, color, _ in bands(vanishing, exploding):
        if m < upper or (m == upper and upper != vanishing):  # bands are (lower, upper]
            return color
    return bands(vanishing, exploding)[-1][1]


def legend(vanishing=VANISHING, exploding=EXPLODING):
    """The legend's rows, top to bottom, as (colour, text): the bands, then NaN / Inf.

    >>> legend()[-1]
    ('#b15dd6', 'NaN / Inf')
    """
    return [(color, text) for _, color, text in bands(vanishing, exploding)] + [
        (_NONFINITE, "NaN / Inf")]


def legend_dot(vanishing=VANISHING, exploding=EXPLODING):
    """DOT lines for a legend: a cluster holding one HTML-table node (one row per band)."""
    rows = ['<TR><TD COLSPAN="2"><B>max |grad|</B></TD></TR>']
    for color, text in legend(vanishing, exploding):
        rows.append(f'<TR><TD BGCOLOR="{color}" WIDTH="18"> </TD>'
                    f'<TD ALIGN="LEFT">{_html(text)}</TD></TR>')
    table = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
             + "".join(rows) + "</TABLE>>")
    return [
        "subgraph cluster_legend {",
        '\tlabel="gradient scale" fontname="Helvetica" fontsize=10 style=dashed color=gray60',
        f"\tlegend [shape=plaintext fontsize=10 label={table}]",
        "}",
    ]


def _html(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

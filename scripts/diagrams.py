"""Draw the cell diagrams of the book as SVG files, in the notation of its equations.

    python scripts/diagrams.py OUT_DIR        (scripts/book.sh runs it before every build, into book/diagrams/)

One function per diagram; each returns a matplotlib figure, and ``main`` writes them all as ``<name>.svg``. A file is
rewritten only when its content changes, so that an unchanged diagram does not make Sphinx rewrite its pages.

Conventions, the same in every diagram:

- wires carry vectors of size H (or D for the input); an arrow points where a value goes; a dot joins wires,
  a crossing without a dot does not;
- a box is a layer with weights, labelled with its nonlinearity: a gate reads x_t and h_{t-1} through its own
  W_x., W_h. and b_. (the equations beside the figure give them);
- a circle is an elementwise operation: a product, a sum, or 1 - z;
- colours: the cell state c (blue), the hidden state h (red), the input x (green), peepholes (purple, dashed).

The drawings are black lines and mid-tone colours on a transparent background: book/_static/course.css inverts their
lightness in the dark theme, and the colours, turned back by 180 degrees of hue, stay what they were.
"""

import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the back end
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

INK = "#222222"
CELL = "#1f77b4"  # c: blue
HIDDEN = "#d62728"  # h: red
INPUT = "#2ca02c"  # x: green
PEEP = "#9467bd"  # peepholes: purple
BACKWARD = "#ff7f0e"  # the backward direction's state: orange
GATE_FILL = "#f2c14e"  # boxes: a light amber, kept pale by its alpha
LW = 1.8
FONT = 14
GAP = 0.14  # half the break a wire leaves where another one crosses it

plt.rcParams.update(
    {
        "svg.fonttype": "path",  # text as outlines: the file needs no font on the reader's machine
        "svg.hashsalt": "rnn-course",  # the same ids in every build
        "mathtext.fontset": "cm",  # Computer Modern, as in the equations next to the figures
        "font.size": FONT,
    }
)


# --- drawing vocabulary --------------------------------------------------------------------------------------------


def canvas(width, height, xlim, ylim):
    """A figure of ``width`` x ``height`` inches whose axes span ``xlim`` x ``ylim`` in drawing units."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    ax.axis("off")
    return fig, ax


def wire(ax, points, color=INK, arrow=True, ls="-", lw=LW, gaps=()):
    """A polyline through ``points``, with an arrow head at the end; ``gaps`` are points it passes under.

    A gap leaves a short break in this wire where another wire crosses it (the background is transparent, so
    the break is drawn, not painted over).
    """
    xs, ys = zip(*points, strict=True)
    segments = [list(zip(xs, ys, strict=True))]
    for gx, gy in gaps:  # split the segment that passes through (gx, gy)
        new = []
        for seg in segments:
            for a, b in zip(seg[:-1], seg[1:], strict=True):
                on_x = a[0] == b[0] == gx and min(a[1], b[1]) < gy < max(a[1], b[1])
                on_y = a[1] == b[1] == gy and min(a[0], b[0]) < gx < max(a[0], b[0])
                if on_x or on_y:
                    d = GAP
                    ux, uy = (b[0] - a[0], b[1] - a[1])
                    norm = (ux**2 + uy**2) ** 0.5
                    ux, uy = ux / norm, uy / norm
                    new.append([a, (gx - d * ux, gy - d * uy)])
                    new.append([(gx + d * ux, gy + d * uy), b])
                else:
                    new.append([a, b])
        segments = new
    for k, seg in enumerate(segments):
        sx, sy = zip(*seg, strict=True)
        ax.plot(sx, sy, color=color, lw=lw, ls=ls, solid_capstyle="butt")
        if arrow and k == len(segments) - 1:  # the head sits on the last edge
            head = FancyArrowPatch(
                seg[-2], seg[-1], arrowstyle="-|>", mutation_scale=14, color=color, lw=lw, shrinkA=0, shrinkB=0
            )
            head.set_linestyle(ls)
            ax.add_patch(head)


def dot(ax, xy, color=INK):
    """A junction: the wires that meet here carry the same value."""
    ax.add_patch(Circle(xy, 0.08, color=color, zorder=4))


def op(ax, xy, symbol, r=0.28):
    """An elementwise operation in a circle: ``r"\\odot"``, ``"+"`` or ``"1-"``."""
    ax.add_patch(Circle(xy, r, facecolor="none", edgecolor=INK, lw=LW, zorder=3))
    text = {"*": r"$\odot$", "+": r"$+$", "1-": r"$1{-}$"}[symbol]
    ax.text(*xy, text, ha="center", va="center", fontsize=FONT + 2 if symbol != "1-" else FONT - 2, zorder=4)


def box(ax, xy, text, w=1.2, h=0.7, fill=GATE_FILL):
    """A layer with weights: its nonlinearity applied to an affine map of what enters it."""
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.15",
            facecolor=fill,
            alpha=0.35,
            edgecolor="none",
            zorder=2,
        )
    )
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.15",
            facecolor="none",
            edgecolor=INK,
            lw=LW,
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT, zorder=4)


def pointwise(ax, xy, text, w=1.0, h=0.56):
    """An elementwise function with no weights (tanh of the cell state): a rounded box without fill."""
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.27",
            facecolor="none",
            edgecolor=INK,
            lw=LW,
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT - 1, zorder=4)


def label(ax, xy, text, color=INK, ha="center", va="center", size=FONT):
    ax.text(*xy, text, ha=ha, va=va, fontsize=size, color=color)


def frame(ax, x0, y0, x1, y1):
    """The boundary of one step of the cell."""
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.5",
            facecolor="none",
            edgecolor="#888888",
            lw=1.2,
            ls=(0, (4, 3)),
            zorder=1,
        )
    )


# --- the cells -----------------------------------------------------------------------------------------------------


def rnn_cell():
    """The vanilla RNN cell, folded (a loop) and unrolled over four steps (one copy per step, shared weights)."""
    fig, ax = canvas(11, 3.6, (-0.9, 13.8), (-0.75, 3.25))

    def cell(x, y):
        box(ax, (x, y), r"$\tanh$", w=1.2, h=0.8)

    # folded: input from below, state out to the right and back into the cell one step later
    cell(0.6, 1.3)
    wire(ax, [(0.6, -0.05), (0.6, 0.88)], INPUT)
    label(ax, (0.25, 0.45), "$W_x$", INPUT)
    label(ax, (0.6, -0.2), "$x_t$", INPUT, va="top")
    wire(ax, [(1.22, 1.3), (2.05, 1.3)], HIDDEN)
    label(ax, (2.15, 1.3), "$h_t$", HIDDEN, ha="left")
    dot(ax, (1.65, 1.3), HIDDEN)
    wire(ax, [(1.65, 1.3), (1.65, 2.35), (-0.45, 2.35), (-0.45, 1.3), (-0.03, 1.3)], HIDDEN)
    label(ax, (0.6, 2.6), "$W_h$, one step later", HIDDEN)
    label(ax, (3.3, 1.3), "unroll\n" + r"$\Longrightarrow$", size=FONT - 1)
    # unrolled: one copy of the cell per step, the same W_x, W_h and b in every copy
    label(ax, (4.05, 1.3), "$h_0$", HIDDEN)
    prev = (4.35, 1.3)
    for k in range(1, 5):
        x = 3.7 + 2.0 * k
        cell(x, 1.3)
        wire(ax, [prev, (x - 0.62, 1.3)], HIDDEN)
        label(ax, ((prev[0] + x - 0.62) / 2, 1.55), "$W_h$", HIDDEN, size=FONT - 2)
        wire(ax, [(x, -0.05), (x, 0.88)], INPUT)
        label(ax, (x - 0.32, 0.45), "$W_x$", INPUT, size=FONT - 2)
        label(ax, (x, -0.2), f"$x_{k}$", INPUT, va="top")
        wire(ax, [(x, 1.72), (x, 2.55)], HIDDEN)
        label(ax, (x, 2.62), f"$h_{k}$", HIDDEN, va="bottom")
        prev = (x + 0.62, 1.3)
    wire(ax, [prev, (prev[0] + 0.7, 1.3)], HIDDEN)
    label(ax, (prev[0] + 0.95, 1.3), r"$\cdots$", ha="left")
    return fig


def lstm_cell(peepholes=False):
    """One LSTM step (peepholes=False) or peephole LSTM step (True), in the notation of chapters 4 and 6."""
    fig, ax = canvas(9.6, 6.0, (-1.9, 13.7), (-1.3, 8.3))
    frame(ax, -0.5, 0.0, 12.0, 7.3)
    y_c, y_bus, y_gate = 6.2, 1.0, 3.0
    x_f, x_i, x_g, x_o, x_tanh = 2.0, 3.7, 5.6, 8.2, 9.9

    # the cell state: c_{t-1} -> (times f_t) -> (plus i_t g_t) -> c_t
    start_wire(ax, y_c, "$c_{t-1}$", CELL)
    wire(ax, [(-1.5, y_c), (x_f - 0.3, y_c)], CELL, lw=2.6)
    op(ax, (x_f, y_c), "*")
    wire(ax, [(x_f + 0.3, y_c), (x_g - 0.3, y_c)], CELL, lw=2.6)
    op(ax, (x_g, y_c), "+")
    wire(ax, [(x_g + 0.3, y_c), (12.9, y_c)], CELL, lw=2.6)
    label(ax, (13.0, y_c), "$c_t$", CELL, ha="left")

    # the inputs: h_{t-1} from the left, x_t from below, side by side on one bus that feeds every gate
    start_wire(ax, y_bus, "$h_{t-1}$", HIDDEN)
    wire(ax, [(-1.5, y_bus), (x_o, y_bus)], HIDDEN, arrow=False)
    wire(ax, [(0.9, -0.9), (0.9, y_bus)], INPUT, arrow=False)
    label(ax, (0.9, -1.0), "$x_t$", INPUT, va="top")
    dot(ax, (0.9, y_bus))
    for x in (x_f, x_i, x_g, x_o):
        dot(ax, (x, y_bus))
        wire(ax, [(x, y_bus), (x, y_gate - 0.37)])

    # the gates and the candidate (each box: its nonlinearity of W_x. x_t + W_h. h_{t-1} + b_.)
    for x, fn in ((x_f, r"$\sigma$"), (x_i, r"$\sigma$"), (x_g, r"$\tanh$"), (x_o, r"$\sigma$")):
        box(ax, (x, y_gate), fn)
    wire(ax, [(x_f, y_gate + 0.37), (x_f, y_c - 0.3)])
    label(ax, (x_f + 0.12, 4.3), "$f_t$", ha="left")
    y_ig = 4.75
    wire(ax, [(x_i, y_gate + 0.37), (x_i, y_ig), (x_g - 0.3, y_ig)])
    label(ax, (x_i + 0.12, 4.1), "$i_t$", ha="left")
    op(ax, (x_g, y_ig), "*")
    wire(ax, [(x_g, y_gate + 0.37), (x_g, y_ig - 0.3)])
    label(ax, (x_g + 0.12, 4.05), "$g_t$", ha="left")
    wire(ax, [(x_g, y_ig + 0.3), (x_g, y_c - 0.3)])

    # the output: h_t = o_t * tanh(c_t)
    dot(ax, (x_tanh, y_c), CELL)
    wire(ax, [(x_tanh, y_c), (x_tanh, 5.05)], CELL)
    pointwise(ax, (x_tanh, 4.75), r"$\tanh$")
    wire(ax, [(x_tanh, 4.47), (x_tanh, y_gate + 0.3)])
    op(ax, (x_tanh, y_gate), "*")
    wire(ax, [(x_o + 0.62, y_gate), (x_tanh - 0.3, y_gate)])
    label(ax, ((x_o + x_tanh) / 2 + 0.1, y_gate + 0.3), "$o_t$")
    y_h = 1.9
    wire(ax, [(x_tanh, y_gate - 0.3), (x_tanh, y_h), (12.9, y_h)], HIDDEN)
    label(ax, (13.0, y_h), "$h_t$", HIDDEN, ha="left")

    if peepholes:
        # p_f * c_{t-1} and p_i * c_{t-1} enter the forget and input gates; p_o * c_t enters the output gate
        x_p = 0.45
        dot(ax, (x_p, y_c), CELL)
        wire(
            ax,
            [(x_p, y_c), (x_p, 2.2), (x_i - 0.35, 2.2), (x_i - 0.35, y_gate - 0.37)],
            PEEP,
            ls="--",
            gaps=[(x_f, 2.2)],
        )
        dot(ax, (x_p, y_gate + 0.1), PEEP)
        wire(ax, [(x_p, y_gate + 0.1), (x_f - 0.62, y_gate + 0.1)], PEEP, ls="--")
        label(ax, (x_p + 0.12, 4.6), r"$p_f \odot c_{t-1}$", PEEP, ha="left", size=FONT - 2)
        label(ax, (2.8, 1.95), r"$p_i \odot c_{t-1}$", PEEP, va="top", size=FONT - 2)
        x_q = 7.4
        dot(ax, (x_q, y_c), CELL)
        wire(ax, [(x_q, y_c), (x_q, y_gate + 0.37)], PEEP, ls="--")
        label(ax, (x_q - 0.12, 4.1), r"$p_o \odot c_t$", PEEP, ha="right", size=FONT - 2)
    return fig


def gru_cell(reset_after=False):
    """One GRU step, with the reset gate applied before (textbook) or after (PyTorch, cuDNN) the product W_hn h."""
    fig, ax = canvas(9.6, 6.0, (-2.3, 13.7), (-1.3, 8.2))
    frame(ax, -0.5, 0.0, 12.0, 7.2)
    y_h, y_bus, y_gate = 6.4, 1.0, 3.0
    x_z, x_r, x_zh, x_add = 1.7, 3.3, 8.6, 10.6

    # the state: h_{t-1} -> (times z_t) -> (plus (1 - z_t) n_t) -> h_t
    start_wire(ax, y_h, "$h_{t-1}$", HIDDEN)
    wire(ax, [(-1.5, y_h), (x_zh - 0.3, y_h)], HIDDEN, lw=2.6)
    op(ax, (x_zh, y_h), "*")
    wire(ax, [(x_zh + 0.3, y_h), (x_add - 0.3, y_h)], HIDDEN, lw=2.6)
    op(ax, (x_add, y_h), "+")
    wire(ax, [(x_add + 0.3, y_h), (12.9, y_h)], HIDDEN, lw=2.6)
    label(ax, (13.0, y_h), "$h_t$", HIDDEN, ha="left")

    # the bus: h_{t-1} (taken off the state before the update) and x_t, side by side, feeding both gates
    x_tap = 0.0
    dot(ax, (x_tap, y_h), HIDDEN)
    wire(ax, [(x_tap, y_h), (x_tap, y_bus), (x_r, y_bus)], HIDDEN, arrow=False)
    wire(ax, [(0.8, -0.9), (0.8, y_bus)], INPUT, arrow=False)
    label(ax, (0.8, -1.0), "$x_t$", INPUT, va="top")
    dot(ax, (0.8, y_bus))
    for x in (x_z, x_r):
        dot(ax, (x, y_bus))
        wire(ax, [(x, y_bus), (x, y_gate - 0.37)])
        box(ax, (x, y_gate), r"$\sigma$")

    # the update gate: z_t keeps the old state, 1 - z_t takes the candidate
    y_z, y_rec = 5.5, 4.5
    wire(ax, [(x_z, y_gate + 0.37), (x_z, y_z), (x_zh, y_z), (x_zh, y_h - 0.3)])
    label(ax, (x_z - 0.12, 3.9), "$z_t$", ha="right")
    dot(ax, (x_zh, y_z))
    x_one = 9.6
    wire(ax, [(x_zh, y_z), (x_one - 0.3, y_z)])
    op(ax, (x_one, y_z), "1-")
    wire(ax, [(x_one + 0.3, y_z), (x_add - 0.3, y_z)])
    op(ax, (x_add, y_z), "*")
    wire(ax, [(x_add, y_z + 0.3), (x_add, y_h - 0.3)])

    # the candidate n_t: W_xn x_t + b_n plus the recurrent term, through tanh
    x_sum, x_n, x_rr = 7.2, 8.9, 5.0
    dot(ax, (0.8, 0.4), INPUT)
    wire(ax, [(0.8, 0.4), (x_sum, 0.4), (x_sum, 1.9)], INPUT)
    box(ax, (x_sum, 2.2), r"$W_{xn} x_t + b_n$", w=2.2, h=0.6, fill="none")
    wire(ax, [(x_sum, 2.5), (x_sum, y_rec - 0.3)])
    op(ax, (x_sum, y_rec), "+")
    wire(ax, [(x_sum + 0.3, y_rec), (x_n - 0.62, y_rec)])
    box(ax, (x_n, y_rec), r"$\tanh$")
    wire(ax, [(x_n + 0.62, y_rec), (x_add, y_rec), (x_add, y_z - 0.3)])
    label(ax, (9.85, y_rec + 0.28), "$n_t$")
    # the reset gate r_t, into the recurrent term from below
    wire(ax, [(x_r, y_gate + 0.37), (x_r, 3.75), (x_rr, 3.75), (x_rr, y_rec - 0.3)])
    label(ax, (4.2, 3.98), "$r_t$")
    op(ax, (x_rr, y_rec), "*")
    dot(ax, (x_tap, y_rec), HIDDEN)
    if not reset_after:  # n = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n): the gate before the product
        wire(ax, [(x_tap, y_rec), (x_rr - 0.3, y_rec)], HIDDEN, gaps=[(x_z, y_rec)])
        wire(ax, [(x_rr + 0.3, y_rec), (5.6, y_rec)])
        box(ax, (6.1, y_rec), r"$W_{hn}$", w=0.9, h=0.6, fill="none")
        wire(ax, [(6.6, y_rec), (x_sum - 0.3, y_rec)])
    else:  # n = tanh(W_xn x_t + b_n + r_t * (W_hn h_{t-1} + b_hn)): the gate after the product
        wire(ax, [(x_tap, y_rec), (2.0, y_rec)], HIDDEN, gaps=[(x_z, y_rec)])
        box(ax, (3.3, y_rec), r"$W_{hn} h_{t-1} + b_{hn}$", w=2.5, h=0.6, fill="none")
        wire(ax, [(4.6, y_rec), (x_rr - 0.3, y_rec)])
        wire(ax, [(x_rr + 0.3, y_rec), (x_sum - 0.3, y_rec)])
    return fig


def start_wire(ax, y, text, color):
    """The label of a state entering from the left, above the start of its wire."""
    label(ax, (-1.5, y + 0.38), text, color, ha="left")


def bidirectional_layer(T=4):
    """A bidirectional layer unrolled over T steps: two cells with their own weights, merged at every step."""
    fig, ax = canvas(10.5, 5.0, (-1.7, 14.4), (-1.0, 7.3))
    y_f, y_b, y_m, w = 2.0, 3.7, 5.5, 1.25
    xs = [1.8 + 2.6 * t for t in range(T)]  # the steps t = 1, ..., T
    fwd, bwd = HIDDEN, BACKWARD
    x_end = xs[-1] + 2.2

    for t, x in enumerate(xs, start=1):
        xf, xb = x - 0.55, x + 0.55
        box(ax, (xf, y_f), r"$\mathrm{cell}_{\rightarrow}$", w=w, h=0.7)
        box(ax, (xb, y_b), r"$\mathrm{cell}_{\leftarrow}$", w=w, h=0.7)
        # the input goes to both directions
        wire(ax, [(x, -0.45), (x, 0.9)], INPUT, arrow=False)
        label(ax, (x, -0.55), f"$x_{t}$", INPUT, va="top")
        dot(ax, (x, 0.9), INPUT)
        wire(ax, [(x, 0.9), (xf, 0.9), (xf, y_f - 0.35)], INPUT)
        wire(ax, [(x, 0.9), (xb, 0.9), (xb, y_b - 0.35)], INPUT, gaps=[(xb, y_f)])
        # the two states meet only in the merge
        wire(ax, [(xf, y_f + 0.35), (xf, y_m - 0.28)], fwd, gaps=[(xf, y_b)])
        wire(ax, [(xb, y_b + 0.35), (xb, y_m - 0.28)], bwd)
        pointwise(ax, (x, y_m), "concat", w=1.9, h=0.56)
        wire(ax, [(x, y_m + 0.28), (x, y_m + 0.95)])
        label(ax, (x, y_m + 1.05), f"$y_{t}$", va="bottom")
        label(ax, (xf - 0.1, 4.75), rf"$\overrightarrow{{h}}_{t}$", fwd, ha="right", size=FONT - 1)
        label(ax, (xb + 0.1, 4.75), rf"$\overleftarrow{{h}}_{t}$", bwd, ha="left", size=FONT - 1)
    # the forward chain, left to right, from a zero state; its final state leaves on the right
    label(ax, (-1.5, y_f), r"$\overrightarrow{h}_0 = 0$", fwd, ha="left", size=FONT - 1)
    ends = [0.2] + [x - 0.55 + w / 2 for x in xs]
    starts = [x - 0.55 - w / 2 for x in xs] + [x_end]
    for a, b in zip(ends, starts, strict=True):
        wire(ax, [(a, y_f), (b, y_f)], fwd)
    # the backward chain, right to left, from a zero state; its final state leaves on the left (at t = 1)
    label(ax, (14.3, y_b), r"$\overleftarrow{h}_{T+1} = 0$", bwd, ha="right", size=FONT - 1)
    ends = [x + 0.55 - w / 2 for x in xs] + [14.3 - 2.0]
    starts = [-0.6] + [x + 0.55 + w / 2 for x in xs]
    for a, b in zip(ends, starts, strict=True):
        wire(ax, [(a, y_b), (b, y_b)], bwd)
    return fig


# --- files ---------------------------------------------------------------------------------------------------------

DIAGRAMS = {
    "rnn_cell": rnn_cell,
    "lstm_cell": lstm_cell,
    "peephole_cell": lambda: lstm_cell(peepholes=True),
    "gru_cell": gru_cell,
    "gru_cell_reset_after": lambda: gru_cell(reset_after=True),
    "bidirectional_layer": bidirectional_layer,
}


def svg_of(fig):
    """The SVG text of a figure, transparent, with no date in it (the same drawing gives the same bytes)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", transparent=True, metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in DIAGRAMS.items():
        target = out / f"{name}.svg"
        svg = svg_of(draw())
        if not target.is_file() or target.read_text(encoding="utf-8") != svg:
            target.write_text(svg, encoding="utf-8")
            print(f"diagrams: wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

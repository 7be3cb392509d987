"""Where the book explains each graded function: a page of the built book and a section's anchor.

The class report (:mod:`grader.classreport`) links every recognized mistake of a function to its
section, so that the instructor can point the class at it.  A path is relative to the root of the
built site (``_build/html``); the anchor is the ``id`` Sphinx gives the section (its heading, in
lower case, words joined by ``-``).  ``tests/test_site.py`` checks that every one exists.
"""

_CH = {
    "01": "book/01_rnn_cell.html",
    "02": "book/02_bptt.html",
    "03": "book/03_vanishing_exploding.html",
    "04": "book/04_lstm.html",
    "05": "book/05_gru.html",
    "06": "book/06_peephole.html",
    "07": "book/07_bidirectional.html",
    "08": "book/08_lstm_gates.html",
    "09": "book/09_bilstm.html",
    "10": "book/10_bigru.html",
}

_SECTIONS = {
    "rnn.rnn_step_forward": ("01", "one-step-the-equation"),
    "rnn.rnn_forward": ("01", "unrolling-in-time"),
    "rnn.output_layer": ("01", "one-step-the-equation"),
    "rnn.rnn_step_backward": ("02", "two-derivatives-of-the-loss-with-respect-to-a-state"),
    "rnn.rnn_backward": ("02", "the-gradients-of-the-shared-weights"),
    "tbptt.truncated_bptt": ("02", "truncated-bptt"),
    "rnn.jacobian_norms": ("03", "measuring-the-jacobian-norms"),
    "clip.clip_grad_norm": ("03", "exploding-gradients-clipping"),
    "clip.clip_grad_value": ("03", "exploding-gradients-clipping"),
    "lstm.input_gate": ("08", "the-input-gate"),
    "lstm.forget_gate": ("08", "the-forget-gate"),
    "lstm.candidate": ("08", "the-candidate"),
    "lstm.output_gate": ("08", "the-output-gate"),
    "lstm.cell_state": ("08", "the-two-state-updates"),
    "lstm.hidden_state": ("08", "the-two-state-updates"),
    "lstm.lstm_step_forward": ("04", "the-equations"),
    "lstm.lstm_forward": ("04", "the-equations"),
    "gru.reset_gate": ("05", "the-equations"),
    "gru.update_gate": ("05", "the-equations"),
    "gru.candidate": ("05", "the-equations"),
    "gru.hidden_state": ("05", "the-equations"),
    "gru.gru_step_forward": ("05", "the-equations"),
    "peephole.input_gate": ("06", "the-equations"),
    "peephole.forget_gate": ("06", "the-equations"),
    "peephole.output_gate": ("06", "the-equations"),
    "peephole.peephole_step_forward": ("06", "the-equations"),
    "lstm.lstm_step_backward": ("08", "the-backward-pass-one-equation-at-a-time"),
    "lstm.lstm_backward": ("08", "the-backward-pass-one-equation-at-a-time"),
    "masks.reverse_sequences": ("07", "padding-reverse-each-sequence-within-its-own-length"),
    "bidirectional.bidirectional_forward": ("07", "the-equations"),
    "losses.softmax_cross_entropy": ("09", "the-equations"),
    "models.bi_tagger_logits": ("09", "the-equations"),
    "models.bi_tagger_loss": ("09", "the-equations"),
    "gru.gru_forward": ("10", "the-equations"),
    "gru.gru_step_backward": ("05", "the-backward-pass"),
    "gru.gru_backward": ("05", "the-backward-pass"),
    "bidirectional.bidirectional_backward": ("07", "the-backward-pass"),
}

SECTIONS = {key: f"{_CH[chapter]}#{anchor}" for key, (chapter, anchor) in _SECTIONS.items()}


def section_of(key):
    """``"book/02_bptt.html#truncated-bptt"``: the section of the built book that explains ``key``; "" if none."""
    return SECTIONS.get(key, "")

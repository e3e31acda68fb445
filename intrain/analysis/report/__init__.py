"""The HTML report: a headline (τ heatmap beside the paper's values, one verdict per benchmark),
then every study table, figures with captions, a cost table and provenance, each a section of a
table of contents.

Self-contained and offline: tables sort (click a header) and filter (a box above long tables)
with a few lines of embedded JavaScript; numbers are rounded for reading, full precision stays
in the CSVs beside the page. The layout fits 1280 px and 800 px wide windows; ``intrain
render-check`` (`intrain.analysis.render`) checks that, and that every figure's text is
legible there, in headless Chromium.

One module per job: `tables` (formatting), `verdicts`
(verdicts, heatmap, the judging thresholds `JUDGE`),
`figures`, `sections` (notes, smoke settings, copies, cost), `page`.
"""

from intrain.analysis.report.figures import (
    DPI,
    ablation_bars,
    batch_curve,
    benchmark_label,
    read_text_record,
    regret_curves,
    save_figure,
    scatter_figure,
    search_curves,
    search_log_path,
    stability_plot,
    tau_bars,
    text_record,
)
from intrain.analysis.report.page import _section, build_report, figure, require_columns, sha256_file
from intrain.analysis.report.sections import SMOKE, STUDIES, cost_table, isomorphic_copies, smoke_note
from intrain.analysis.report.tables import format_value, header_label, html_table, key_columns_first, signed
from intrain.analysis.report.verdicts import (
    JUDGE,
    OWN_PROXY,
    WIDE_CI,
    JudgeRule,
    Verdict,
    headline,
    headline_html,
    heatmap_table,
    reproduction,
    too_few,
)

__all__ = [
    "DPI",
    "JUDGE",
    "OWN_PROXY",
    "SMOKE",
    "STUDIES",
    "WIDE_CI",
    "JudgeRule",
    "Verdict",
    "_section",
    "ablation_bars",
    "batch_curve",
    "benchmark_label",
    "build_report",
    "cost_table",
    "figure",
    "format_value",
    "header_label",
    "headline",
    "headline_html",
    "heatmap_table",
    "html_table",
    "isomorphic_copies",
    "key_columns_first",
    "read_text_record",
    "regret_curves",
    "reproduction",
    "require_columns",
    "save_figure",
    "scatter_figure",
    "search_curves",
    "search_log_path",
    "sha256_file",
    "signed",
    "smoke_note",
    "stability_plot",
    "tau_bars",
    "text_record",
    "too_few",
]

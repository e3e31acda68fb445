"""Commands that analyse stored artifacts: correlations, studies, the report (no torch)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from intrain.cli.common import pairs, write_csv
from intrain.core.errors import InputError
from intrain.core.sinks import read_csv

log = logging.getLogger("intrain")


def cmd_correlate(args: argparse.Namespace) -> None:
    from intrain.analysis.correlate import correlation_table

    table = correlation_table(
        args.scores, args.groundtruth, n_boot=args.n_boot, metric=args.metric, workers=args.workers
    )
    write_csv(table, args.out)
    cols = ["space", "dataset", "proxy", "n", "n_excluded", "kendall", "spearman", "paper_kendall"]
    print(table[[c for c in cols if c in table.columns]].to_string(index=False, float_format="%.3f"))
    if args.pairs:
        from intrain.analysis.correlate import pair_table

        pairs = []
        for spec in args.pairs:
            a, sep, b = spec.partition(":")
            if not sep or not a or not b:
                raise InputError(f"--pairs takes A:B (two proxy labels), got {spec!r}")
            pairs.append((a, b))
        diffs = pair_table(args.scores, args.groundtruth, pairs, n_boot=args.n_boot, metric=args.metric)
        if args.pairs_out:
            write_csv(diffs, args.pairs_out)
        print()
        print(
            diffs[
                [
                    "space",
                    "dataset",
                    "a",
                    "b",
                    "n",
                    "tau_a",
                    "tau_b",
                    "delta",
                    "lo",
                    "hi",
                    "rho_delta",
                    "rho_lo",
                    "rho_hi",
                ]
            ].to_string(index=False, float_format="%.3f")
        )


def cmd_protocol_table(args: argparse.Namespace) -> None:
    from intrain.analysis.claims import claims_markdown, ranking_claims
    from intrain.analysis.comparison import comparison_table, render_markdown

    table = comparison_table(args.scores, args.groundtruth, n_boot=args.n_boot, metric=args.metric)
    if table.empty:
        raise InputError(
            "no proxy is scored both under the default settings and under a variant "
            "(protocol: reference, layers: relu), and none has a published value"
        )
    write_csv(table, args.out)
    text = render_markdown(table)
    claims = ranking_claims(table)
    if args.claims:
        write_csv(claims, args.claims)
    if not claims.empty:
        text += "\n" + claims_markdown(claims, table)
    if args.markdown:
        from pathlib import Path

        Path(args.markdown).write_text(text)
    print(text)


def cmd_report(args: argparse.Namespace) -> None:
    from intrain.analysis.report import build_report

    studies = pairs(args.study, "--study", "NAME=CSV")
    config = json.loads(args.config_json) if args.config_json else None
    build_report(args.correlations, args.scores, args.groundtruth, args.out, studies=studies, config=config)
    log.info("report -> %s", args.out)


def cmd_search_regret(args: argparse.Namespace) -> None:
    """What batching costs (`intrain.search.regret`): regret against T per round size b, paired by seed."""
    from intrain.search.regret import (
        DEFAULT_T,
        RegretSpace,
        check_study_size,
        paired_table,
        regret_runs,
        table_markdown,
    )

    if 1 not in args.batches or min(args.batches) < 1:
        raise InputError(f"--batches {args.batches}: give round sizes >= 1 including 1 (differences are to b = 1)")
    if args.n_boot < 0:
        raise InputError(f"--n-boot {args.n_boot}: bootstrap resamples are >= 0 (0: no intervals)")
    check_study_size(args.seeds, args.t_max, args.T or ())  # --T 0, --T -3, --T past --t-max: refused
    ts = sorted({t for t in (*DEFAULT_T, *(args.T or ())) if t <= args.t_max} | {args.t_max})
    space = RegretSpace.load(args.scores, args.groundtruth, args.dataset, args.proxy, args.metric, option="--scores")
    ceiling = space.ceiling()  # no finite score: refused before the searches, not after
    runs = regret_runs(space, sorted(set(args.batches)), args.seeds, ts, args.k)
    table = paired_table(runs, ceiling, n_boot=args.n_boot)
    write_csv(table, args.out)
    if args.runs:
        write_csv(runs, args.runs)
    print(table_markdown(table))


def cmd_render_check(args: argparse.Namespace) -> None:
    from intrain.analysis.render import RenderError, render_check

    verdict = render_check(args.path, screenshot=args.screenshot, unrecorded=args.unrecorded_images)
    print(json.dumps(verdict))
    if verdict["status"] != "ok":
        raise RenderError(f"{args.path}: " + "; ".join(verdict["problems"]))


def cmd_study(args: argparse.Namespace) -> None:
    from intrain.analysis import studies

    if args.study == "ablation":
        table = studies.ablation(args.inputs, args.groundtruth, n_boot=args.n_boot)
    elif args.study == "topk":
        table = studies.topk(args.inputs, args.groundtruth)
    elif args.study == "stability":
        table = studies.stability(read_csv(args.correlations))
    elif args.study == "batch-size":
        table = studies.batch_size(args.inputs, args.groundtruth)
    else:
        table = studies.seed_variance(args.inputs, args.groundtruth)
    write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.3f"))


def cmd_headline(args: argparse.Namespace) -> None:
    """The report's headline as text: whether InTrain reproduces each benchmark's published τ."""
    from intrain.analysis.report import headline

    corr = read_csv(args.correlations)
    for verdict in headline(corr):
        print(f"  {verdict['sentence']}")
    if args.report:
        print(f"Report: {Path(args.report).resolve()}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this group's subcommands on the top-level parser."""
    p = sub.add_parser("correlate", help="rank correlations of merged scores with ground truth")
    p.add_argument("scores", nargs="+")
    p.add_argument(
        "--groundtruth",
        required=True,
        action="append",
        metavar="[SPACE=]CSV",
        help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces",
    )
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--metric", choices=["test", "valid"], default="test")
    p.add_argument("--workers", type=int, default=1, help="processes for the bootstrap (same table for any number)")
    p.add_argument(
        "--pairs",
        nargs="+",
        default=None,
        metavar="A:B",
        help="also a paired bootstrap of tau(A) - tau(B) over the same architectures",
    )
    p.add_argument("--pairs-out", default=None, help="CSV for the --pairs table")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_correlate)

    p = sub.add_parser("protocol-table", help="uniform vs reference (and other variants) vs published, paired CIs")
    p.add_argument("scores", nargs="+", help="merged artifacts: the default-settings ones and their variants")
    p.add_argument(
        "--groundtruth",
        required=True,
        action="append",
        metavar="[SPACE=]CSV",
        help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces",
    )
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--metric", choices=["test", "valid"], default="test")
    p.add_argument("--out", required=True, help="the table as CSV")
    p.add_argument("--markdown", default=None, help="also write it as Markdown here (with the ranking claims)")
    p.add_argument(
        "--claims",
        default=None,
        help="also write the paper's ranking claims and their verdicts (intrain.analysis.claims) as CSV here",
    )
    p.set_defaults(func=cmd_protocol_table)

    p = sub.add_parser("report", help="HTML report with tables and plots")
    p.add_argument("scores", nargs="+")
    p.add_argument("--correlations", required=True)
    p.add_argument(
        "--groundtruth",
        required=True,
        action="append",
        metavar="[SPACE=]CSV",
        help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces",
    )
    p.add_argument("--study", action="append", metavar="NAME=CSV", help="a study table to include")
    p.add_argument("--config-json", default=None, help="the workflow config, for the provenance block")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "search-regret",
        help="regret of InTrain-NAS on NB201 against T per round size b, paired by seed (a full-space lookup)",
        description="Every search looks its scores up in a score artifact of the whole NB201 space "
        "(search.scores_from): regret = best accuracy in the space - accuracy of the search's pick, per "
        "(b, T), with the paired difference to b = 1, random search with as many evaluations and the proxy "
        "ceiling (intrain.search.regret).",
    )
    p.add_argument("--scores", required=True, help="a score artifact of the whole NB201 space")
    p.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--metric", choices=["test", "valid"], default="test")
    p.add_argument("--proxy", default="intrain")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64], help="round sizes b (with 1)")
    p.add_argument("--seeds", type=int, default=50, help="seeds 0..n-1, each run with every b")
    p.add_argument("--t-max", type=int, default=1000, help="the longest T (NB201's search.nb201_iterations)")
    p.add_argument("--T", type=int, nargs="+", default=None, help="more T values to report (up to --t-max)")
    p.add_argument("--k", type=int, default=10, help="parents from the top k of the history")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--runs", default=None, help="also every (b, seed, T) search's pick as CSV")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search_regret)

    p = sub.add_parser(
        "render-check",
        help="render a page in headless Chromium at 1280 and 800 px and check its layout and figures",
        description="Checks horizontal overflow, broken images, empty tables and, for every image, "
        "that its smallest text is at least 10 px at its displayed width, that no texts overlap or are "
        "cut off (from the text record intrain's figures store in the PNG) and that it has a caption.",
    )
    p.add_argument("path")
    p.add_argument(
        "--unrecorded-images",
        choices=["fail", "skip"],
        default="fail",
        help="an image without intrain's text record (a screenshot, a logo): fail (default, the report's "
        "figures all have one) or skip its text checks (a docs site); its caption is required either way",
    )
    p.add_argument(
        "--screenshot",
        default=None,
        help="also save full-page PNG screenshots: page.png -> page-1280.png, page-800.png",
    )
    p.set_defaults(func=cmd_render_check)

    p = sub.add_parser("study", help="the paper's studies from stored artifacts")
    p.add_argument("study", choices=["ablation", "topk", "stability", "batch-size", "seeds"])
    p.add_argument("inputs", nargs="*", help="merged score artifacts (or study runs)")
    p.add_argument(
        "--groundtruth",
        action="append",
        default=None,
        metavar="[SPACE=]CSV",
        help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces",
    )
    p.add_argument("--correlations", default=None, help="correlations.csv (stability)")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("headline", help="print whether InTrain reproduces each benchmark (from correlations.csv)")
    p.add_argument("--correlations", required=True)
    p.add_argument("--report", default=None, help="the report page, to print where it is")
    p.set_defaults(func=cmd_headline)

"""Workflow shell commands: no config value is ever interpreted by a shell.

Every substitution into a rule's ``shell:`` command is quoted with Snakemake's ``:q`` (a list:
each element on its own), optional arguments are lists (an empty one adds nothing), and the
``onsuccess`` handler runs the CLI from an argument list. The scan below reads the rule files as
text, so a new rule with an unquoted placeholder fails here before it is ever run; the slow test
runs the tiny workflow with a results folder and a mirror path full of shell syntax.
"""

from __future__ import annotations

import ast
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from .conftest import REPO

RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def shell_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) of every ``shell:`` directive: the string literals indented below it,
    concatenated as Python does."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() != "shell:":
            continue
        indent = len(line) - len(line.lstrip())
        body = []
        for nxt in lines[i + 1 :]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        out.append((i + 1, ast.literal_eval("(\n" + "\n".join(body) + "\n)")))
    return out


def unquoted(command: str) -> list[str]:
    """The placeholders of ``command`` without ``:q`` (``{{``/``}}`` are literal braces).

    Every placeholder is quoted, numbers such as ``{threads}`` too: quoting a number changes
    nothing, and one rule for all leaves nothing to judge case by case.
    """
    return [
        f"{{{field}{':' + spec if spec else ''}}}"
        for _, field, spec, _ in string.Formatter().parse(command)
        if field is not None and not (spec or "").endswith("q")
    ]


def test_the_scan_finds_an_unquoted_placeholder():
    sample = 'rule x:\n    shell:\n        "a {input:q} {{literal}}"\n        " {output} > {log:q}"\n'
    [(line, cmd)] = shell_commands(sample)
    assert line == 2 and cmd == "a {input:q} {{literal}} {output} > {log:q}"
    assert unquoted(cmd) == ["{output}"]


def test_every_shell_placeholder_is_quoted():
    found, bad = 0, []
    for path in RULE_FILES:
        for line, cmd in shell_commands(path.read_text()):
            found += 1
            bad += [f"{path.relative_to(REPO)}:{line}: {field}" for field in unquoted(cmd)]
    assert found >= 20, f"only {found} shell commands found: the scan no longer reads the rule files"
    assert not bad, "placeholders without :q (write {x:q}; lists are quoted element by element):\n" + "\n".join(bad)


def test_no_shell_call_outside_the_rules_and_no_hand_made_quoting():
    """``shell(...)`` in run/onsuccess/onerror blocks formats config strings for a shell; the
    rules' params are lists, so ``shlex.quote`` (which ``:q`` would quote again) has no place."""
    for path in RULE_FILES:
        text = path.read_text()
        assert not re.search(r"(?<![\w.])shell\(", text), f"{path.name}: call the CLI with an argument list"
        assert "shlex" not in text, f"{path.name}: use a list param and {{params.x:q}} instead of shlex.quote"


MARKERS = ("PWNED_sub", "PWNED_tick", "PWNED_semi", "PWNED_amp", "PWNED_mirror")


def _planted(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.name in MARKERS]


@pytest.mark.slow
def test_tiny_workflow_with_shell_syntax_in_results_and_mirror_runs_nothing(tmp_path, mirror):
    hostile = "we ird \"dq\" 'sq' $(touch PWNED_sub) `touch PWNED_tick`; touch PWNED_semi & touch PWNED_amp"
    results = tmp_path / hostile / "r"
    fake_mirror = tmp_path / "mirror $(touch PWNED_mirror);x"
    fake_mirror.symlink_to(mirror, target_is_directory=True)
    work, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for d in (work, home, tmp):
        d.mkdir()
    overlay = tmp_path / "quick.yaml"
    overlay.write_text("studies: {enabled: false}\n")
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    env.pop("INTRAIN_MIRROR", None)  # the config's mirror value is the one under test
    # run from an empty folder so that a command run by a shell would leave its file here
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            REPO / "Snakefile",
            "--cores",
            "2",
            "--configfile",
            REPO / "config" / "config.yaml",
            REPO / "config" / "tiny.yaml",
            overlay,
            "--config",
            f"results={results}",
            f"mirror={fake_mirror}",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not _planted(tmp_path), "a shell ran a command taken from the config"
    assert not [m for m in MARKERS if (REPO / m).exists() or (Path.home() / m).exists()]
    corr = pd.read_csv(results / "correlations.csv")  # the run wrote where it was told, literally
    assert set(corr.dataset) == {"cifar10", "ImageNet16-120"} and (results / "report" / "index.html").exists()
    assert "InTrain's τ" in proc.stdout + proc.stderr  # the onsuccess headline ran (as a list)


def test_an_overlay_with_yaml_aliases_is_refused_before_any_job(tmp_path):
    """Snakemake's own YAML loader keeps aliases (a 'billion laughs' overlay is small on disk and
    explodes when the config is walked): the overlays are re-read with the bounded loader first."""
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    rows += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefg", "bcdefgh")]
    overlay = tmp_path / "laughs.yaml"
    overlay.write_text("\n".join(rows) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            "config/tiny.yaml",
            str(overlay),
            "--config",
            f"results={tmp_path / 'r'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "INTRAIN_MIRROR": os.environ.get("INTRAIN_MIRROR", "")},
    )
    assert proc.returncode != 0
    assert "YAML aliases (*name) are not read in config files" in proc.stdout + proc.stderr
    assert str(overlay) in proc.stdout + proc.stderr
    assert not (tmp_path / "r").exists()

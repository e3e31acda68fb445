"""Every fenced Python and shell block in README.md and docs/ runs, in a copy of the repository
that holds the tiny run's outputs; a block that fails fails the suite.

Why a runner of our own (not pytest-markdown-docs or mktestdocs): both run Python only, and most
of the docs' examples are shell commands (`intrain inspect results/...`, `intrain export ...`)
whose meaning depends on the run's ``results/``; both would also need a per-block marker in
pages that read as a notebook (score-your-model.md reuses ``net`` from its first block).

What is run, and how:

- **Blocks**: fences whose language is ``python``/``py``/``pycon`` or ``bash``/``sh``/``shell``/
  ``console``, also indented ones inside lists. ``text``, ``yaml``, ``toml`` and unlabelled
  fences show output or files and are not run.
- **Skips**: an HTML comment ``<!-- skip: <reason> -->`` on the last non-blank line before the
  fence skips that block; the reason (required) is what pytest reports (``pytest -rs``). Long
  runs (the first run, the paper's runs, Slurm), commands that change the environment (setup,
  ``pip install``) and the suite itself carry one; everything else runs.
- **Python**: the blocks of one page run in order in one interpreter and share one namespace, as a
  reader reads them (a later block may use ``net`` from an earlier one). A block of ``>>>`` lines
  is a doctest (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``): its printed output must match. A block
  that is only a ``--8<-- "path"`` include (pymdownx.snippets) imports that file as the module it is
  (``examples/plugin/src`` is on the path), so the page runs the code it shows.
- **Shell**: each block runs as ``bash -euo pipefail``; a ``console`` block runs its ``$ ``
  lines. Blocks of one page run in order in one working directory, so a file one block writes is
  there for the next.
- **Files**: a fence with ``title="path"`` whose body is not an include (a config overlay the
  page asks you to write) is written to that path of the working copy before the page's shell
  blocks run, so a later command can use it.
- **Environment** (what the pages assume): the working directory is a copy of the repository
  (links to its files) whose ``results/`` is the tiny run's (``config/tiny.yaml`` with the ``zc``
  set cut to three proxies, studies and search off: about a minute on 2 cores), ``.venv/bin`` is
  the interpreter running the tests, ``../shared/benchmarks`` and ``INTRAIN_MIRROR`` are the
  benchmark mirror, and ``examples/plugin/src`` is on ``PYTHONPATH``.

Without the mirror the shell blocks and the Python blocks that read ``results/`` are skipped with
the conftest's message (they need the tiny run); the others still run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO, mirror_missing

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
PYTHON = {"python", "py", "pycon"}
SHELL = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
SKIP = re.compile(r"^\s*<!--\s*skip:\s*(?P<reason>.*?)\s*-->\s*$")
TITLE = re.compile(r'title="(?P<path>[^"]+)"')
SNIPPET = re.compile(r'^--8<--\s+"(?P<path>[^"]+)"\s*$')
#: Names of the repository the working copy links to (everything but outputs and environments).
NOT_LINKED = {".git", ".venv", ".venv-models", "results", "site", ".snakemake", "__pycache__"}


def files_of(page: Path) -> dict[str, str]:
    """``title="path"`` fences of a page that are not includes: path -> the text to write there."""
    out: dict[str, str] = {}
    lines = page.read_text().splitlines()
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        title = TITLE.search(m["info"]) if m and m["info"].strip() else None
        if m is None or title is None:
            continue
        body = []
        for nxt in lines[i + 1 :]:
            if FENCE.match(nxt) and nxt.strip().startswith(m["fence"]):
                break
            body.append(nxt[len(m["indent"]) :])
        if not (len(body) == 1 and SNIPPET.match(body[0].strip())):
            out[title["path"]] = "\n".join(body) + "\n"
    return out


def _write_into(work: Path, rel: str, text: str) -> None:
    """Write ``rel`` inside the working copy, turning linked repository folders on its way into real
    folders of links, so nothing is written into the repository."""
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts:
        raise ValueError(f"a docs file must be a relative path inside the repository, not {rel}")
    here = work
    for part in parts[:-1]:
        here = here / part
        if here.is_symlink():
            target = here.resolve()
            here.unlink()
            here.mkdir()
            for entry in target.iterdir():
                (here / entry.name).symlink_to(entry)
        here.mkdir(exist_ok=True)
    dest = here / parts[-1]
    if dest.is_symlink():
        dest.unlink()
    dest.write_text(text)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    body: str
    skip: str | None  # the reason of a skip marker, or None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page.name}:{self.line}"

    @property
    def kind(self) -> str:
        return "python" if self.lang in PYTHON else "shell"


def blocks_of(page: Path) -> list[Block]:
    """The runnable fenced blocks of a markdown page, in order, with their skip markers."""
    lines = page.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        start, body = i, []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if (
                close
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
                and not close["info"].strip()
            ):
                break
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        lang = info.split()[0].lower() if info else ""
        if lang not in PYTHON | SHELL:
            continue
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = SKIP.match(before)
        if marker and not marker["reason"]:
            raise ValueError(f"{page}:{start}: a skip marker needs a reason: <!-- skip: why -->")
        text = "\n".join(body) + "\n"
        reason = marker["reason"] if marker else None
        out.append(Block(page, start + 1, lang, text, reason))
    return out


ALL_BLOCKS = [b for page in PAGES for b in blocks_of(page)]


def test_blocks_of_reads_fences_markers_and_indented_blocks(tmp_path):
    md = tmp_path / "p.md"
    md.write_text(
        "x\n<!-- skip: slow -->\n\n```bash\necho 1\n```\n"  # a marker, a blank line, a block
        "- item\n\n    ```py\n    a = 1\n    ```\n"  # an indented block in a list
        "```yaml\nk: v\n```\n````python\n```\nb = 2\n````\n"  # not run; a longer fence holds ```
    )
    got = [(b.line, b.lang, b.body, b.skip) for b in blocks_of(md)]
    assert got == [(4, "bash", "echo 1\n", "slow"), (9, "py", "a = 1\n", None), (15, "python", "```\nb = 2\n", None)]
    md.write_text("<!-- skip: -->\n```sh\ntrue\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        blocks_of(md)


def test_titled_files_are_written_into_the_working_copy_not_the_repository(tmp_path):
    repo_dir = tmp_path / "repo" / "config"
    repo_dir.mkdir(parents=True)
    (repo_dir / "a.yaml").write_text("a: 1\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "config").symlink_to(repo_dir)
    md = tmp_path / "p.md"
    md.write_text('```yaml title="config/new.yaml"\nk: v\n```\n```py title="x.py"\n--8<-- "src/x.py"\n```\n')
    files = files_of(md)
    assert files == {"config/new.yaml": "k: v\n"}
    _write_into(work, "config/new.yaml", files["config/new.yaml"])
    assert (work / "config" / "new.yaml").read_text() == "k: v\n" and (
        work / "config" / "a.yaml"
    ).read_text() == "a: 1\n"
    assert sorted(p.name for p in repo_dir.iterdir()) == ["a.yaml"]
    with pytest.raises(ValueError, match="relative path"):
        _write_into(work, "../escape.yaml", "")


def test_console_blocks_run_their_prompt_lines_only():
    body = "$ intrain a \\\n  --b\noutput line\n$ echo x\nx\n"
    assert console_commands(body) == "intrain a \\\n  --b\necho x\n"
    assert console_pairs(body) == [("intrain a \\\n  --b", "output line"), ("echo x", "x")]


def test_python_blocks_share_a_namespace_and_failures_are_reported(tmp_path):
    md = tmp_path / "p.md"
    md.write_text(
        "```python\nx = 1\n```\n"
        "```python\nassert x == 1\n```\n"  # sees x from the first block
        "```python\nassert x == 2, 'x is not 2'\n```\n"
        "```pycon\n>>> x + 1\n3\n```\n"  # a doctest whose output differs
        "```pycon\n>>> x + 1\n2\n```\n"
    )
    results = _run_python(blocks_of(md), None)
    errors = [results[b.id] for b in blocks_of(md)]
    assert errors[0] is None and errors[1] is None and errors[4] is None
    assert errors[2] is not None and "x is not 2" in errors[2]
    assert errors[3] is not None and "Expected:" in errors[3] and "Got:" in errors[3]


def test_the_runner_finds_the_docs_examples():
    """A parser that finds nothing would pass every page: the pages' known blocks are found."""
    ids = {b.id for b in ALL_BLOCKS}
    kinds = {b.kind for b in ALL_BLOCKS}
    assert len(ALL_BLOCKS) >= 30 and kinds == {"python", "shell"}, ids
    assert any(b.id.startswith("README.md:") and b.kind == "python" for b in ALL_BLOCKS)
    assert any(b.id.startswith("docs/quickstart.md:") and "intrain inspect" in b.body for b in ALL_BLOCKS)


# ----------------------------------------------------------------------------- the working copy


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A copy of the repository (links) whose ``results/`` is a fresh tiny run's."""
    reason = mirror_missing()
    if reason is not None:
        pytest.skip(reason)
    from .conftest import mirror_dir

    base = tmp_path_factory.mktemp("docs-run")
    work = base / "main"
    work.mkdir()
    (base / "shared").mkdir()
    (base / "shared" / "benchmarks").symlink_to(mirror_dir().resolve())
    for entry in REPO.iterdir():
        if entry.name not in NOT_LINKED:
            (work / entry.name).symlink_to(entry)
    (work / ".venv").mkdir()
    (work / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    overlay = base / "docs-run.yaml"
    overlay.write_text(
        "baselines: {sets: {zc: {proxies: [grad_norm, naswot, synflow]}}}\n"
        "studies: {enabled: false}\nsearch: {enabled: false}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", str(work / "results" / "correlations.csv"), "--cores", "2"]
        + [
            "--configfile",
            "config/tiny.yaml",
            str(overlay),
            "--config",
            f"results={work / 'results'}",
            f"mirror={mirror_dir()}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(work),
        check=False,
    )
    assert run.returncode == 0, (
        f"the tiny run for the docs examples failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    )
    return work


def _env(work: Path) -> dict[str, str]:
    from .conftest import mirror_dir

    path = [str(REPO), str(REPO / "examples" / "plugin" / "src")]
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join(path + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        "INTRAIN_MIRROR": str(mirror_dir()),
        "MPLBACKEND": "Agg",
        "COLUMNS": "120",
    }


# ----------------------------------------------------------------------------- python: one interpreter per page

DRIVER = textwrap.dedent(
    """
    import doctest, importlib, json, sys, traceback
    from pathlib import Path
    blocks = json.loads(sys.stdin.read())
    ns = {"__name__": "__main__"}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    results = {}
    for b in blocks:
        try:
            if b["module"]:
                ns.update(vars(importlib.import_module(b["module"])))
            elif b["body"].lstrip().startswith(">>>"):
                test = doctest.DocTestParser().get_doctest(b["body"], ns, b["id"], b["id"], 0)
                out = []
                runner = doctest.DocTestRunner(optionflags=flags)
                runner.run(test, out=out.append, clear_globs=False)
                if runner.failures:
                    raise AssertionError("".join(out))
            else:
                exec(compile(b["body"], b["id"], "exec"), ns)
            results[b["id"]] = None
        except BaseException:
            results[b["id"]] = traceback.format_exc(limit=8)
    print("@@RESULTS@@" + json.dumps(results))
    """
)


def _module_of(block: Block) -> str | None:
    """The module a snippet-only block includes (``examples/plugin/src/pkg/mod.py`` -> ``pkg.mod``)."""
    lines = [ln for ln in block.body.splitlines() if ln.strip()]
    m = SNIPPET.match(lines[0].strip()) if len(lines) == 1 else None
    if not m:
        return None
    path = Path(m["path"])
    if path.suffix != ".py" or "src" not in path.parts:
        raise ValueError(f"{block.id}: only a .py file under a src/ folder can be run as an include, not {path}")
    return ".".join(path.parts[path.parts.index("src") + 1 :]).removesuffix(".py")


@pytest.fixture(scope="session")
def python_results(request) -> dict[str, dict[str, str | None]]:
    """page -> {block id: traceback or None}, run on first use per page."""
    return {}


def _run_python_page(page: Path, work: Path | None) -> dict[str, str | None]:
    return _run_python([b for b in ALL_BLOCKS if b.page == page and b.kind == "python" and b.skip is None], work)


def _run_python(todo: list[Block], work: Path | None) -> dict[str, str | None]:
    """Run blocks in order in one interpreter: block id -> None, or the traceback it raised."""
    payload = [{"id": b.id, "body": b.body, "module": _module_of(b)} for b in todo]
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps(payload),
        cwd=work or REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(work or REPO),
        check=False,
    )
    marker = proc.stdout.rfind("@@RESULTS@@")
    if marker < 0:
        raise AssertionError(
            f"{todo[0].page.name if todo else '?'}: the Python blocks' interpreter died:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout[marker + len("@@RESULTS@@") :])


def _needs_results(page: Path) -> bool:
    return any("results/" in b.body for b in ALL_BLOCKS if b.page == page and b.kind == "python" and b.skip is None)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, id=b.id, marks=[pytest.mark.slow] if _needs_results(b.page) else [])
        for b in ALL_BLOCKS
        if b.kind == "python"
    ],
)
def test_python_block_runs(block: Block, python_results, request):
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    if block.page not in python_results:
        work = request.getfixturevalue("workdir") if _needs_results(block.page) else None
        python_results[block.page] = _run_python_page(block.page, work)
    error = python_results[block.page][block.id]
    assert error is None, f"{block.id} failed:\n{block.body}\n{error}"


# ----------------------------------------------------------------------------- shell: one subprocess per block


def console_pairs(body: str) -> list[tuple[str, str]]:
    """(command, the output shown under it) for each ``$ `` line of a ``console`` block
    (``\\`` continues a command onto the next line)."""
    pairs: list[tuple[str, list[str]]] = []
    cont = False
    for line in body.splitlines():
        if cont:
            pairs[-1] = (pairs[-1][0] + "\n" + line, [])
        elif line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
        cont = bool(pairs) and (cont or line.startswith("$ ")) and line.rstrip().endswith("\\")
    return [(cmd, "\n".join(out).strip("\n")) for cmd, out in pairs]


def console_commands(body: str) -> str:
    """The commands of a ``console`` block, one after the other."""
    return "\n".join(cmd for cmd, _ in console_pairs(body)) + "\n"


MARK = "@@docs-example-command@@"


def _run_shell(block: Block, work: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell block; for a ``console`` block also compare each command's output with the
    output the page shows (doctest's rules: ``...`` matches anything, whitespace runs are equal),
    turning a mismatch into a failed run."""
    for rel, text in files_of(block.page).items():
        _write_into(work, rel, text)
    pairs = console_pairs(block.body) if block.lang == "console" else []
    script = "".join(f"printf '\\n%s\\n' {MARK}\n{cmd}\n" for cmd, _ in pairs) if pairs else block.body
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(work),
        check=False,
    )
    if proc.returncode != 0 or not pairs:
        return proc
    import doctest

    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    outputs = proc.stdout.split(f"\n{MARK}\n")[1:]
    for (cmd, want), got in zip(pairs, outputs):
        if want and not checker.check_output(want + "\n", got.strip("\n") + "\n", flags):
            message = f"$ {cmd}\n--- the page shows\n{want}\n--- the command printed\n{got}"
            return subprocess.CompletedProcess(proc.args, 1, proc.stdout, message)
    return proc


def test_console_output_must_match_what_the_page_shows(tmp_path):
    md = tmp_path / "p.md"
    md.write_text(
        "```console\n$ echo a; echo b\na\n...\n$ true\n$ printf 'x  y\\n'\nx y\n```\n"  # ..., no output, spaces
        "```console\n$ echo 2631\nindex: 2631\n```\n"
    )
    good, bad = blocks_of(md)
    assert _run_shell(good, tmp_path).returncode == 0
    proc = _run_shell(bad, tmp_path)
    assert proc.returncode == 1 and "the page shows\nindex: 2631" in proc.stderr


def test_a_failing_command_anywhere_in_a_shell_block_fails_it(tmp_path):
    md = tmp_path / "p.md"
    md.write_text(
        "```bash\necho ok\n```\n```bash\nfalse | cat\necho after\n```\n"
        "```console\n$ echo printed\nprinted\n$ exit 3\n```\n"
    )
    ok, piped, console = (_run_shell(b, tmp_path) for b in blocks_of(md))
    assert ok.returncode == 0 and ok.stdout == "ok\n"
    assert piped.returncode != 0 and "after" not in piped.stdout  # pipefail, and -e stops the block
    assert console.returncode == 3 and "printed" in console.stdout


@pytest.mark.slow  # the tiny run (snakemake, about a minute and a half on 2 cores) comes first
@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind == "shell"], ids=lambda b: b.id)
def test_shell_block_runs(block: Block, request):
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    proc = _run_shell(block, request.getfixturevalue("workdir"))
    assert proc.returncode == 0, (
        f"{block.id} exited {proc.returncode}:\n{block.body}\n--- stdout\n{proc.stdout[-3000:]}\n"
        f"--- stderr\n{proc.stderr[-3000:]}"
    )

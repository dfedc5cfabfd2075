"""Validation in a user's CI: the pre-commit hook (.pre-commit-hooks.yaml) and the GitHub Action (action.yml).

Each runs as a user's CI would run it, in a temporary git repository of a user's data: the graphs of
fixtures/valid/base.trig, one file each (data/X.ttl, as the project's data/ has them), or the same with
fixtures/invalid/action-point-pillar-missing.ru applied. The tests marked `slow` install napkg from a commit of
this working tree (the files git would commit), as pre-commit and GitHub install it from the repository, which
needs the package index and takes a while; the others run the action's validation step with the napkg of the
environment running the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE = HERE / "fixtures" / "valid" / "base.trig"
BROKEN = HERE / "fixtures" / "invalid" / "action-point-pillar-missing.ru"
GRAPH = "https://w3id.org/nap-bhr/graph/"
# A few prefixes, so the files read as a user's would; the validator finds a subject written either way.
PREFIXES = {
    "nap": "https://w3id.org/nap-bhr/def#",
    "ap": "https://w3id.org/nap-bhr/id/action-point/",
    "plan": "https://w3id.org/nap-bhr/id/action-plan/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "dct": "http://purl.org/dc/terms/",
}
NAPKG = Path(sys.executable).with_name("napkg")  # the napkg of the environment running the tests


# --- A user's data ----------------------------------------------------------------------------------


def fixture_header(path: Path) -> dict[str, str]:
    """The `# key: value` lines an invalid fixture opens with (focus, path, rule, severity)."""
    return dict(re.findall(r"^# (\w+): (.+)$", path.read_text(encoding="utf-8"), re.M))


def user_graphs(update: str | None = None) -> dict[str, list[ox.Triple]]:
    """The named graphs of base.trig, after an update that deletes (the invalid fixtures' updates act on the
    union of the graphs; the one used here only deletes)."""
    quads = list(ox.parse(path=str(BASE), format=ox.RdfFormat.TRIG))
    removed: set[ox.Triple] = set()
    if update:
        store = ox.Store()
        store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
        before = {q.triple for q in store}
        store.update(update)
        after = {q.triple for q in store}
        assert after <= before, "this helper applies updates that only delete"
        removed = before - after
        assert removed, "the update changed nothing"
    graphs: dict[str, list[ox.Triple]] = {}
    for quad in quads:
        if quad.triple not in removed:
            graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    return graphs


def write_data(workspace: Path, update: str | None = None, folder: str = "data") -> Path:
    """base.trig (after the update) as workspace/<folder>/<graph>.ttl; returns the folder."""
    data = workspace / folder
    data.mkdir(parents=True, exist_ok=True)
    for name, triples in user_graphs(update).items():
        assert name.startswith(GRAPH), name
        ox.serialize(
            sorted(triples, key=str),
            str(data / f"{name.removeprefix(GRAPH)}.ttl"),
            ox.RdfFormat.TURTLE,
            prefixes=PREFIXES,
        )
    return data


def line_of(path: Path, iri: str) -> int:
    """The line where the file's description of this subject starts."""
    names = [f"<{iri}>"] + [f"{p}:{iri.removeprefix(ns)}" for p, ns in PREFIXES.items() if iri.startswith(ns)]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if any(line.startswith(name + " ") for name in names):
            return number
    raise AssertionError(f"{iri} is not a subject in {path}")


def broken_finding(folder: str = "data") -> tuple[str, str, str]:
    """The broken fixture's rule, the file (relative to the workspace) where its focus, an action point, is
    described (its English label comes later, in translations.ttl), and the focus."""
    header = fixture_header(BROKEN)
    return header["rule"], f"{folder}/action-points.ttl", header["focus"]


# --- git and pre-commit, free of the caller's configuration -----------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without GIT_* (set when the tests run from a git hook) and with a neutral git identity
    and configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.org",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.org",
        **extra,
    )
    return env


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command; stdout and stderr together in .stdout."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or clean_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
    )


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args], cwd, env)


@pytest.fixture(scope="module")
def repo_commit(tmp_path_factory) -> tuple[Path, str]:
    """This working tree as a git repository with one commit: the files git would commit (tracked and new,
    not ignored), so the hook and the action are tested as they stand, committed or not. pre-commit's own
    try-repo would not do: it sees only changes to tracked files, not a new .pre-commit-hooks.yaml."""
    root = tmp_path_factory.mktemp("napkg-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is listed too
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    assert (root / ".pre-commit-hooks.yaml").is_file() and (root / "action.yml").is_file()
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        assert git(root, *args).returncode == 0
    return root, git(root, "rev-parse", "HEAD").stdout.strip()


# --- The pre-commit hook ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """pre-commit's cache for this module: the hook's environment is built once, not in the user's cache."""
    return tmp_path_factory.mktemp("pre-commit-home")


USER_DATA = "my-data"  # not the hook's default data/: the config's args replace it, as docs/ci.md shows


@pytest.fixture
def user_repo(tmp_path, repo_commit, pre_commit_home):
    """A user's repository with valid data in my-data/ committed through the hook (`pre-commit install`, then
    `git commit`); returns (repo, commit) where commit(message) stages everything, commits and returns the
    process."""
    hook_repo, rev = repo_commit
    repo = tmp_path / "user"
    repo.mkdir()
    env = clean_env(PRE_COMMIT_HOME=str(pre_commit_home))
    assert git(repo, "init", "-q").returncode == 0
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: napkg-validate\n    args: [{USER_DATA}/]\n",
        encoding="utf-8",
    )
    installed = run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout
    write_data(repo, folder=USER_DATA)

    def commit(message: str) -> subprocess.CompletedProcess:
        assert git(repo, "add", "-A").returncode == 0
        return git(repo, "commit", "-m", message, env=env)

    first = commit("valid data")
    assert first.returncode == 0, first.stdout
    assert re.search(r"napkg validate.*\.Passed", first.stdout), first.stdout
    return repo, commit


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").stdout)


@pytest.mark.slow
def test_the_hook_refuses_a_commit_that_breaks_a_rule_and_names_the_line(user_repo):
    repo, commit = user_repo
    write_data(repo, BROKEN.read_text(encoding="utf-8"), USER_DATA)
    rule, file, focus = broken_finding(USER_DATA)
    line = line_of(repo / file, focus)
    refused = commit("an action point without a pillar")
    assert refused.returncode != 0
    assert re.search(r"napkg validate.*\.Failed", refused.stdout), refused.stdout
    assert re.search(rf"^{re.escape(file)}:{line}: Violation: .*\[{re.escape(rule)}\]$", refused.stdout, re.M), (
        refused.stdout
    )
    assert commits(repo) == 1


@pytest.mark.slow
def test_the_hook_validates_the_whole_folder_not_only_the_changed_files(user_repo):
    """Why pass_filenames is false: rules span files. Renaming the plan in action-plan.ttl alone breaks the
    action points in action-points.ttl, which the commit does not touch; and a changed file validated alone
    fails on the references it cannot see, though the folder conforms."""
    repo, commit = user_repo
    plan_file = repo / USER_DATA / "action-plan.ttl"
    plan_file.write_text(
        plan_file.read_text(encoding="utf-8").replace("plan:nap-fixture", "plan:nap-renamed"), encoding="utf-8"
    )
    assert git(repo, "status", "--porcelain").stdout.split() == ["M", f"{USER_DATA}/action-plan.ttl"]
    refused = commit("rename the plan")
    assert refused.returncode != 0
    assert re.search(rf"^{USER_DATA}/action-points\.ttl:\d+: Violation: ", refused.stdout, re.M), refused.stdout

    git(repo, "checkout", "HEAD", "--", f"{USER_DATA}/action-plan.ttl")
    report = repo / USER_DATA / "report-2099.ttl"
    report.write_text("# Checked against the 2099 report.\n" + report.read_text(encoding="utf-8"), encoding="utf-8")
    alone = run([NAPKG, "validate", report], repo)
    assert alone.returncode == 1, alone.stdout
    accepted = commit("a comment in one file")
    assert accepted.returncode == 0, accepted.stdout
    assert commits(repo) == 2


def test_the_hook_runs_on_each_rdf_syntax_napkg_reads():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "napkg-validate" and hook["entry"] == "napkg validate" and hook["language"] == "python"
    for name in ("data/a.ttl", "data/b.trig", "c.jsonld", "sub/d.nt"):
        assert re.search(hook["files"], name), name
    for name in ("README.md", "package.json", "data/a.ttl.bak"):
        assert not re.search(hook["files"], name), name


# --- The GitHub Action ------------------------------------------------------------------------------


def action_steps() -> tuple[dict, list[dict]]:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    return action["inputs"], action["runs"]["steps"]


def run_action(
    workspace: Path, action_path: Path, runner_temp: Path, skip: tuple[str, ...] = (), **inputs: str
) -> subprocess.CompletedProcess:
    """The action's steps as the runner runs a composite action's bash steps: each script with
    `bash --noprofile --norc -eo pipefail`, in the workspace, with GITHUB_ACTION_PATH and RUNNER_TEMP, and the
    step's env with ${{ inputs.* }} filled in (from the given inputs or the defaults). Stops at the first step
    that fails, as the runner does. Steps named in skip are left out."""
    declared, steps = action_steps()
    assert set(inputs) <= set(declared), f"not inputs of action.yml: {set(inputs) - set(declared)}"
    values = {name: inputs.get(name, spec.get("default", "")) for name, spec in declared.items()}

    def expand(text: str) -> str:
        def value(match: re.Match) -> str:
            kind, _, name = match[1].partition(".")
            assert kind == "inputs" and name in values, f"an expression this test cannot fill in: {match[0]}"
            return values[name]

        return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", value, str(text))

    output = ""
    for step in steps:
        assert "uses" not in step and step.get("shell") == "bash", f"not a bash step: {step}"
        assert "${{" not in step["run"], "inputs reach the scripts through env, not pasted into them"
        if step.get("name") in skip:
            continue
        env = clean_env(
            GITHUB_ACTION_PATH=str(action_path),
            RUNNER_TEMP=str(runner_temp),
            GITHUB_WORKSPACE=str(workspace),
            **{key: expand(value) for key, value in step.get("env", {}).items()},
        )
        done = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], workspace, env)
        output += done.stdout
        if done.returncode:
            return subprocess.CompletedProcess(done.args, done.returncode, output)
    return subprocess.CompletedProcess([], 0, output)


def annotation_pattern(file: str, line: int, rule: str) -> str:
    title = rule.replace(",", "%2C").replace(":", "%3A")
    return rf"^::error file={re.escape(file)},line={line},title={re.escape(title)}::"


@pytest.fixture
def project_napkg(tmp_path) -> Path:
    """A RUNNER_TEMP whose napkg-venv is the environment running the tests, for runs without the install."""
    assert NAPKG.is_file(), f"no napkg command beside {sys.executable}"
    temp = tmp_path / "runner-temp"
    (temp / "napkg-venv" / "bin").mkdir(parents=True)
    (temp / "napkg-venv" / "bin" / "napkg").symlink_to(NAPKG)
    return temp


@pytest.mark.parametrize("paths", [None, "data/ extra/"])
def test_the_action_annotates_the_line_and_fails(tmp_path, project_napkg, paths):
    data = write_data(tmp_path, BROKEN.read_text(encoding="utf-8"))
    if paths:  # two folders: the translations in the second one
        (tmp_path / "extra").mkdir()
        (data / "translations.ttl").rename(tmp_path / "extra" / "translations.ttl")
    rule, file, focus = broken_finding()
    line = line_of(tmp_path / file, focus)
    inputs = {"paths": paths} if paths else {}  # by default data/ and the github format
    done = run_action(tmp_path, REPO, project_napkg, skip=("Install napkg",), **inputs)
    assert done.returncode == 1, done.stdout
    assert re.search(annotation_pattern(file, line, rule), done.stdout, re.M), done.stdout
    assert done.stdout.count("::error") == 1, done.stdout  # the fixture breaks one rule; all files were read


def test_the_action_passes_valid_data_and_takes_a_format(tmp_path, project_napkg):
    write_data(tmp_path)
    done = run_action(tmp_path, REPO, project_napkg, skip=("Install napkg",))
    assert done.returncode == 0, done.stdout
    assert "::error" not in done.stdout and "::warning" not in done.stdout
    done = run_action(tmp_path, REPO, project_napkg, skip=("Install napkg",), format="json")
    assert done.returncode == 0 and '"conforms": true' in done.stdout, done.stdout


@pytest.mark.slow
def test_the_action_installs_napkg_from_its_own_folder(tmp_path, repo_commit):
    """All steps, the install too: a virtual environment in RUNNER_TEMP with napkg from the action's folder
    (a commit of this working tree, as GitHub checks an action out), used from another folder."""
    action_path, _ = repo_commit
    workspace, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    runner_temp.mkdir()
    write_data(workspace, BROKEN.read_text(encoding="utf-8"))
    rule, file, focus = broken_finding()
    done = run_action(workspace, action_path, runner_temp)
    assert done.returncode == 1, done.stdout
    assert re.search(annotation_pattern(file, line_of(workspace / file, focus), rule), done.stdout, re.M), done.stdout
    assert (runner_temp / "napkg-venv" / "bin" / "napkg").is_file()

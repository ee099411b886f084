"""A commit's tree is materialised once, read-only, per commit; two Applications on one repository (threads or
processes) share the cache safely; links out of the tree are not materialised."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys
import threading

import pytest

from rollouts.sources import git
from tests.sources.repos import Repo


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> Repo:
    return Repo(tmp_path / "origin")


@pytest.fixture
def cache(tmp_path: pathlib.Path) -> git.Cache:
    return git.Cache(cache_dir=tmp_path / "cache", timeout_seconds=30)


def test_the_tree_holds_the_commit_and_is_read_only(repo: Repo, cache: git.Cache) -> None:
    repo.commit(
        "c", {"deploy/app.yaml": "kind: A\n", "deploy/sub/more.yaml": "kind: B\n", "README.md": "hi\n"}
    )
    (repo.path / "run.sh").write_text("#!/bin/sh\n")
    (repo.path / "run.sh").chmod(0o755)
    commit = repo.commit("script")

    checkout = cache.checkout(repo_url=repo.url, revision="main", path="./deploy/")

    assert checkout.commit == commit
    assert checkout.path == "deploy"
    assert checkout.root.name == commit
    assert sorted(p.relative_to(checkout.root).as_posix() for p in checkout.root.rglob("*")) == [
        "README.md",
        "deploy",
        "deploy/app.yaml",
        "deploy/sub",
        "deploy/sub/more.yaml",
        "run.sh",
    ]
    assert not (checkout.root / ".git").exists()
    for path in [checkout.root, *checkout.root.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path
    assert stat.S_IMODE((checkout.root / "run.sh").stat().st_mode) == 0o555


def test_a_commit_is_materialised_once_and_reused(repo: Repo, cache: git.Cache) -> None:
    first = repo.commit("one", {"a.yaml": "a: 1\n"})
    before = cache.checkout(repo_url=repo.url, revision="main")
    inode = before.root.stat().st_ino

    second = repo.commit("two", {"a.yaml": "a: 2\n"})
    after = cache.checkout(repo_url=repo.url, revision="main")
    again = cache.checkout(repo_url=repo.url, revision=first)

    assert after.root != before.root
    assert again.root == before.root and again.root.stat().st_ino == inode
    assert (again.root / "a.yaml").read_text() == "a: 1\n"
    assert sorted(p.name for p in (cache.cache_dir / git.cache_key(repo.url) / "trees").iterdir()) == sorted(
        [first, second]
    )

    assert cache.prune_trees(repo_url=repo.url, keep={second}) == [first]
    assert not before.root.exists()
    assert (after.root / "a.yaml").read_text() == "a: 2\n"


def test_two_applications_on_one_repository_at_once(repo: Repo, cache: git.Cache) -> None:
    commit = repo.commit("shared", {f"deploy/f{i}.yaml": f"i: {i}\n" for i in range(200)})
    results: list[git.Checkout] = []
    failures: list[BaseException] = []

    def sync(path: str) -> None:
        try:
            # Each "Application" has its own Cache object on the same directory, as two workers would.
            own = git.Cache(cache_dir=cache.cache_dir, timeout_seconds=30)
            results.append(own.checkout(repo_url=repo.url, revision="main", path=path))
        except BaseException as err:
            failures.append(err)

    threads = [threading.Thread(target=sync, args=("deploy",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert {r.commit for r in results} == {commit}
    assert len({r.root for r in results}) == 1
    assert len(list(results[0].directory.iterdir())) == 200


def test_processes_share_the_cache_through_the_lock_file(repo: Repo, cache: git.Cache) -> None:
    commit = repo.commit("shared", {"a.yaml": "a: 1\n"})
    script = (
        "import pathlib, sys\n"
        "from rollouts.sources import git\n"
        "c = git.Cache(cache_dir=pathlib.Path(sys.argv[1]))\n"
        "print(c.checkout(repo_url=sys.argv[2], revision='main').commit)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(cache.cache_dir), repo.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]

    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {commit}
    assert (cache.cache_dir / f"{git.cache_key(repo.url)}.lock").exists()


def test_links_leading_out_of_the_tree_are_not_materialised(
    repo: Repo, cache: git.Cache, tmp_path: pathlib.Path
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    repo.write({"deploy/app.yaml": "a: 1\n"})
    os.symlink(secret, repo.path / "deploy" / "escape.yaml")
    os.symlink("app.yaml", repo.path / "deploy" / "alias.yaml")
    repo.commit("links")

    checkout = cache.checkout(repo_url=repo.url, revision="main", path="deploy")

    assert checkout.skipped_links == ("deploy/escape.yaml",)
    assert not (checkout.directory / "escape.yaml").exists()
    assert (checkout.directory / "alias.yaml").read_text() == "a: 1\n"
    # The list survives reuse of the tree, and pruning other trees.
    (checkout.root.parent / f".{'0' * 40}.partial-dead").mkdir()
    assert cache.prune_trees(repo_url=repo.url, keep={checkout.commit}) == []
    assert sorted(p.name for p in checkout.root.parent.iterdir()) == [
        checkout.commit,
        f"{checkout.commit}.skipped-links",
    ]
    assert cache.checkout(repo_url=repo.url, revision="main").skipped_links == ("deploy/escape.yaml",)

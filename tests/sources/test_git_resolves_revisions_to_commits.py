"""targetRevision (branch, tag, full or short SHA, HEAD, a full ref) resolves to the commit Git says, a refresh
sees new commits and reverts, and `remote_commit` (the poll loop's ls-remote) agrees with a full fetch."""

from __future__ import annotations

import pathlib

import pytest

from rollouts.sources import git
from tests.sources.repos import Repo


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> Repo:
    return Repo(tmp_path / "origin")


@pytest.fixture
def cache(tmp_path: pathlib.Path) -> git.Cache:
    return git.Cache(cache_dir=tmp_path / "cache", timeout_seconds=30)


def test_each_kind_of_revision_names_its_commit(repo: Repo, cache: git.Cache) -> None:
    first = repo.commit("first", {"deploy/a.yaml": "a: 1\n"})
    repo.git("tag", "-a", "v1.0.0", "-m", "release 1")  # annotated: its own SHA is a tag object
    repo.git("tag", "light")  # lightweight
    second = repo.commit("second", {"deploy/a.yaml": "a: 2\n"})
    repo.git("branch", "feature", first)

    expected = {
        "main": second,
        "HEAD": second,
        "": second,
        "refs/heads/main": second,
        "feature": first,
        "v1.0.0": first,
        "light": first,
        "refs/tags/v1.0.0": first,
        first: first,
        first[:7]: first,
        first.upper(): first,
    }
    for revision, commit in expected.items():
        assert cache.resolve(repo_url=repo.url, revision=revision) == commit, revision
        assert cache.remote_commit(repo_url=repo.url, revision=revision) == commit, revision


def test_a_branch_wins_over_a_tag_of_the_same_name(repo: Repo, cache: git.Cache) -> None:
    tagged = repo.commit("tagged")
    repo.git("tag", "release")
    branch_tip = repo.commit("on main")
    repo.git("branch", "release", branch_tip)

    assert cache.resolve(repo_url=repo.url, revision="release") == branch_tip
    assert cache.remote_commit(repo_url=repo.url, revision="release") == branch_tip
    assert cache.resolve(repo_url=repo.url, revision="refs/tags/release") == tagged


def test_head_follows_the_remote_default_branch(tmp_path: pathlib.Path, cache: git.Cache) -> None:
    repo = Repo(tmp_path / "trunk-repo", branch="trunk")
    tip = repo.commit("on trunk")

    assert cache.resolve(repo_url=repo.url, revision="HEAD") == tip
    assert cache.remote_commit(repo_url=repo.url) == tip


def test_a_refresh_sees_new_commits_and_reverts(repo: Repo, cache: git.Cache) -> None:
    good = repo.commit("good version", {"app.yaml": "image: app:1\n"})
    assert cache.checkout(repo_url=repo.url, revision="main").commit == good

    bad = repo.commit("bad version", {"app.yaml": "image: app:2\n"})
    # The poll loop's cheap question sees the new commit before any fetch...
    assert cache.remote_commit(repo_url=repo.url, revision="main") == bad
    # ...a resolve without refresh still answers from the cache...
    assert cache.resolve(repo_url=repo.url, revision="main", refresh=False) == good
    # ...and a refresh fetches it.
    checkout = cache.checkout(repo_url=repo.url, revision="main")
    assert checkout.commit == bad
    assert (checkout.directory / "app.yaml").read_text() == "image: app:2\n"

    reverted = repo.revert(bad)
    checkout = cache.checkout(repo_url=repo.url, revision="main")
    assert checkout.commit == reverted not in (good, bad)
    assert (checkout.directory / "app.yaml").read_text() == "image: app:1\n"


def test_a_force_pushed_branch_and_a_deleted_tag_are_seen_after_refresh(repo: Repo, cache: git.Cache) -> None:
    base = repo.commit("base")
    repo.commit("to be dropped")
    repo.git("tag", "gone")
    assert cache.resolve(repo_url=repo.url, revision="gone") != base

    repo.git("reset", "--quiet", "--hard", base)
    repo.git("tag", "-d", "gone")

    assert cache.resolve(repo_url=repo.url, revision="main") == base
    with pytest.raises(git.SourceError, match="revision 'gone' not found"):
        cache.resolve(repo_url=repo.url, revision="gone")


def test_a_known_full_sha_needs_no_fetch(repo: Repo, cache: git.Cache, tmp_path: pathlib.Path) -> None:
    commit = repo.commit("pinned", {"a.yaml": "a: 1\n"})
    cache.checkout(repo_url=repo.url, revision=commit)

    # The origin disappears: a pinned commit already cached still checks out; a branch needs the remote.
    repo.path.rename(tmp_path / "moved-away")
    assert cache.checkout(repo_url=repo.url, revision=commit).commit == commit
    with pytest.raises(git.SourceError, match="cannot fetch"):
        cache.checkout(repo_url=repo.url, revision="main")


def test_a_plain_local_path_works_like_a_file_url(repo: Repo, cache: git.Cache) -> None:
    commit = repo.commit("local", {"deploy/a.yaml": "a: 1\n"})

    checkout = cache.checkout(repo_url=str(repo.path), revision="main", path="deploy")

    assert checkout.commit == commit
    assert (checkout.directory / "a.yaml").read_text() == "a: 1\n"

"""Every way a Git source can be wrong gives a SourceError whose message names the repository, the revision and
the path, and never a credential; a git that hangs is ended by the timeout."""

from __future__ import annotations

import pathlib
import time

import pytest

from rollouts.sources import git
from tests.sources.repos import Repo


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> Repo:
    repo = Repo(tmp_path / "origin")
    repo.commit("c", {"deploy/app.yaml": "a: 1\n"})
    return repo


@pytest.fixture
def cache(tmp_path: pathlib.Path) -> git.Cache:
    return git.Cache(cache_dir=tmp_path / "cache", timeout_seconds=30)


def test_an_unreachable_repository(cache: git.Cache, tmp_path: pathlib.Path) -> None:
    url = (tmp_path / "nowhere").as_uri()

    with pytest.raises(git.SourceError) as caught:
        cache.checkout(repo_url=url, revision="main", path="deploy")

    assert (
        str(caught.value)
        == f"cannot fetch {url}: '{tmp_path / 'nowhere'}' does not appear to be a git repository"
    )
    assert (caught.value.repo_url, caught.value.revision, caught.value.path) == (url, "main", "deploy")
    # A failed first fetch leaves no empty cache behind.
    assert not (cache.cache_dir / git.cache_key(url)).exists()
    with pytest.raises(git.SourceError) as polled:
        cache.remote_commit(repo_url=url, revision="main")
    assert (
        str(polled.value)
        == f"cannot reach {url}: '{tmp_path / 'nowhere'}' does not appear to be a git repository"
    )


def test_credentials_never_appear_in_messages(cache: git.Cache) -> None:
    url = "https://deploy-bot:s3cr3t-t0ken@127.0.0.1:1/org/repo.git"

    with pytest.raises(git.SourceError) as caught:
        cache.checkout(repo_url=url, revision="main")

    message = str(caught.value)
    assert message.startswith("cannot fetch https://***@127.0.0.1:1/org/repo.git: ")
    assert "s3cr3t" not in message and "deploy-bot" not in message
    assert "s3cr3t" not in caught.value.repo_url
    key_dir = cache.cache_dir / git.cache_key(url)
    assert not key_dir.exists() or "s3cr3t" not in "".join(p.read_text() for p in key_dir.rglob("url"))


def test_an_unknown_revision(repo: Repo, cache: git.Cache) -> None:
    with pytest.raises(git.SourceError) as caught:
        cache.checkout(repo_url=repo.url, revision="release-9", path="deploy")

    assert str(caught.value) == (
        f"revision 'release-9' not found in {repo.url}: no branch, tag or commit has that name"
    )
    assert (caught.value.repo_url, caught.value.revision) == (repo.url, "release-9")
    with pytest.raises(git.SourceError, match="revision 'release-9' not found"):
        cache.remote_commit(repo_url=repo.url, revision="release-9")
    with pytest.raises(git.SourceError, match="revision 'deadbeef' not found"):
        cache.resolve(repo_url=repo.url, revision="deadbeef")
    with pytest.raises(git.SourceError, match=f"revision '{'0' * 40}' not found"):
        cache.resolve(repo_url=repo.url, revision="0" * 40)


@pytest.mark.parametrize(
    "revision", ["--upload-pack=touch /tmp/x", "main~1", "a..b", "main@{1}", "has space"]
)
def test_a_revision_that_is_not_a_name_is_refused(repo: Repo, cache: git.Cache, revision: str) -> None:
    with pytest.raises(git.SourceError) as caught:
        cache.resolve(repo_url=repo.url, revision=revision)

    assert str(caught.value) == (
        f"revision '{revision}' is not a valid branch, tag or commit name (repository {repo.url})"
    )


def test_a_missing_path(repo: Repo, cache: git.Cache) -> None:
    commit = repo.head()

    with pytest.raises(git.SourceError) as caught:
        cache.checkout(repo_url=repo.url, revision="main", path="overlays/prod")

    assert (
        str(caught.value) == f"path 'overlays/prod' not found in {repo.url} at revision 'main' ({commit[:7]})"
    )
    assert (caught.value.revision, caught.value.path) == ("main", "overlays/prod")


def test_a_path_that_is_a_file_or_leaves_the_repository(repo: Repo, cache: git.Cache) -> None:
    commit = repo.head()

    with pytest.raises(git.SourceError) as file_path:
        cache.checkout(repo_url=repo.url, revision="main", path="deploy/app.yaml")
    with pytest.raises(git.SourceError) as outside:
        cache.checkout(repo_url=repo.url, revision="main", path="deploy/../../etc")

    assert str(file_path.value) == (
        f"path 'deploy/app.yaml' in {repo.url} at revision 'main' ({commit[:7]}) is not a directory"
    )
    assert str(outside.value) == f"path 'deploy/../../etc' must stay inside the repository {repo.url}"


def test_a_hanging_git_is_ended_by_the_timeout(tmp_path: pathlib.Path) -> None:
    sleepy = tmp_path / "git"
    sleepy.write_text("#!/bin/sh\nsleep 60\n")
    sleepy.chmod(0o755)
    cache = git.Cache(cache_dir=tmp_path / "cache", git=str(sleepy), timeout_seconds=0.5)

    started = time.monotonic()
    with pytest.raises(git.SourceError) as caught:
        cache.remote_commit(repo_url="https://git.example.com/org/repo.git", revision="main")

    assert time.monotonic() - started < 10
    assert str(caught.value) == "cannot reach https://git.example.com/org/repo.git: timed out after 0.5 s"


def test_redaction_of_urls() -> None:
    assert (
        git.redact("https://user:pw@host/r.git and ssh://git@host:22/r")
        == "https://***@host/r.git and ssh://***@host:22/r"
    )
    assert git.redact("git@github.com:org/repo.git") == "git@github.com:org/repo.git"

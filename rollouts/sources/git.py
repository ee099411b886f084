"""Git repositories as a source of manifests, through the `git` CLI (subprocesses, never a shell).

Contract:
- One bare cache repository per repository URL, under `<cache_dir>/<sha256(url)[:20]>/repo.git`. A refresh
  fetches branches and tags (`--prune`) and the remote HEAD; nothing else of the remote is kept.
- `targetRevision` resolves to a full commit SHA in this order: `HEAD` (or empty) -> the remote's default branch;
  a full ref (`refs/...`); a branch; a tag (annotated tags are peeled); a full or abbreviated commit SHA. A full SHA
  that no branch or tag reaches is fetched on its own, if the server allows it.
- A commit's tree is materialised once, read-only, into `<cache_dir>/<key>/trees/<sha>/` (`git archive`, then
  an atomic rename), and reused afterwards. Symbolic links that point outside the tree are not materialised;
  their paths are listed in `Checkout.skipped_links`.
- All work on one repository holds a lock file (`<cache_dir>/<key>.lock`, `flock`), so two Applications (threads or
  processes) on the same repository wait for each other instead of corrupting the cache.
- Failures raise `SourceError`, whose message names the repository URL (credentials removed), the revision and
  the path: an unreachable repository, an unknown revision, a missing path. Every git call has a timeout.
- `remote_commit` is the cheap "what commit is the revision now" for the poll loop: one `git ls-remote`, no fetch.

Example (with `repo` a repository whose `main` branch has a `deploy/` directory):

    cache = git.Cache(cache_dir=pathlib.Path("/var/cache/rollwave/git"))
    checkout = cache.checkout(repo_url="file:///srv/repo", revision="main", path="deploy")
    checkout.commit      # 'e8850766116c36dc0a04f065152c014a8d51403d'
    checkout.directory   # .../trees/e8850766.../deploy, read-only
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence

from rollouts.sources import commands

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_LOCK_TIMEOUT_SECONDS = 300.0

_HEAD_REF = "refs/rollwave/HEAD"
_FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{4,39}$")
# What a branch, tag, ref or SHA may look like here: enough for real names, and never an option ("-...") or a
# revision expression (`main~1`, `@{u}`, `a..b`) that git would evaluate.
_REVISION = re.compile(r"^[A-Za-z0-9_./+-]+$")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


class SourceError(Exception):
    """A repository, revision or path that cannot be used. `str(err)` is the message for the user."""

    def __init__(self, message: str, *, repo_url: str, revision: str | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.repo_url = redact(repo_url)
        self.revision = revision
        self.path = path


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Checkout:
    """A commit's tree on disk. `root` is the whole tree; `directory` is `path` inside it."""

    repo_url: str
    revision: str
    commit: str
    root: pathlib.Path
    path: str = ""
    skipped_links: tuple[str, ...] = ()

    @property
    def directory(self) -> pathlib.Path:
        return self.root / self.path if self.path else self.root


def redact(text: str) -> str:
    """Removes credentials written into URLs (`https://user:token@host/...` -> `https://***@host/...`).

    >>> redact("https://bot:s3cret@git.example.com/org/repo.git")
    'https://***@git.example.com/org/repo.git'
    >>> redact("git@github.com:org/repo.git")
    'git@github.com:org/repo.git'
    """
    return _USERINFO.sub(r"\g<scheme>***@", text)


def cache_key(repo_url: str) -> str:
    """The cache directory name of a repository URL (a trailing slash does not make another cache)."""
    return hashlib.sha256(repo_url.rstrip("/").encode()).hexdigest()[:20]


def normalized_path(path: str | None) -> str:
    """The path inside the repository, POSIX, without `.` parts and leading or trailing slashes ("" = root).

    >>> normalized_path("./deploy//prod/")
    'deploy/prod'
    >>> normalized_path(".")
    ''
    """
    parts = [p for p in pathlib.PurePosixPath((path or "").strip().lstrip("/")).parts if p not in ("", ".")]
    return "/".join(parts)


class Cache:
    """Git repositories cached on local disk. Safe to share between threads and between processes."""

    def __init__(
        self,
        *,
        cache_dir: pathlib.Path,
        git: str = "git",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self.cache_dir = cache_dir
        self.git = git
        self.timeout_seconds = timeout_seconds
        self.lock_timeout_seconds = lock_timeout_seconds

    # -- public API ------------------------------------------------------------------------------------------------

    def checkout(
        self, *, repo_url: str, revision: str | None = "HEAD", path: str | None = "", refresh: bool = True
    ) -> Checkout:
        """Resolves `revision` (fetching first when `refresh`) and returns its tree, with `path` checked to be a
        directory in it."""
        revision = _revision_or_head(revision)
        relative = normalized_path(path)
        if ".." in relative.split("/"):
            raise SourceError(
                f"path '{path}' must stay inside the repository {redact(repo_url)}",
                repo_url=repo_url,
                revision=revision,
                path=path,
            )
        try:
            with self._locked(repo_url):
                commit = self._resolve_locked(repo_url=repo_url, revision=revision, refresh=refresh)
                root, skipped = self._materialise_locked(repo_url=repo_url, commit=commit)
        except SourceError as err:
            # A fetch failure does not know what it was fetching for; the caller's status wants all three.
            err.revision = err.revision or revision
            err.path = err.path if err.path is not None else relative
            raise
        target = root / relative if relative else root
        where = f"{redact(repo_url)} at revision '{revision}' ({commit[:7]})"
        if not target.exists() and not target.is_symlink():
            raise SourceError(
                f"path '{relative}' not found in {where}", repo_url=repo_url, revision=revision, path=relative
            )
        if not target.resolve().is_relative_to(root.resolve()):
            raise SourceError(
                f"path '{relative}' in {where} leads outside the repository",
                repo_url=repo_url,
                revision=revision,
                path=relative,
            )
        if not target.is_dir():
            raise SourceError(
                f"path '{relative}' in {where} is not a directory",
                repo_url=repo_url,
                revision=revision,
                path=relative,
            )
        return Checkout(
            repo_url=redact(repo_url),
            revision=revision,
            commit=commit,
            root=root,
            path=relative,
            skipped_links=skipped,
        )

    def resolve(self, *, repo_url: str, revision: str | None = "HEAD", refresh: bool = True) -> str:
        """The full commit SHA `revision` names now (fetching first when `refresh`, or when nothing is cached)."""
        revision = _revision_or_head(revision)
        with self._locked(repo_url):
            return self._resolve_locked(repo_url=repo_url, revision=revision, refresh=refresh)

    def fetch(self, *, repo_url: str) -> None:
        """Brings the cache up to date with the remote's branches, tags and HEAD."""
        with self._locked(repo_url):
            self._fetch_locked(repo_url)

    def remote_commit(self, *, repo_url: str, revision: str | None = "HEAD") -> str:
        """The commit the revision names on the remote now, with one `git ls-remote` (no fetch).

        A full SHA names itself. An abbreviated SHA is looked up in the cache (fetching if it is not there yet),
        since a remote only advertises refs.
        """
        revision = _revision_or_head(revision)
        _check_revision(repo_url, revision)
        if _FULL_SHA.match(revision):
            return revision.lower()
        patterns = _ls_remote_patterns(revision)
        peeled = [f"{p}^{{}}" for p in patterns if p.startswith("refs/tags/")]
        result = self._run(["ls-remote", "--", _url_argument(repo_url), *patterns, *peeled])
        if result.returncode != 0:
            raise SourceError(
                f"cannot reach {redact(repo_url)}: {_git_detail(result.stderr, repo_url)}",
                repo_url=repo_url,
                revision=revision,
            )
        advertised: dict[str, str] = {}
        for line in result.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            advertised[ref.strip()] = sha.strip()
        for pattern in patterns:
            # An annotated tag's own SHA is the tag object; the peeled entry (`^{}`) is the commit.
            if pattern in advertised:
                return advertised.get(f"{pattern}^{{}}", advertised[pattern])
        if _SHORT_SHA.match(revision):
            return self.resolve(repo_url=repo_url, revision=revision, refresh=False)
        raise SourceError(_unknown_revision(repo_url, revision), repo_url=repo_url, revision=revision)

    def prune_trees(self, *, repo_url: str, keep: Collection[str]) -> list[str]:
        """Deletes the materialised trees of this repository except the commits in `keep`; returns the deleted."""
        trees = self._repo_dir(repo_url) / "trees"
        removed = []
        with self._locked(repo_url):
            if not trees.is_dir():
                return []
            for entry in sorted(trees.iterdir()):
                # `<sha>`, its `<sha>.skipped-links`, and `.<sha>.partial-*` left by a process that died mid-way
                # (under the lock, nothing is being written).
                leftover = entry.name.startswith(".")
                if leftover or entry.name.partition(".")[0] not in keep:
                    _remove_tree(entry)
                    if not leftover and "." not in entry.name:
                        removed.append(entry.name)
        return removed

    # -- internals (called with the repository lock held) ---------------------------------------------------------

    def _repo_dir(self, repo_url: str) -> pathlib.Path:
        return self.cache_dir / cache_key(repo_url)

    def _bare(self, repo_url: str) -> pathlib.Path:
        return self._repo_dir(repo_url) / "repo.git"

    def _resolve_locked(self, *, repo_url: str, revision: str, refresh: bool) -> str:
        _check_revision(repo_url, revision)
        bare = self._bare(repo_url)
        fetched = False
        # A commit never changes, so a full SHA already in the cache needs no fetch.
        immutable = _FULL_SHA.match(revision) is not None and self._commit_of(bare, revision) is not None
        if not (bare / "HEAD").exists() or (refresh and not immutable):
            self._fetch_locked(repo_url)
            fetched = True
        commit = self._lookup(bare, revision)
        if commit is None and not fetched:
            self._fetch_locked(repo_url)
            commit = self._lookup(bare, revision)
        if commit is None and _FULL_SHA.match(revision):
            # Not reachable from a branch or tag; servers that allow fetching by SHA still give it.
            result = self._run(
                ["fetch", "--quiet", "--", _url_argument(repo_url), revision.lower()], cwd=bare
            )
            if result.returncode == 0:
                commit = self._commit_of(bare, revision)
        if commit is None:
            if revision == "HEAD":
                raise SourceError(
                    f"revision 'HEAD' not found in {redact(repo_url)}: the repository has no default branch",
                    repo_url=repo_url,
                    revision=revision,
                )
            raise SourceError(_unknown_revision(repo_url, revision), repo_url=repo_url, revision=revision)
        return commit

    def _lookup(self, bare: pathlib.Path, revision: str) -> str | None:
        if revision == "HEAD":
            return self._commit_of(bare, _HEAD_REF)
        if revision.startswith("refs/"):
            return self._commit_of(bare, revision)
        for ref in (f"refs/heads/{revision}", f"refs/tags/{revision}"):
            commit = self._commit_of(bare, ref)
            if commit is not None:
                return commit
        if _SHORT_SHA.match(revision) or _FULL_SHA.match(revision):
            return self._commit_of(bare, revision.lower())
        return None

    def _commit_of(self, bare: pathlib.Path, name: str) -> str | None:
        if not (bare / "HEAD").exists():
            return None
        result = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"], cwd=bare
        )
        sha = result.stdout.strip()
        return sha if result.returncode == 0 and _FULL_SHA.match(sha) else None

    def _fetch_locked(self, repo_url: str) -> None:
        bare = self._bare(repo_url)
        created = not (bare / "HEAD").exists()
        if created:
            if bare.exists():
                shutil.rmtree(bare)  # a clone that died half-way
            bare.parent.mkdir(parents=True, exist_ok=True)
            init = self._run(["init", "--quiet", "--bare", str(bare)])
            if init.returncode != 0:
                raise SourceError(
                    f"cannot create the cache for {redact(repo_url)}: {_git_detail(init.stderr, repo_url)}",
                    repo_url=repo_url,
                )
            (bare.parent / "url").write_text(redact(repo_url) + "\n")
        refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        url = _url_argument(repo_url)
        result = self._run(
            ["fetch", "--quiet", "--prune", "--", url, *refspecs, f"+HEAD:{_HEAD_REF}"], cwd=bare
        )
        if result.returncode != 0 and "couldn't find remote ref HEAD" in result.stderr:
            # The remote's HEAD names a branch that does not exist (common for `git init --bare` remotes).
            result = self._run(["fetch", "--quiet", "--prune", "--", url, *refspecs], cwd=bare)
            if result.returncode == 0:
                self._run(["update-ref", "-d", _HEAD_REF], cwd=bare)
        if result.returncode != 0:
            if created:
                shutil.rmtree(bare.parent, ignore_errors=True)  # leave no empty cache behind for a bad URL
            raise SourceError(
                f"cannot fetch {redact(repo_url)}: {_git_detail(result.stderr, repo_url)}", repo_url=repo_url
            )

    def _materialise_locked(self, *, repo_url: str, commit: str) -> tuple[pathlib.Path, tuple[str, ...]]:
        trees = self._repo_dir(repo_url) / "trees"
        target = trees / commit
        skipped_file = trees / f"{commit}.skipped-links"
        if target.is_dir():
            skipped = skipped_file.read_text().splitlines() if skipped_file.exists() else []
            return target, tuple(skipped)
        trees.mkdir(parents=True, exist_ok=True)
        partial = trees / f".{commit}.partial-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        try:
            skipped = self._archive_into(repo_url=repo_url, commit=commit, destination=partial)
            _make_read_only(partial)
            if skipped:
                skipped_file.write_text("\n".join(skipped) + "\n")
            os.rename(partial, target)
            target.chmod(0o555)
        except BaseException:
            _remove_tree(partial)
            raise
        return target, tuple(skipped)

    def _archive_into(self, *, repo_url: str, commit: str, destination: pathlib.Path) -> list[str]:
        skipped: list[str] = []

        def keep_safe(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
            try:
                return tarfile.data_filter(member, path)
            except tarfile.FilterError:
                skipped.append(member.name)
                return None

        failure = f"cannot read commit {commit[:7]} of {redact(repo_url)}"
        process = subprocess.Popen(
            [self.git, "archive", "--format=tar", commit],
            cwd=self._bare(repo_url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(),
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        # The archive is read as a stream; a watchdog ends git if it outlives the timeout.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            commands.kill(process)

        watchdog = threading.Timer(self.timeout_seconds, expire)
        watchdog.start()
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                for member in archive:
                    archive.extract(member, destination, filter=keep_safe)
            stderr = process.stderr.read().decode(errors="replace")
            returncode = process.wait()
        except tarfile.TarError as err:
            commands.kill(process)
            detail = f"timed out after {self.timeout_seconds:g} s" if expired.is_set() else str(err)
            raise SourceError(f"{failure}: {detail}", repo_url=repo_url, revision=commit) from err
        except BaseException:
            commands.kill(process)
            raise
        finally:
            watchdog.cancel()
            process.stdout.close()
            process.stderr.close()
        if returncode != 0:
            detail = (
                f"timed out after {self.timeout_seconds:g} s"
                if expired.is_set()
                else _git_detail(stderr, repo_url)
            )
            raise SourceError(f"{failure}: {detail}", repo_url=repo_url, revision=commit)
        return skipped

    @contextlib.contextmanager
    def _locked(self, repo_url: str) -> Iterator[None]:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.cache_dir / f"{cache_key(repo_url)}.lock"
        deadline = time.monotonic() + self.lock_timeout_seconds
        # flock belongs to the open file description: a separate open() per call excludes other threads too.
        with lock_path.open("a") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SourceError(
                            f"the cache of {redact(repo_url)} stayed locked for {self.lock_timeout_seconds:g} s",
                            repo_url=repo_url,
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _run(self, args: Sequence[str], *, cwd: pathlib.Path | None = None) -> commands.Result:
        return commands.run(
            [self.git, *args], cwd=cwd, env=_environment(), timeout_seconds=self.timeout_seconds
        )


def _revision_or_head(revision: str | None) -> str:
    return (revision or "").strip() or "HEAD"


def _check_revision(repo_url: str, revision: str) -> None:
    if not _REVISION.match(revision) or revision.startswith("-") or ".." in revision:
        raise SourceError(
            f"revision '{revision}' is not a valid branch, tag or commit name (repository {redact(repo_url)})",
            repo_url=repo_url,
            revision=revision,
        )


def _unknown_revision(repo_url: str, revision: str) -> str:
    return f"revision '{revision}' not found in {redact(repo_url)}: no branch, tag or commit has that name"


def _ls_remote_patterns(revision: str) -> list[str]:
    if revision == "HEAD":
        return ["HEAD"]
    if revision.startswith("refs/"):
        return [revision]
    return [f"refs/heads/{revision}", f"refs/tags/{revision}"]


def _url_argument(repo_url: str) -> str:
    # After `--` git takes it as the repository, but a URL that reads like an option is refused anyway.
    if repo_url.startswith("-") or not repo_url.strip():
        raise SourceError(f"'{redact(repo_url)}' is not a repository URL", repo_url=repo_url)
    return repo_url


def _git_detail(stderr: str, repo_url: str) -> str:
    """The first `fatal:`/`error:` line of git's stderr, credentials removed."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for prefix in ("fatal:", "error:"):
        for line in lines:
            if line.startswith(prefix):
                return redact(line.removeprefix(prefix).strip().replace(repo_url, redact(repo_url)))
    return redact(lines[-1].replace(repo_url, redact(repo_url))) if lines else "git failed"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",  # a missing credential fails instead of waiting on a prompt
            "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",  # no `ext::` or other command transports
            "LC_ALL": "C",  # stable messages to quote
            "GIT_CONFIG_NOSYSTEM": "1",
        }
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def _make_read_only(root: pathlib.Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            path = pathlib.Path(directory, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o555 if mode & 0o111 else 0o444)
        if pathlib.Path(directory) != root:
            pathlib.Path(directory).chmod(0o555)


def _remove_tree(path: pathlib.Path) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        for directory, _, _ in os.walk(path):
            pathlib.Path(directory).chmod(0o755)
        shutil.rmtree(path)
    else:
        path.unlink()

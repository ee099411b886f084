"""Git repositories made by the tests themselves (`git init` in a temp directory), reachable as `file://` URLs."""

from __future__ import annotations

import os
import pathlib
import subprocess

_IDENTITY = {
    "GIT_AUTHOR_NAME": "rollwave tests",
    "GIT_AUTHOR_EMAIL": "tests@rollwave.dev",
    "GIT_COMMITTER_NAME": "rollwave tests",
    "GIT_COMMITTER_EMAIL": "tests@rollwave.dev",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


class Repo:
    def __init__(self, path: pathlib.Path, *, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            env={**os.environ, **_IDENTITY},
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def remove(self, *names: str) -> None:
        self.git("rm", "--quiet", *names)

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        if files:
            self.write(files)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def revert(self, commit: str) -> str:
        self.git("revert", "--no-edit", commit)
        return self.head()

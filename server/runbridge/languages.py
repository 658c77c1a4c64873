"""Languages by the editor's languageId: those served, and how batch code is saved and run."""

from __future__ import annotations

#: The languageIds whose documents the daemon serves by default: those the clients run.
SERVED_LANGUAGES = frozenset(
    {
        "python", "r", "julia", "javascript", "typescript", "shellscript", "sh", "bash",
        "ruby", "lua", "scala", "sql", "c", "cpp", "go", "rust", "java",
    }
)  # fmt: skip

#: languageId -> (file extension, interpreter command)
_INTERPRETERS = {
    "python": ("py", "python"),
    "shellscript": ("sh", "sh"),
    "sh": ("sh", "sh"),
    "bash": ("sh", "bash"),
    "r": ("R", "Rscript"),
    "julia": ("jl", "julia"),
    "javascript": ("js", "node"),
    "ruby": ("rb", "ruby"),
    "perl": ("pl", "perl"),
}


def batch_file(language: str | None) -> tuple[str, str | None]:
    """``(extension, interpreter)`` for batch code in ``language`` (Python when unset).

    An unknown language gives ``("txt", None)``: the file is saved, and the run
    needs an explicit ``exec``.
    """
    return _INTERPRETERS.get((language or "python").lower(), ("txt", None))

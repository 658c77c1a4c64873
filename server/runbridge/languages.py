"""How code sent in batch mode is saved and run, by the editor's languageId."""

from __future__ import annotations

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

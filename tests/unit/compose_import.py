"""Hand-made Compose projects for the import tests, and the files a conversion writes."""

from __future__ import annotations

from pathlib import Path

from reconciler.desired.loader import load
from reconciler.importing.compose_convert import Conversion, convert
from reconciler.importing.compose_names import Naming
from reconciler.importing.emit import render, write
from reconciler.importing.project import ComposeProject, Origin


def project(services: dict, directory: Path = Path("/proj"), **top) -> ComposeProject:
    """A project `proj` in `directory` whose every key path is said to be at compose.yaml:<n>,
    n counting the paths in order; `written`, `dotenv`, `inactive`, `name` may be given."""
    extra = {key: top.pop(key) for key in ("written", "dotenv", "inactive", "name") if key in top}
    model = {"services": services, **top}
    origins = {path: Origin("compose.yaml", line) for line, path in enumerate(_paths(model), start=1)}
    return ComposeProject(extra.pop("name", "proj"), directory, (directory / "compose.yaml",), model, origins,
                          **extra)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def origin_of(compose: ComposeProject, *path) -> str:
    return str(compose.origins[tuple(path)])


def converted(compose: ComposeProject, out: Path = Path("/proj/out"), naming: Naming | None = None,
              keep_profiles: bool = True, target: str = "host") -> Conversion:
    return convert(compose, out, naming, keep_profiles, target)


def text(conversion: Conversion, file: str) -> str:
    """The file as written, without the header."""
    return render(conversion.files[file])


def table_lines(conversion: Conversion, file: str) -> list[str]:
    """The lines of the file's tables, comments and blank lines left out."""
    return [line for line in text(conversion, file).splitlines() if line and not line.startswith("#")]


def written_and_loaded(conversion: Conversion, out: Path, **load_options):
    """Write the conversion to `out` (env file beside it) and load it back as `validate` does."""
    env_path = out.with_name(out.name + ".env")
    write(out, conversion.files, env=conversion.env, env_path=env_path)
    return load(out, env_file=str(env_path) if conversion.env else None, **load_options)

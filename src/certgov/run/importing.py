"""`certgov import --env NAME`: one environment's tenant merged into the declarations that the
repository already holds for its other environments."""

from __future__ import annotations

from pathlib import Path

from certgov.importer import MergeResult, merge_environment, read_placed, schema_files
from certgov.run.facts import Connect


def import_environment(
    out: Path, environment: str, kinds: tuple[str, ...], connect: Connect
) -> tuple[MergeResult, int]:
    """Read `environment`'s live objects and merge them into the declarations under `out`
    (what `manage.<kind>.ignore` matches is left out, as plan leaves it); the merge, and how
    many files were written or removed, the JSON Schemas beside the declarations included."""
    from certgov.client import read_live_state
    from certgov.declarations.loader import load_config

    config = load_config(out, environment)
    placed = read_placed(out, config)
    with connect(config.endpoint) as client:
        live = read_live_state(client, kinds)
    ignore = {kind: config.manage[kind].ignore for kind in kinds}
    result = merge_environment(placed, live, environment, config.environments, kinds, ignore)
    schemas = {
        rel: text
        for rel, text in schema_files(out).items()
        if not (out / rel).is_file() or (out / rel).read_text(encoding="utf-8") != text
    }
    for rel, text in {**schemas, **result.files}.items():
        path = out / rel
        if text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
    return result, len(schemas) + len(result.files)

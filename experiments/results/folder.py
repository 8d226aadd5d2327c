"""A run folder read back: its manifest and its tables, in whichever format the run
wrote them (Parquet, CSV in the run's dialect, or the sheets of ``tables.xlsx``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from asielplan.errors import InputError, Issue
from asielplan.manifest import check_outputs

# identifiers stay text when read from CSV (a code such as 0363 keeps its zero)
ID_COLUMNS = ("household_id", "municipality", "site_id", "from_site", "code", "region")


@dataclass
class RunFolder:
    """A folder written by an asielplan run."""

    path: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """Read the folder's ``manifest.json``; an InputError when ``path`` is not a
        run folder."""
        folder = Path(path)

        def refuse(file: str, rule: str, message: str) -> InputError:
            return InputError([Issue(file, None, None, rule, message)], str(folder))

        if not folder.is_dir():
            raise refuse(str(folder), "run folder", "not a folder")
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise refuse(
                str(folder),
                "run folder",
                "no manifest.json: not a folder written by an asielplan run",
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise refuse("manifest.json", "readable JSON", str(exc)) from exc
        if not isinstance(manifest, dict):
            raise refuse("manifest.json", "manifest", "not a JSON object")
        wrong = [
            key
            for key, kind in (("config", dict), ("versions", dict), ("inputs_sha256", dict))
            if key in manifest and not isinstance(manifest[key], kind)
        ]
        if wrong:
            raise refuse("manifest.json", "manifest", f"{', '.join(wrong)}: not a JSON object")
        changed = check_outputs(folder, manifest)
        if changed:
            issues = [
                Issue(line.split(":")[0], None, None, "run's own file", line) for line in changed
            ]
            raise InputError(issues, str(folder))
        return cls(folder, manifest)

    @property
    def kind(self) -> str:
        """The command that wrote the folder (``place``, ``reception``, ``front``...)."""
        return str(self.manifest.get("command", ""))

    @property
    def dialect(self) -> str:
        output = self.manifest.get("config", {}).get("output", {})
        return str(output.get("csv_dialect", "standard"))

    def table(self, name: str) -> pd.DataFrame | None:
        """The table ``name``: Parquet when written, else its CSV (in the run's
        dialect), else its sheet of ``tables.xlsx``; None when the run has none."""
        parquet, csv = self.path / f"{name}.parquet", self.path / f"{name}.csv"
        workbook = self.path / "tables.xlsx"
        source = next((p for p in (parquet, csv, workbook) if p.is_file()), None)
        ids = dict.fromkeys(ID_COLUMNS, str)
        try:
            if source == parquet:
                return pd.read_parquet(parquet)
            if source == csv:
                if self.dialect == "nl":
                    return pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig", dtype=ids)
                return pd.read_csv(csv, dtype=ids)
            if source == workbook:
                return pd.read_excel(workbook, sheet_name=None, dtype=ids).get(name)
        except Exception as exc:  # a damaged file is the input's problem, said as such
            assert source is not None
            issue = Issue(source.name, None, None, "readable table", f"{type(exc).__name__}: {exc}")
            raise InputError([issue], str(self.path)) from None
        return None

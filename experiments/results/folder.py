"""A run folder read back: its manifest and its tables, in whichever format the run
wrote them (Parquet, CSV in the run's dialect, or the sheets of ``tables.xlsx``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from asielplan.errors import InputError, Issue

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
        if parquet.is_file():
            return pd.read_parquet(parquet)
        if csv.is_file():
            ids = dict.fromkeys(ID_COLUMNS, str)
            if self.dialect == "nl":
                return pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig", dtype=ids)
            return pd.read_csv(csv, dtype=ids)
        workbook = self.path / "tables.xlsx"
        if workbook.is_file():
            sheets = pd.read_excel(workbook, sheet_name=None, dtype=dict.fromkeys(ID_COLUMNS, str))
            return sheets.get(name)
        return None

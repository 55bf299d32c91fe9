"""Where a source's harvest stands: its watermark and, mid-harvest, the checkpoint to resume from.

Why a file per source under the data directory: per-source assets run concurrently and must not
open the warehouse (single writer); this JSON file, written atomically after every completed page,
is what lets a harvest killed midway resume from its last completed page. The publication mirrors
it into the warehouse (`harvest_state`).

- `watermark`: the newest modification date (CKAN metadata_modified, udata last_update, OAI-PMH
  datestamp) of a harvest that reached the end; the next run asks only for records from it on.
- `checkpoint`: how to ask for the next page of the harvest in progress (a start offset, a page
  URL, a resumptionToken), plus the watermark that harvest started from. None between harvests.

A state file that cannot be read (cut, overwritten, not JSON) is moved to the data directory's
quarantine folder and the harvest starts again from the beginning, with `last_error` naming the file:
the catalogue is cumulative, so a full harvest loses nothing, while failing would block the source
night after night.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from moisson.atomic_files import write_text
from moisson.quarantine import CorruptFile, quarantine

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarvestState:
    watermark: str | None = None
    checkpoint: dict | None = None
    pages_done: int = 0  # pages completed by the harvest in progress
    high_water: str | None = None  # newest date seen by the harvest in progress
    reached_end: bool = False  # the harvest in progress has its last page; only the merge is left
    last_completed_at: str | None = None
    last_error: str | None = None

    @property
    def in_progress(self) -> bool:
        return self.pages_done > 0 or self.checkpoint is not None

    def after_page(self, checkpoint: dict | None, newest: str | None) -> "HarvestState":
        high = max(filter(None, (self.high_water, newest)), default=None)
        return replace(self, checkpoint=checkpoint, pages_done=self.pages_done + 1, high_water=high,
                       reached_end=checkpoint is None, last_error=None)

    def completed(self) -> "HarvestState":
        watermark = max(filter(None, (self.watermark, self.high_water)), default=None)
        return HarvestState(watermark=watermark, last_completed_at=now_iso())

    def abandoned(self, why: str) -> "HarvestState":
        """The harvest in progress cannot resume (an expired resumption token): start again from the watermark."""
        return HarvestState(watermark=self.watermark, last_completed_at=self.last_completed_at, last_error=why)

    def interrupted(self, why: str) -> "HarvestState":
        return replace(self, last_error=why)


@dataclass(frozen=True)
class HarvestStateFile:
    path: Path
    tmp_dir: Path
    data_root: Path | None = None  # where quarantine/ is; None: the data directory that holds state/harvest/

    def load(self) -> HarvestState:
        if not self.path.exists():
            return HarvestState()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return HarvestState(**{k: v for k, v in data.items() if k in HarvestState.__dataclass_fields__})
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
            return self._recovered(error)

    def _recovered(self, error: Exception) -> HarvestState:
        """The state of a harvest that starts over, once the unreadable file is in quarantine."""
        moved = quarantine(self.path, self.data_root or self._data_directory())
        problem = CorruptFile(self.path, moved, error, "the catalogue is harvested again from the beginning")
        LOG.warning("harvest state %s", problem)
        return HarvestState(last_error=str(problem))

    def _data_directory(self) -> Path:
        """`<data>/state/harvest/<source>.json` (moisson.layout) lives two folders below the data directory."""
        harvest, state = self.path.parent, self.path.parent.parent
        return state.parent if (harvest.name, state.name) == ("harvest", "state") else harvest

    def restart(self, why: str) -> None:
        """Forget the watermark and any harvest in progress, so the next harvest reads the whole catalogue (the
        source's catalogue stage file was lost: what the watermark says was harvested is no longer there)."""
        self.save(HarvestState(last_error=why))

    def save(self, state: HarvestState) -> None:
        write_text(json.dumps(asdict(state), indent=2, sort_keys=True), self.path, self.tmp_dir)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

"""Where everything lives under the data directory; one place, so no step invents a path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLayout:
    root: Path
    remote: str | None = None  # s3://bucket/prefix when the data directory is on object storage: `root` is its local
    # cache then, pulled from and committed to the store by moisson/remote_data_dir.py

    @classmethod
    def at(cls, root: str | Path, cache_dir: str | Path | None = None) -> "DataLayout":
        """A local folder, or `s3://bucket/prefix` (BadLocation when it is not a usable one) worked on in its cache."""
        if isinstance(root, str) and root.startswith("s3:"):
            from moisson.object_store import parse_location
            from moisson.remote_data_dir import cache_root

            location = parse_location(root)
            return cls(cache_root(location, cache_dir), str(location))
        return cls(Path(root).resolve())

    def __str__(self) -> str:
        """Where the data directory is, as the user named it."""
        return self.remote or str(self.root)

    # published, for users
    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def rejected_dir(self) -> Path:
        return self.root / "rejected"

    @property
    def dataset_card(self) -> Path:
        return self.corpus_dir / "README.md"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def releases_dir(self) -> Path:
        """Frozen corpora, one folder per version (`moisson release`), never changed once written."""
        return self.root / "releases"

    @property
    def takedowns_file(self) -> Path:
        """Removal requests the next publication applies (moisson/takedowns.py)."""
        return self.root / "takedowns.csv"

    # internal, between assets
    def stage_file(self, stage: str, source: str) -> Path:
        return self.root / "stages" / stage / f"{source}.parquet"

    def shards_dir(self, source: str) -> Path:
        """Each shard's raw records and captured rules files (sources/shards.py names the files in it)."""
        return self.root / "stages" / "shards" / source

    def failures_file(self, stage: str, source: str) -> Path:
        return self.root / "stages" / "failures" / stage / f"{source}.parquet"

    @property
    def failures_dir(self) -> Path:
        return self.root / "stages" / "failures"

    @property
    def deduplicated(self) -> Path:
        return self.root / "stages" / "deduplicated.parquet"

    def extraction_cache_dir(self, source: str) -> Path:
        return self.root / "state" / "extractions" / source

    @property
    def dedup_store(self) -> Path:
        return self.root / "state" / "dedup"

    # portal harvests: fetched payloads by hash, and per-source harvest state
    @property
    def raw_store_dir(self) -> Path:
        return self.root / "raw" / "sha256"

    def harvest_state_file(self, source: str) -> Path:
        return self.harvest_state_dir / f"{source}.json"

    def harvest_pages_dir(self, source: str) -> Path:
        """Catalogue pages of the harvest in progress, kept until it reaches the end (resume)."""
        return self.harvest_state_dir / source

    def fetch_memory_file(self, source: str) -> Path:
        return self.root / "state" / "fetch" / f"{source}.json"

    @property
    def tdmrep_dir(self) -> Path:
        """Each site's /.well-known/tdmrep.json as last fetched (sources/tdm_reservation.py's WellKnownCache)."""
        return self.root / "state" / "tdmrep"

    @property
    def harvest_state_dir(self) -> Path:
        return self.root / "state" / "harvest"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def lock_file(self) -> Path:
        """Held by `moisson run` for its whole run (pipelines/cli.py)."""
        return self.root / ".moisson.lock"

    @property
    def publish_lock_file(self) -> Path:
        """Held by each publish step, however it was launched (moisson/publication_lock.py)."""
        return self.root / ".moisson-publish.lock"

    @property
    def quarantine_dir(self) -> Path:
        """Unreadable state and stage files, moved aside under their relative path (moisson/quarantine.py)."""
        return self.root / "quarantine"

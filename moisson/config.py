"""The sources file: what to harvest and the policy a document must meet to enter the corpus.

Read once, validated once. Every error names the file, the source and the field, because the
person reading it is a data engineer who wrote the YAML and needs to know which line to fix.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from moisson.text_quality import QualityThresholds

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SPDX_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


class ConfigError(ValueError):
    """A sources file that cannot be used, with every problem listed in words a user can act on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceBase(_Strict):
    name: str = Field(description="Unique name; also the Dagster partition key.")
    paths: list[str] = Field(min_length=1, description="Paths or glob patterns, relative to the sources file.")
    license: str | None = Field(
        default=None, description="SPDX id the user asserts for documents that carry no licence evidence."
    )
    description: str | None = None
    citation: str | None = Field(default=None, description="How to cite this source, copied into the dataset card.")

    @field_validator("name")
    @classmethod
    def _name_is_a_key(cls, value: str) -> str:
        if not SOURCE_NAME.match(value):
            raise ValueError("must be 1-64 characters of lowercase letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("license")
    @classmethod
    def _license_is_spdx(cls, value: str | None) -> str | None:
        if value is not None and not SPDX_LIKE.match(value):
            raise ValueError(f"{value!r} is not an SPDX licence id (e.g. CC-BY-4.0, etalab-2.0, LicenseRef-...)")
        return value


class WarcSource(_SourceBase):
    """WARC or WET files (gzip or plain, WARC/1.0 and 1.1)."""

    kind: Literal["warc"]


class FilesSource(_SourceBase):
    """Local dumps: JSONL (one document per line), plain text and HTML files."""

    kind: Literal["files"]


SourceConfig = Annotated[Union[WarcSource, FilesSource], Field(discriminator="kind")]


class LicencePolicy(_Strict):
    allow: list[str] = Field(min_length=1, description="SPDX ids that may enter the corpus; anything else is rejected.")


class QualityPolicy(QualityThresholds):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True


class DedupPolicy(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0.0, le=1.0, description="Jaccard similarity above which two documents are near duplicates.")
    shingle_size: int = Field(default=5, ge=1, le=32, description="Words per shingle.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations.")
    seed: int = 1


class LanguagePolicy(_Strict):
    min_score: float = Field(default=0.5, ge=0.0, le=1.0, description="Below this the language is 'und'.")
    min_chars: int = Field(default=20, ge=0, description="Texts shorter than this are 'und': too short to tell.")
    prefix_chars: int = Field(default=2000, ge=100, description="Only this many characters are read to decide.")


class OutputPolicy(_Strict):
    max_file_rows: int = Field(default=50_000, ge=1)
    max_file_mb: int = Field(default=256, ge=1)


class Policy(_Strict):
    languages: list[str] | Literal["all"] = "all"
    language: LanguagePolicy = LanguagePolicy()
    licenses: LicencePolicy
    quality: QualityPolicy = QualityPolicy()
    dedup: DedupPolicy = DedupPolicy()
    output: OutputPolicy = OutputPolicy()

    @field_validator("languages")
    @classmethod
    def _languages_are_codes(cls, value):
        if value == "all":
            return value
        if not value:
            raise ValueError("list at least one language code, or write: all")
        bad = [code for code in value if not re.fullmatch(r"[a-z]{2,3}", code)]
        if bad:
            raise ValueError(f"not ISO 639 codes: {bad} (use lowercase codes such as fr, en, de, or 'und')")
        return value

    def keeps_language(self, code: str) -> bool:
        return self.languages == "all" or code in self.languages


class MoissonConfig(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)
    policy: Policy
    base_dir: Path = Field(default=Path("."), exclude=True, description="Folder of the sources file; paths are relative to it.")

    @model_validator(mode="after")
    def _names_unique(self) -> "MoissonConfig":
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice; names are partition keys and must be unique")
            seen.add(source.name)
        return self

    def source(self, name: str) -> WarcSource | FilesSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r} (known: {', '.join(self.source_names)})")

    @property
    def source_names(self) -> list[str]:
        return [source.name for source in self.sources]

    def resolve_paths(self, source: WarcSource | FilesSource) -> list[Path]:
        """Expand the source's paths and globs, sorted so that every run reads files in the same order."""
        found: set[Path] = set()
        for pattern in source.paths:
            full = pattern if Path(pattern).is_absolute() else str(self.base_dir / pattern)
            found.update(Path(p).resolve() for p in glob.glob(full, recursive=True) if Path(p).is_file())
        return sorted(found)


def _describe(error: dict, raw: dict) -> str:
    loc = list(error["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        index = loc[1]
        entries = raw.get("sources") if isinstance(raw, dict) else None
        name = None
        if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
            name = entries[index].get("name")
        where.append(f"source {name!r}" if name else f"source #{index + 1}")
        loc = loc[2:]
        if loc and loc[0] in ("warc", "files"):  # pydantic's discriminator tag
            loc = loc[1:]
    field = ".".join(str(part) for part in loc)
    if field:
        where.append(f"field {field!r}")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] == "union_tag_invalid":
        found = error.get("input", {}).get("kind") if isinstance(error.get("input"), dict) else None
        message = f"unknown kind {found!r}; expected one of: warc, files"
    return f"{', '.join(where) or 'top level'}: {message}"


def load_config(path: str | Path) -> MoissonConfig:
    """Read and validate a sources file; raise ConfigError naming the file, source and field of each problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'sources' and 'policy', found {type(raw).__name__}")
    try:
        return MoissonConfig.model_validate({**raw, "base_dir": path.resolve().parent})
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe(err, raw)}" for err in exc.errors())
        raise ConfigError(f"{path}: invalid sources file\n{problems}") from None

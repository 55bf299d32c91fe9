"""Publication assets, across all sources: deduplication, the published corpus, the warehouse.

Each one holds the data directory's publication lock (moisson.publication_lock) for all of its work,
however the run was launched (`moisson run`, the UI, the schedule, a sensor): two publications never
interleave their reads and writes of the index, the corpus or the warehouse.
"""


from contextlib import contextmanager
from datetime import datetime, timezone

import polars as pl

import dagster as dg

from assets.curation import QUALITY
from assets.resources import MoissonResource
from assets.stage_files import describe
from moisson import curation
from moisson.atomic_files import write_parquet
from moisson.dataset_card import corpus_counts, source_rows, write_dataset_card
from moisson.deduplication import open_store
from moisson.layout import DataLayout
from moisson.parquet_files import parts, read_frame
from moisson.publication import (CORPUS_SCHEMA, REJECTED_SCHEMA, append_to_tree, corpus_texts, remove_repeated_ids,
                                 take_down_published)
from moisson.publication_lock import PublicationBusy, publication_lock, wait_seconds_from_env
from moisson.quarantine import CorruptFile
from moisson.takedowns import Takedown, TakedownError, load_takedowns
from sources.harvest_state import HarvestStateFile
from warehouse.load import Publication, load_publication

PUBLICATION = dict(group_name="publication", owners=["team:data-engineering"])


@contextmanager
def publishing(context: dg.AssetExecutionContext, layout: DataLayout):
    """The publication lock for this step, its wait logged; a step that waits too long fails, publishing nothing."""
    holder = f"step {context.op_def.name} of run {context.run.run_id}"
    try:
        with publication_lock(layout.publish_lock_file, holder, wait_seconds_from_env(), context.log.info) as waited:
            yield waited
    except PublicationBusy as busy:
        raise dg.Failure(str(busy)) from None


def takedowns(layout: DataLayout) -> list[Takedown]:
    """The removal requests of `takedowns.csv`; one that cannot be applied fails the step before it writes anything
    (fail-closed: no corpus is published while a removal request cannot be honoured)."""
    try:
        return load_takedowns(layout.takedowns_file)
    except TakedownError as error:
        raise dg.Failure(f"takedowns file not applied, nothing published: {error}",
                         metadata={"takedowns_file": dg.MetadataValue.path(str(error.path)),
                                   "line": error.line if error.line is not None else -1}) from None


@dg.asset(deps=[QUALITY], kinds={"parquet", "datasketch"}, **PUBLICATION)
def deduplicated(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Exact (normalised text hash) and near duplicates (MinHash + LSH), across sources and across runs.

    Documents are compared with everything already in the corpus; a cluster keeps the document already
    published if any, else its first occurrence (sources in the sources file's order, then the order each
    was read in), then the earliest retrieved. Its output holds every document of the current sources with
    its decision.

    Documents a takedown rule matches (`takedowns.csv`) are rejected with reason `takedown` first, so they never
    enter the index as kept, however often they are harvested again. One the index already keeps from an earlier
    run stays in it: its near duplicates keep losing to it and stay out of the corpus too.
    """
    config, layout = moisson.config(), moisson.layout()
    rules = takedowns(layout)
    with publishing(context, layout) as waited:
        frames = [read_frame(p) for s in config.source_names if (p := layout.stage_file("quality_filtered", s)).exists()]
        if not frames:
            raise dg.Failure("no source has been curated yet: materialise quality_filtered for at least one source")
        documents = curation.with_curation_columns(pl.concat(frames, how="diagonal_relaxed"))
        documents = curation.reject_taken_down(documents, rules)
        if config.policy.dedup.enabled:
            store, provenance = open_store(layout.dedup_store, layout.corpus_dir, config.policy.dedup, layout.tmp_dir,
                                           corpus_texts(layout.corpus_dir), data_root=layout.root,
                                           execution=config.policy.execution)
            (context.log.warning if "unreadable" in provenance else context.log.info)(f"dedup index: {provenance}")
            documents = curation.deduplicate_documents(documents, store, config.source_names)
        else:
            store, provenance = None, "deduplication disabled by the policy"
            documents = curation.keep_pending(documents)
        documents = documents.with_columns(run_id=pl.lit(context.run.run_id))
        write_parquet(documents.to_arrow(), layout.deduplicated, layout.tmp_dir)
        kept_in_index = store.kept_count() if store else 0
    return dg.MaterializeResult(
        metadata=describe(documents, rejected_by=["exact_duplicate", "near_duplicate", "takedown"], sources=len(frames),
                          kept_in_index=kept_in_index, index=provenance, takedown_rules=len(rules),
                          publish_lock_waited_s=round(waited, 1))
    )


@dg.asset(deps=[deduplicated], kinds={"parquet"}, **PUBLICATION)
def corpus(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """The published corpus (Parquet, zstd, one folder per language) and the rejected tree beside it.

    Published rows a takedown rule matches, whichever run published them, leave the corpus (and any other rejected
    folder) for `rejected/takedown/`, their content erased (`taken_down` counts those that left the corpus)."""
    config, layout = moisson.config(), moisson.layout()
    output = config.policy.output
    limits = dict(run_id=context.run.run_id, tmp_dir=layout.tmp_dir, max_rows=output.max_file_rows, max_bytes=output.max_file_mb << 20)
    rules = takedowns(layout)
    with publishing(context, layout) as waited:
        # a rule written since deduplication ran applies too: nothing it matches is appended
        documents = curation.with_status(curation.reject_taken_down(read_frame(layout.deduplicated), rules))
        repaired = {tree.name: _repair(context, tree, layout) for tree in (layout.corpus_dir, layout.rejected_dir)}
        taken = take_down_published(layout.corpus_dir, layout.rejected_dir, rules, layout.tmp_dir,
                                    max_rows=limits["max_rows"], max_bytes=limits["max_bytes"])
        for moved, where in ((taken.corpus, "the corpus"), (taken.rejected, "other rejected folders")):
            if moved:
                context.log.info(f"takedowns: {moved} document(s) moved from {where} to {layout.rejected_dir / 'takedown'}")
        added = append_to_tree(documents.filter(pl.col("status") == "kept"), layout.corpus_dir, "language", CORPUS_SCHEMA, **limits)
        rejected = append_to_tree(documents.filter(pl.col("status") == "rejected"), layout.rejected_dir, "reason", REJECTED_SCHEMA, **limits)
        counts = corpus_counts(layout.corpus_dir)
    total_documents, total_words, _ = counts["total"][0]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total_documents,
            "added": added,
            "rejected_added": rejected,
            "repeated_copies_removed": sum(repaired.values()),
            "taken_down": taken.corpus,
            "taken_down_from_rejected": taken.rejected,
            "publish_lock_waited_s": round(waited, 1),
            "words": total_words,
            "by_language": dg.MetadataValue.json({lang: n for lang, n, _ in counts["language"]}),
            "by_license": dg.MetadataValue.json({lic: n for lic, n, _ in counts["license"]}),
            "path": dg.MetadataValue.path(str(layout.corpus_dir)),
        }
    )


def _repair(context: dg.AssetExecutionContext, tree, layout: DataLayout) -> int:
    """Copies of an already published id (left by publications that overlapped before they took the lock) removed."""
    removed = remove_repeated_ids(tree, layout.tmp_dir)
    for part, rows in removed.items():
        context.log.warning(f"{tree / part}: {rows} repeated cop{'y' if rows == 1 else 'ies'} of documents published "
                            "earlier removed (each id is kept once, its earliest copy)")
    return sum(removed.values())


def _commit_remote(context: dg.AssetExecutionContext, layout: DataLayout) -> str | None:
    """A publication launched by the UI or the daemon on an s3:// data directory: its local copy committed once the
    warehouse and the card are written (moisson/remote_data_dir.py); the publication id, None when unchanged.
    `moisson run` hands its steps the local copy itself and commits at its end."""
    from moisson.object_store import ObjectStoreError
    from moisson.remote_data_dir import commit_cache

    try:
        commit = commit_cache(layout, context.log.info)
    except ObjectStoreError as error:
        raise dg.Failure(f"published in {layout.root} but not committed at {layout.remote}: {error}") from None
    return commit["publication"] if commit else None


def _harvest_lost_catalogues_again(layout: DataLayout, sources: list[str], unreadable: list[CorruptFile]) -> None:
    """A catalogue stage file moved to quarantine is rebuilt by the source's next harvest, which must then read
    the whole catalogue, not only what changed since the watermark."""
    moved = {problem.path for problem in unreadable}
    for source in sources:
        if moved & {layout.stage_file("datasets", source), layout.stage_file("resources", source)}:
            HarvestStateFile(layout.harvest_state_file(source), layout.tmp_dir, layout.root).restart(
                "the catalogue stage file was unreadable and moved to quarantine: the next harvest reads the whole catalogue")


@dg.asset(deps=[corpus], kinds={"duckdb"}, **PUBLICATION)
def warehouse(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """warehouse.duckdb: every document seen (kept or rejected, with reason), sources, runs, failures, takedowns, views;
    then the dataset card beside the corpus (corpus/README.md and its plots), from the corpus and the warehouse.

    Every takedown rule applies to every document of the warehouse, those of sources that did not run this time
    included, in the same transaction as the load."""
    config, layout = moisson.config(), moisson.layout()
    started = datetime.fromtimestamp(context.instance.get_run_stats(context.run.run_id).start_time or 0, tz=timezone.utc)
    rules = takedowns(layout)
    with publishing(context, layout) as waited:
        failure_files = [p for p in parts(layout.failures_dir) if p.stem in config.source_names]
        loaded = load_publication(
            layout.warehouse, config, Publication(
                context.run.run_id, started, layout.deduplicated, failure_files,
                catalogue_files={s: (layout.stage_file("datasets", s), layout.stage_file("resources", s)) for s in config.source_names},
                harvest_state_files={s: layout.harvest_state_file(s) for s in config.source_names},
                data_root=layout.root, takedowns=rules,
            )
        )
        # the card's filtering, opt-out and rejection figures are the warehouse's: written once it holds this run
        write_dataset_card(layout.corpus_dir, parts(layout.corpus_dir), layout.warehouse,
                           config.policy.model_dump(mode="json"), source_rows(config), layout.tmp_dir)
        committed = _commit_remote(context, layout) if layout.remote and not loaded.unreadable else None
    metadata = {**loaded.counts, "publish_lock_waited_s": round(waited, 1), "path": dg.MetadataValue.path(str(layout.warehouse)),
                "dataset_card": dg.MetadataValue.path(str(layout.dataset_card))}
    if committed:
        metadata["committed_publication"] = committed
    if loaded.unreadable:
        # everything readable is loaded and committed; the run still fails, once, so that nobody misses it
        for problem in loaded.unreadable:
            context.log.error(str(problem))
        _harvest_lost_catalogues_again(layout, config.source_names, loaded.unreadable)
        raise dg.Failure(
            description="the warehouse is loaded, except from these unreadable files (moved to quarantine): "
                        + " | ".join(str(problem) for problem in loaded.unreadable),
            metadata={**metadata, "quarantined": dg.MetadataValue.json([str(p.moved_to) for p in loaded.unreadable])},
        )
    return dg.MaterializeResult(metadata=metadata)


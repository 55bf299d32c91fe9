"""The catalogue asset: datasets and resources of a portal source, harvested before any file is fetched."""

import dagster as dg

from assets.partitions import SOURCE_PARTITIONS
from assets.resources import MoissonResource
from assets.stage_files import describe_failures, write_failures
from moisson.config import PORTAL_KINDS
from sources.portal import harvest_catalogue, http_client


@dg.asset(group_name="harvest", kinds={"parquet"}, partitions_def=SOURCE_PARTITIONS, owners=["team:data-engineering"])
def catalogue(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Catalogue records (datasets, resources, licences) of a CKAN, udata, DCAT or OAI-PMH source.

    Pages are saved one by one with a checkpoint, so a killed harvest resumes where it stopped; the
    watermark advances only when the last page is in. File sources (warc, files) have no catalogue.
    """
    config, layout, name = moisson.config(), moisson.layout(), context.partition_key
    source = config.source(name)
    if source.kind not in PORTAL_KINDS:
        return dg.MaterializeResult(metadata={"catalogue": f"none: a {source.kind} source has no catalogue"})
    client = http_client(config, source)
    try:
        result = harvest_catalogue(config, source, layout, client)
    finally:
        client.close()
    write_failures(layout, "catalogue", name, result.failures, context.run.run_id, context.log)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(result.datasets),
        "harvested_this_run": result.harvested,
        "pages": result.pages,
        "requests": client.requests_sent,
        "complete": result.complete,
        "watermark": result.state.watermark or "",
        "deleted": sum(d.deleted for d in result.datasets),
        "resources": sum(len(d.resources) for d in result.datasets),
        **describe_failures(result.failures),
    })

-- Moisson warehouse: every document seen, kept or not, with the reason; the sources, the runs and the failures.
CREATE TABLE IF NOT EXISTS documents (
    id               VARCHAR PRIMARY KEY,   -- stable: same input, same id
    status           VARCHAR NOT NULL,      -- kept | rejected
    reason           VARCHAR,               -- extraction | language | licence | opt_out | quality | personal_data | exact_duplicate | near_duplicate | takedown
    reason_detail    VARCHAR,               -- why, in words
    duplicate_of     VARCHAR,               -- id of the kept document for duplicates
    similarity       DOUBLE,                -- estimated Jaccard similarity for near duplicates
    text             VARCHAR,
    url              VARCHAR,
    title            VARCHAR,
    language         VARCHAR,
    language_score   DOUBLE,
    language_method  VARCHAR,
    language_hint    VARCHAR,
    license          VARCHAR,               -- SPDX id or 'unknown'
    license_evidence VARCHAR,
    source           VARCHAR NOT NULL,
    source_kind      VARCHAR NOT NULL,
    locator          VARCHAR,               -- file and offset or line in the source
    record_key       VARCHAR,               -- the record's own id: WARC-Record-ID, JSONL id, file name
    content_type     VARCHAR,
    retrieved_at     TIMESTAMPTZ,
    content_sha256   VARCHAR,
    n_chars          BIGINT,
    n_words          BIGINT,
    quality_signals  JSON,
    run_id           VARCHAR,               -- run that last decided this document
    first_seen_run   VARCHAR,
    format           VARCHAR,               -- what was read: html, text, pdf, docx, odt, epub, tei, jats, image, wikitext
    page_starts      BIGINT[],              -- paged formats: offset in text where each page starts
    ocr_confidence   DOUBLE,                -- mean Tesseract word confidence (0-100) when pages were OCRed
    opt_out          VARCHAR,               -- text and data mining: reserved | not_reserved | unknown
    opt_out_evidence VARCHAR,               -- what said so (protocol: value read)
    personal_data    JSON                   -- identifiers found per type ({"EMAIL": 2}); redacted unless counted only
);
-- warehouses written before documents had formats
ALTER TABLE documents ADD COLUMN IF NOT EXISTS format VARCHAR;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS page_starts BIGINT[];
ALTER TABLE documents ADD COLUMN IF NOT EXISTS ocr_confidence DOUBLE;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS opt_out VARCHAR;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS opt_out_evidence VARCHAR;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS personal_data JSON;

CREATE TABLE IF NOT EXISTS sources (
    name             VARCHAR PRIMARY KEY,
    kind             VARCHAR NOT NULL,
    paths            JSON,
    declared_license VARCHAR,
    description      VARCHAR,
    citation         VARCHAR,
    last_run_id      VARCHAR,
    updated_at       TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS runs (
    run_id           VARCHAR PRIMARY KEY,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    sources_file     VARCHAR,
    policy           JSON,
    documents_seen   BIGINT,
    kept             BIGINT,
    rejected         BIGINT,
    added_to_corpus  BIGINT,
    failures         BIGINT,
    user_agent       VARCHAR                -- what Moisson's own fetches called themselves (http.user_agent and contact)
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS user_agent VARCHAR;  -- warehouses written before it was recorded

CREATE TABLE IF NOT EXISTS failures (
    source           VARCHAR NOT NULL,
    record           VARCHAR NOT NULL,      -- file@offset, file:line, or URL
    stage            VARCHAR NOT NULL,      -- harvest | extraction | ...
    error_class      VARCHAR,
    message          VARCHAR,
    run_id           VARCHAR,               -- run of the source that last met this failure
    first_seen_at    TIMESTAMPTZ,
    last_seen_at     TIMESTAMPTZ,
    retry_count      INTEGER NOT NULL DEFAULT 0,
    next_retry_at    TIMESTAMPTZ,           -- the next scheduled run reads the record again
    resolved_at      TIMESTAMPTZ,           -- set when a later run of the source no longer fails on it
    PRIMARY KEY (source, record, stage)
);

-- Portal catalogues: every dataset and resource ever harvested, a deleted one marked, never erased.
CREATE TABLE IF NOT EXISTS datasets (
    source           VARCHAR NOT NULL,
    portal           VARCHAR,               -- the endpoint harvested (CKAN/udata root, DCAT URL, OAI-PMH base URL)
    dataset_id       VARCHAR NOT NULL,      -- CKAN/udata id, DCAT identifier, OAI-PMH identifier
    name             VARCHAR,
    title            VARCHAR,
    description      VARCHAR,
    publisher        VARCHAR,
    language         VARCHAR,
    created          VARCHAR,
    modified         VARCHAR,               -- as the portal wrote it (metadata_modified, last_update, datestamp)
    landing_page     VARCHAR,
    license_raw      VARCHAR,               -- the licence value the portal gave
    license          VARCHAR,               -- SPDX id or LicenseRef-, NULL when unknown
    license_verdict  VARCHAR,               -- allow | review | reject
    identifiers      VARCHAR[],
    deleted          BOOLEAN NOT NULL DEFAULT false,   -- deleted or withdrawn upstream
    harvested_at     VARCHAR,
    PRIMARY KEY (source, dataset_id)
);

CREATE TABLE IF NOT EXISTS resources (
    source           VARCHAR NOT NULL,
    portal           VARCHAR,
    dataset_id       VARCHAR NOT NULL,
    resource_id      VARCHAR NOT NULL,
    record_key       VARCHAR,               -- documents.record_key of what was extracted from it (+ '!member' for archives)
    url              VARCHAR,
    title            VARCHAR,
    format           VARCHAR,
    media_type       VARCHAR,
    size             BIGINT,
    checksum         VARCHAR,
    modified         VARCHAR,
    deleted          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (source, dataset_id, resource_id)
);

CREATE TABLE IF NOT EXISTS harvest_state (
    source            VARCHAR PRIMARY KEY,
    watermark         VARCHAR,              -- newest modification date of the last complete harvest
    checkpoint        JSON,                 -- where a harvest in progress resumes; NULL between harvests
    pages_done        BIGINT,
    last_completed_at VARCHAR,
    last_error        VARCHAR,
    loaded_run_id     VARCHAR
);

-- The removal requests of takedowns.csv as the last publication applied them (replaced by every load): each rule,
-- and how many documents of the warehouse it matches (those documents are rejected with reason 'takedown').
CREATE TABLE IF NOT EXISTS takedowns (
    line             INTEGER PRIMARY KEY,   -- where the rule is written in takedowns.csv (the header is line 1)
    match            VARCHAR NOT NULL,      -- id | url | url_prefix | domain | content_sha256
    value            VARCHAR NOT NULL,      -- as compared: a domain in lower case, a content hash in lower case
    date             DATE NOT NULL,         -- when the request was made
    reason           VARCHAR NOT NULL,      -- who asked, on what grounds
    documents        BIGINT NOT NULL,       -- documents it matches (one matched by two rules counts for both)
    loaded_run_id    VARCHAR
);

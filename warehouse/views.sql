-- Views an analyst reaches for first.
CREATE OR REPLACE VIEW corpus AS
    SELECT * EXCLUDE (status, reason, reason_detail, duplicate_of, similarity) FROM documents WHERE status = 'kept';

CREATE OR REPLACE VIEW rejections_by_reason AS
    SELECT reason, source, count(*) AS documents, sum(n_words) AS words
    FROM documents WHERE status = 'rejected' GROUP BY ALL ORDER BY documents DESC, reason, source;

CREATE OR REPLACE VIEW licence_breakdown AS
    SELECT license, status, count(*) AS documents, sum(n_words) AS words,
           count(*) FILTER (WHERE license_evidence LIKE 'declared%') AS declared_by_source
    FROM documents WHERE license IS NOT NULL GROUP BY ALL ORDER BY documents DESC, license, status;

CREATE OR REPLACE VIEW language_breakdown AS
    SELECT language, status, count(*) AS documents, sum(n_words) AS words, round(avg(language_score), 3) AS mean_score
    FROM documents WHERE language IS NOT NULL GROUP BY ALL ORDER BY documents DESC, language, status;

CREATE OR REPLACE VIEW source_summary AS
    SELECT s.name AS source, s.kind,
           count(d.id) AS documents,
           count(d.id) FILTER (WHERE d.status = 'kept') AS kept,
           count(d.id) FILTER (WHERE d.status = 'rejected') AS rejected,
           (SELECT count(*) FROM failures f WHERE f.source = s.name AND f.resolved_at IS NULL) AS open_failures
    FROM sources s LEFT JOIN documents d ON d.source = s.name GROUP BY ALL ORDER BY s.name;

CREATE OR REPLACE VIEW duplicate_clusters AS
    SELECT duplicate_of AS kept_id, count(*) AS duplicates, list(id ORDER BY id) AS duplicate_ids
    FROM documents WHERE duplicate_of IS NOT NULL GROUP BY 1 ORDER BY duplicates DESC, kept_id;

CREATE OR REPLACE VIEW open_failures AS
    SELECT * FROM failures WHERE resolved_at IS NULL ORDER BY last_seen_at DESC, source, record;

-- From a document back to the portal record it came from: resource, dataset, licence as the portal gave it.
CREATE OR REPLACE VIEW document_lineage AS
    SELECT d.id, d.status, d.reason, d.source, d.url, d.license, d.license_evidence, d.locator,
           r.portal, r.dataset_id, r.resource_id, r.format, ds.title AS dataset_title, ds.publisher,
           ds.license_raw AS dataset_license_raw, ds.license AS dataset_license, ds.license_verdict,
           ds.landing_page, ds.deleted AS dataset_deleted
    FROM documents d
    JOIN resources r ON r.source = d.source
        AND (d.record_key = r.record_key OR starts_with(d.record_key, r.record_key || '!'))
    JOIN datasets ds ON ds.source = r.source AND ds.dataset_id = r.dataset_id;

-- What removal requests took out: one row per document, with the rule that matched it (ids for release notes).
CREATE OR REPLACE VIEW taken_down AS
    SELECT id, source, url, content_sha256, reason_detail AS takedown, run_id
    FROM documents WHERE reason = 'takedown' ORDER BY id;

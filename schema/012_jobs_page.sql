-- Hourglass schema, migration 012: the dashboard's job pages.
--
-- GET /api/v1/jobs pages by keyset (namespace, name) (docs/api.md). The
-- unique key uq_jobs_name serves pages without a status filter; a page of
-- one status (the dashboard's "paused" tab, at a million jobs) needs the
-- status first and then the same order, or it would scan every job of the
-- other statuses to fill a page. The new index starts with status, so it
-- also serves what ix_jobs_status served, which goes. A name prefix searched
-- in every namespace pages in (name, namespace) order on ix_jobs_name: in
-- (namespace, name) order its matches could sit at the end of a namespace
-- of a million jobs.

ALTER TABLE jobs ADD INDEX ix_jobs_status_name (status, namespace, name)
;
ALTER TABLE jobs DROP INDEX ix_jobs_status
;
ALTER TABLE jobs ADD INDEX ix_jobs_name (name, namespace)

-- Narrow indexes for counts and filter values (docs/postgres-source.md#indexes).
--
-- A preview answers its total with COUNT(*) under the page's conditions,
-- and filter values with COUNT(*) ... GROUP BY the field. PostgreSQL counts
-- from an index alone (an index-only scan) only when every column the
-- statement names is a column of the index: an index on lower(stage) alone
-- does not qualify, because the planner sees that the statement reads
-- "stage" and the index does not hold it, so it read the table instead
-- (a quarter of a 1M-contact tenant's heap for `stage equals`, all of it
-- for filter values on stage). Each index below holds the raw column after
-- its lower-case form. Every key column, no INCLUDE: B-tree deduplication
-- then stores each distinct (tenant, value) once with a list of row ids, so
-- an index of 1M rows with few distinct values is a few MB, and the count
-- reads that instead of the table or of a wide ordered index.
--
-- The ordered indexes of 0001 stay: they serve the filtered pages.

-- Name searches: the raw names too, so contains and startsWith count from
-- the index.
DROP INDEX contacts_by_name;
CREATE INDEX contacts_by_name ON contacts (tenant, lower("firstName" COLLATE pg_unicode_fast), lower("paternalLastName" COLLATE pg_unicode_fast), "firstName", "paternalLastName");
CREATE INDEX contacts_count_by_stage ON contacts (tenant, lower("stage" COLLATE pg_unicode_fast), "stage");
CREATE INDEX contacts_count_by_contacttype ON contacts (tenant, lower("contactType" COLLATE pg_unicode_fast), "contactType");
CREATE INDEX contacts_count_by_contactsource ON contacts (tenant, lower("contactSource" COLLATE pg_unicode_fast), "contactSource");
CREATE INDEX contacts_count_by_segment ON contacts (tenant, lower("segment" COLLATE pg_unicode_fast), "segment");
CREATE INDEX contacts_count_by_isactive ON contacts (tenant, "isActive");
CREATE INDEX contacts_count_by_country ON contacts (tenant, lower("country" COLLATE pg_unicode_fast), "country");
CREATE INDEX contacts_count_by_city ON contacts (tenant, lower("city" COLLATE pg_unicode_fast), "city");
CREATE INDEX contacts_count_by_organisationid ON contacts (tenant, lower("organisationId" COLLATE pg_unicode_fast), "organisationId");
CREATE INDEX contacts_count_by_householdid ON contacts (tenant, lower("householdId" COLLATE pg_unicode_fast), "householdId");

DROP INDEX organisations_by_name;
CREATE INDEX organisations_by_name ON organisations (tenant, lower("name" COLLATE pg_unicode_fast), "name");
CREATE INDEX organisations_count_by_industry ON organisations (tenant, lower("industry" COLLATE pg_unicode_fast), "industry");
CREATE INDEX organisations_count_by_isactive ON organisations (tenant, "isActive");
CREATE INDEX organisations_count_by_country ON organisations (tenant, lower("country" COLLATE pg_unicode_fast), "country");
CREATE INDEX organisations_count_by_city ON organisations (tenant, lower("city" COLLATE pg_unicode_fast), "city");

DROP INDEX households_by_name;
CREATE INDEX households_by_name ON households (tenant, lower("name" COLLATE pg_unicode_fast), "name");
CREATE INDEX households_count_by_primarycontactid ON households (tenant, lower("primaryContactId" COLLATE pg_unicode_fast), "primaryContactId");
CREATE INDEX households_count_by_isactive ON households (tenant, "isActive");
CREATE INDEX households_count_by_country ON households (tenant, lower("country" COLLATE pg_unicode_fast), "country");
CREATE INDEX households_count_by_city ON households (tenant, lower("city" COLLATE pg_unicode_fast), "city");

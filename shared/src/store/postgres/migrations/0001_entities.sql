-- The entity tables the PostgreSQL entity source reads (docs/postgres-source.md).
-- One table per entity: the tenant, a typed column per standard field (named
-- as the field, so quoted), and the whole record as jsonb in "data", where
-- custom fields ("custom:cf_<uuid>") are read from. A CRM that keeps its own
-- tables creates views of this shape instead, and its own indexes.
--
-- Text columns use the "C" collation: the source orders text by
-- lower(t COLLATE pg_unicode_fast) COLLATE "C", then t COLLATE "C" (the
-- service's own order, byte-wise after Unicode lower case), and compares
-- lower-case forms in filters. The indexes below are on those expressions.
-- Ties are broken by the id, ordered the same way (lower case, then bytes).

CREATE TABLE contacts (
    tenant text COLLATE "C" NOT NULL,
    "id" text COLLATE "C" NOT NULL,
    "firstName" text COLLATE "C",
    "middleName" text COLLATE "C",
    "paternalLastName" text COLLATE "C",
    "maternalLastName" text COLLATE "C",
    "preferredEmail" text COLLATE "C",
    "phone" text COLLATE "C",
    "stage" text COLLATE "C",
    "contactType" text COLLATE "C",
    "contactSource" text COLLATE "C",
    "segment" text COLLATE "C",
    "organisationId" text COLLATE "C",
    "householdId" text COLLATE "C",
    "city" text COLLATE "C",
    "country" text COLLATE "C",
    "birthDate" date,
    "netWorth" double precision,
    "isActive" boolean,
    "createdAt" timestamptz,
    "updatedAt" timestamptz,
    data jsonb NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The default order: newest first, then id.
CREATE INDEX contacts_by_created ON contacts (tenant, "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
-- Name searches (contains, startsWith) scan this narrow index, not the table.
CREATE INDEX contacts_by_name ON contacts (tenant, lower("firstName" COLLATE pg_unicode_fast), lower("paternalLastName" COLLATE pg_unicode_fast));
-- Equality filters, each followed by the default order.
CREATE INDEX contacts_by_stage ON contacts (tenant, lower("stage" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_contacttype ON contacts (tenant, lower("contactType" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_contactsource ON contacts (tenant, lower("contactSource" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_segment ON contacts (tenant, lower("segment" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_isactive ON contacts (tenant, "isActive", "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_country ON contacts (tenant, lower("country" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_city ON contacts (tenant, lower("city" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_organisationid ON contacts (tenant, lower("organisationId" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX contacts_by_householdid ON contacts (tenant, lower("householdId" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);

CREATE TABLE organisations (
    tenant text COLLATE "C" NOT NULL,
    "id" text COLLATE "C" NOT NULL,
    "name" text COLLATE "C",
    "industry" text COLLATE "C",
    "email" text COLLATE "C",
    "phone" text COLLATE "C",
    "website" text COLLATE "C",
    "city" text COLLATE "C",
    "country" text COLLATE "C",
    "employeeCount" double precision,
    "annualRevenue" double precision,
    "isActive" boolean,
    "createdAt" timestamptz,
    "updatedAt" timestamptz,
    data jsonb NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The default order: newest first, then id.
CREATE INDEX organisations_by_created ON organisations (tenant, "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
-- Name searches (contains, startsWith) scan this narrow index, not the table.
CREATE INDEX organisations_by_name ON organisations (tenant, lower("name" COLLATE pg_unicode_fast));
-- Equality filters, each followed by the default order.
CREATE INDEX organisations_by_industry ON organisations (tenant, lower("industry" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX organisations_by_isactive ON organisations (tenant, "isActive", "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX organisations_by_country ON organisations (tenant, lower("country" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX organisations_by_city ON organisations (tenant, lower("city" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);

CREATE TABLE households (
    tenant text COLLATE "C" NOT NULL,
    "id" text COLLATE "C" NOT NULL,
    "name" text COLLATE "C",
    "primaryContactId" text COLLATE "C",
    "memberCount" double precision,
    "city" text COLLATE "C",
    "country" text COLLATE "C",
    "isActive" boolean,
    "createdAt" timestamptz,
    "updatedAt" timestamptz,
    data jsonb NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The default order: newest first, then id.
CREATE INDEX households_by_created ON households (tenant, "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
-- Name searches (contains, startsWith) scan this narrow index, not the table.
CREATE INDEX households_by_name ON households (tenant, lower("name" COLLATE pg_unicode_fast));
-- Equality filters, each followed by the default order.
CREATE INDEX households_by_primarycontactid ON households (tenant, lower("primaryContactId" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX households_by_isactive ON households (tenant, "isActive", "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX households_by_country ON households (tenant, lower("country" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
CREATE INDEX households_by_city ON households (tenant, lower("city" COLLATE pg_unicode_fast), "createdAt" DESC NULLS LAST, (lower(id COLLATE pg_unicode_fast) COLLATE "C"), id);
